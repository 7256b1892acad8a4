"""The customer's one timeline: how every app appends to it (`activity_record`, in the
caller's transaction), a batch of entries at once (`activity_record_many`), and what a
member of staff logs by hand (`activity_log`).

Every entry names who acted: a member of staff, or a `frontoffice.actors.SystemActor`
(the ERP sync, a beat sweep...); an entry without an actor is refused (MissingActor).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Model
from django.utils import timezone

from customers.choices import ActivityKind
from customers.guards import authorize_customer_write, lock_customer
from customers.models import Activity
from frontoffice.actors import Actor, SystemActor, user_of
from frontoffice.permissions import PERMISSION_NAME
from frontoffice.write_path import clean_date, clean_text, require_actor

LOGGABLE_KINDS = (ActivityKind.NOTE, ActivityKind.CALL, ActivityKind.EMAIL, ActivityKind.MEETING)


def activity_record(
    *,
    customer_id: int,
    kind: str,
    subject: str,
    actor: Actor,
    source_app: str = "customers",
    body: str = "",
    occurred_at: dt.datetime | None = None,
    ref: Model | None = None,
    ref_type: str = "",
    ref_id: str = "",
    payload: Mapping[str, Any] | None = None,
    view_permission: str = "",
) -> Activity:
    """The one way every app appends to a customer's timeline.

    Runs inside the caller's transaction, so the entry commits with the change it
    describes (the caller has checked what the actor may do). `ref` (or `ref_type` +
    `ref_id`) points back at the originating object. `view_permission` hides this entry
    from users without it (beyond its kind's). A batch of entries (a sweep) goes
    through `activity_record_many`.
    """
    activity = _new_activity(
        customer_id=customer_id,
        kind=kind,
        subject=subject,
        actor=actor,
        source_app=source_app,
        body=body,
        occurred_at=occurred_at,
        ref=ref,
        ref_type=ref_type,
        ref_id=ref_id,
        payload=payload,
        view_permission=view_permission,
    )
    activity.save(force_insert=True)
    return activity


def activity_record_many(*, entries: Iterable[Mapping[str, Any]]) -> list[Activity]:
    """`activity_record` for many entries at once (each a dict of its keyword arguments,
    `actor` included), in one INSERT per database batch rather than one per entry: for
    sweeps that change many rows in one transaction. Every entry is checked before any
    is written."""
    activities = [_new_activity(**{"actor": None, **entry}) for entry in entries]
    return Activity.objects.bulk_create(activities)


def _new_activity(
    *,
    customer_id: int,
    kind: str,
    subject: str,
    actor: Actor | None,
    source_app: str = "customers",
    body: str = "",
    occurred_at: dt.datetime | None = None,
    ref: Model | None = None,
    ref_type: str = "",
    ref_id: str = "",
    payload: Mapping[str, Any] | None = None,
    view_permission: str = "",
) -> Activity:
    require_actor(actor)
    errors: dict[str, list[str]] = {}
    subject = clean_text(errors, "subject", subject, 200)
    if not subject:
        errors.setdefault("subject", []).append("A timeline entry needs a subject.")
    body = clean_text(errors, "body", body, 20000)
    if not isinstance(kind, str) or not kind or len(kind) > 50:
        errors["kind"] = ["Expected a kind of at most 50 characters."]
    if view_permission and not PERMISSION_NAME.fullmatch(view_permission):
        errors["view_permission"] = ['Expected a permission, "app_label.codename".']
    if errors:
        raise ValidationError(errors)
    if ref is not None:
        ref_type, ref_id = ref._meta.label_lower, str(ref.pk)
    return Activity(
        customer_id=customer_id,
        kind=kind,
        subject=subject,
        body=body,
        actor=user_of(actor),
        system_actor=actor.name[:50] if isinstance(actor, SystemActor) else "",
        source_app=source_app,
        occurred_at=occurred_at or timezone.now(),
        ref_type=ref_type,
        ref_id=ref_id,
        payload=dict(payload or {}),
        view_permission=view_permission,
    )


@transaction.atomic
def activity_log(
    *,
    actor: Actor,
    customer_id: int,
    kind: str,
    subject: str,
    body: str = "",
    occurred_at: dt.datetime | None = None,
    payload: Mapping[str, Any] | None = None,
) -> Activity:
    """A member of staff logs a note, call, e-mail or meeting on a customer."""
    customer = lock_customer(customer_id)
    authorize_customer_write(
        actor, customer, "customers.add_activity", message="You may not log on the timeline."
    )
    if kind not in LOGGABLE_KINDS:
        raise ValidationError({"kind": ["Choose one of: note, call, email, meeting."]})
    errors: dict[str, list[str]] = {}
    clean_date(errors, "occurred_at", occurred_at)
    if errors:
        raise ValidationError(errors)
    if occurred_at is not None and occurred_at > timezone.now() + dt.timedelta(days=1):
        raise ValidationError({"occurred_at": ["An interaction cannot have happened in the future."]})
    return activity_record(
        customer_id=customer.pk,
        kind=kind,
        subject=subject,
        body=body,
        actor=actor,
        source_app="customers",
        occurred_at=occurred_at,
        payload=payload,
    )
