"""The consent ledger: append-only, one line per decision the customer told us, and
the same line on the timeline."""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from customers.choices import ActivityKind, ConsentChannel, ConsentPurpose
from customers.guards import lock_customer
from customers.models import ConsentEvent
from customers.timeline import activity_record
from frontoffice.actors import Actor, user_of
from frontoffice.write_path import authorize, clean_date, clean_text


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
    authorize(actor, "customers.add_consentevent", message="You may not record consent.")
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
