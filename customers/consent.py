"""The consent ledger: append-only, one line per decision the customer told us, and
the same line on the timeline; beside it, the current state per channel and purpose
(`CurrentConsent`), kept in the same transaction."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from customers.choices import ActivityKind, ConsentChannel, ConsentPurpose
from customers.guards import authorize_customer_write, lock_customer
from customers.models import ConsentEvent, CurrentConsent
from customers.timeline import activity_record
from frontoffice.actors import Actor, user_of
from frontoffice.write_path import clean_date, clean_text


@transaction.atomic
def consent_record(
    *,
    actor: Actor,
    customer_id: int,
    channel: str,
    purpose: str,
    granted: bool,
    source: str,
    occurred_at: dt.datetime | None = None,
    note: str = "",
) -> ConsentEvent:
    """Append to the consent ledger and to the timeline."""
    customer = lock_customer(customer_id)
    authorize_customer_write(
        actor, customer, "customers.add_consentevent", message="You may not record consent."
    )
    errors: dict[str, list[str]] = {}
    if channel not in ConsentChannel.values:
        errors["channel"] = [f"Choose one of: {', '.join(ConsentChannel.values)}."]
    if purpose not in ConsentPurpose.values:
        errors["purpose"] = [f"Choose one of: {', '.join(ConsentPurpose.values)}."]
    if not isinstance(granted, bool):
        errors["granted"] = ["Expected true or false."]
    source = clean_text(errors, "source", source, 100)
    if not source:
        errors.setdefault("source", []).append("Say where the consent came from.")
    note = clean_text(errors, "note", note, 500)
    now = timezone.now()
    occurred_at = clean_date(errors, "occurred_at", occurred_at) or now
    if occurred_at > now + dt.timedelta(minutes=5):
        errors["occurred_at"] = ["Consent cannot be recorded in the future."]
    if errors:
        raise ValidationError(errors)
    event = ConsentEvent.objects.create(
        customer=customer,
        channel=channel,
        purpose=purpose,
        granted=granted,
        source=source,
        occurred_at=occurred_at,
        actor=user_of(actor),
        note=note,
    )
    _keep_current(event)
    verb = "granted" if granted else "withdrew"
    activity_record(
        customer_id=customer.pk,
        kind=ActivityKind.CONSENT,
        actor=actor,
        source_app="customers",
        subject=f"{verb.capitalize()} {event.get_purpose_display().lower()} by {event.get_channel_display()}",
        body=note,
        ref=event,
        payload={"channel": channel, "purpose": purpose, "granted": granted, "source": source},
        occurred_at=occurred_at,
    )
    return event


def _keep_current(event: ConsentEvent) -> None:
    """Make `event` the current consent unless a later decision is already on the ledger
    (a back-dated line). The customer is locked: nobody writes their consent meanwhile."""
    current = CurrentConsent.objects.filter(
        customer_id=event.customer_id, channel=event.channel, purpose=event.purpose
    ).first()
    if current is None:
        CurrentConsent.objects.create(
            customer_id=event.customer_id,
            channel=event.channel,
            purpose=event.purpose,
            granted=event.granted,
            occurred_at=event.occurred_at,
            event=event,
        )
    elif (event.occurred_at, event.pk) > (current.occurred_at, current.event_id):
        current.granted, current.occurred_at, current.event = event.granted, event.occurred_at, event
        current.save(update_fields=["granted", "occurred_at", "event"])


def current_consent_rebuild(*, customer_ids: Iterable[int] | None = None) -> int:
    """Derive the current consents of these customers (None: everyone) from the ledger
    again, set-based (a DELETE and one INSERT ... SELECT): for writers that add ledger
    lines in bulk (the demo seed) and for merges, which move a duplicate's lines.
    Returns the number of current rows written."""
    later = ConsentEvent.objects.filter(
        customer_id=OuterRef("customer_id"), channel=OuterRef("channel"), purpose=OuterRef("purpose")
    ).filter(
        Q(occurred_at__gt=OuterRef("occurred_at"))
        | Q(occurred_at=OuterRef("occurred_at"), pk__gt=OuterRef("pk"))
    )
    latest = ConsentEvent.objects.filter(~Exists(later))
    current = CurrentConsent.objects.all()
    if customer_ids is not None:
        ids = list(customer_ids)
        latest = latest.filter(customer_id__in=ids)
        current = current.filter(customer_id__in=ids)
    current.delete()
    select, params = (
        latest.order_by()
        .values_list("customer_id", "channel", "purpose", "granted", "occurred_at", "pk")
        .query.sql_with_params()
    )
    table = connection.ops.quote_name(CurrentConsent._meta.db_table)
    columns = ", ".join(
        connection.ops.quote_name(c)
        for c in ("customer_id", "channel", "purpose", "granted", "occurred_at", "event_id")
    )
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {table} ({columns}) {select}", params)
        return max(cursor.rowcount, 0)
