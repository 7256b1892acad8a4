"""Follow-ups: what the system asks a member of staff to do (an order is late, a problem
a customer reported is fixed), listed on "My follow-ups"."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone

from frontoffice.actors import Actor, user_of
from frontoffice.write_path import authorize, lock
from service.loop.models import FollowUp


def follow_up_raise(
    *,
    actor: Actor,
    dedupe_key: str,
    customer_id: int,
    kind: str,
    title: str,
    assignee: Any = None,
    detail: str = "",
    order_ref: str = "",
    case_id: int | None = None,
    due_on: dt.date | None = None,
) -> FollowUp:
    """A follow-up, at most one per `dedupe_key` (the earlier one is returned). Runs in
    the caller's transaction."""
    authorize(actor, "service.add_followup", message="You may not raise follow-ups.")
    existing = FollowUp.objects.filter(dedupe_key=dedupe_key).first()
    if existing is not None:
        return existing
    follow_up = FollowUp(
        dedupe_key=dedupe_key[:200],
        customer_id=customer_id,
        kind=kind,
        title=title[:200],
        assignee=assignee,
        detail=detail[:5000],
        order_ref=order_ref[:40],
        case_id=case_id,
        due_on=due_on,
    )
    follow_up.full_clean(exclude=["customer", "case", "assignee"])
    try:
        with transaction.atomic():
            follow_up.save(force_insert=True)
    except IntegrityError:
        twin = FollowUp.objects.filter(dedupe_key=dedupe_key).first()
        if twin is None:
            raise
        return twin
    return follow_up


@transaction.atomic
def follow_up_done(*, actor: Actor, follow_up_id: int) -> FollowUp:
    """Tick a follow-up off."""
    authorize(actor, "service.change_followup", message="You may not tick follow-ups off.")
    follow_up = lock(FollowUp, follow_up_id, what="follow-up")
    user = user_of(actor)
    if follow_up.done_at is not None:
        raise ValidationError({"done_at": ["Already done."]})
    follow_up.done_at, follow_up.done_by = timezone.now(), user
    follow_up.save(update_fields=["done_at", "done_by", "updated_at"])
    return follow_up


def follow_ups_of(*, user: Any, include_done: bool = False) -> QuerySet[FollowUp]:
    """A user's follow-ups, open first (one query with the customer)."""
    queryset = FollowUp.objects.filter(assignee=user).select_related("customer")
    if not include_done:
        queryset = queryset.filter(done_at__isnull=True)
    return queryset.order_by("-created_at", "-id")
