"""Logging a call: the agent's one action after (or during) a call. It attaches the call
to an open case of the caller, or opens a new one, and can resolve that case on the spot
(first-contact resolution), all in one transaction."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from customers.normalise import phone_search_key
from customers.timeline import activity_record
from frontoffice.actors import Actor, user_of
from frontoffice.write_path import as_id, authorize, bump_version, clean_text
from service import sla
from service.choices import CallDirection, CallOutcome, CaseChannel, CaseKind, CasePriority
from service.models import Call, Case
from service.services import (
    CaseActivity,
    _choice,
    _live_customer,
    case_open,
    lock_case,
    record,
    resolve_on_first_contact,
)

MAX_DURATION = 24 * 3600


@transaction.atomic
def call_log(
    *,
    actor: Actor,
    customer_id: int,
    direction: str,
    duration_seconds: int,
    outcome: str,
    notes: str = "",
    phone: str = "",
    case_id: int | None = None,
    new_case: dict[str, Any] | None = None,
    resolved_on_first_contact: bool = False,
) -> Call:
    """Log a call with a customer: attached to `case_id` (one of theirs), or opening
    `new_case` (kind, subject, priority, category, related order) by phone, or neither.
    `resolved_on_first_contact` resolves and closes the new case at once (counts toward
    first-contact resolution; the call's notes are the resolution)."""
    authorize(actor, "service.add_call", message="You may not log calls.")
    errors: dict[str, list[str]] = {}
    customer = _live_customer(errors, customer_id)
    direction = _choice(errors, "direction", direction, CallDirection)
    outcome = _choice(errors, "outcome", outcome, CallOutcome)
    if (
        not isinstance(duration_seconds, int)
        or isinstance(duration_seconds, bool)
        or not 0 <= duration_seconds <= MAX_DURATION
    ):
        errors["duration_seconds"] = [f"A whole number of seconds from 0 to {MAX_DURATION}."]
    text = clean_text(errors, "notes", notes, 5000)
    number = clean_text(errors, "phone", phone, 40)
    number = phone_search_key(number) or number
    if case_id is not None and new_case is not None:
        errors["case"] = ["Attach the call to a case or open a new one, not both."]
    if resolved_on_first_contact and new_case is None:
        errors["resolved_on_first_contact"] = [
            "Only a case opened on this call is resolved on first contact."
        ]
    if resolved_on_first_contact and not text:
        errors["notes"] = ["Say how the call resolved it."]
    if errors or customer is None:
        raise ValidationError(errors)
    now = timezone.now()
    case: Case | None = None
    if case_id is not None:
        case = lock_case(as_id(case_id) or 0)
        if case.customer_id != customer.pk:
            raise ValidationError({"case": ["That case is another customer's."]})
        sla.sla_first_response(case, now=now)
        bump_version(case)
        case.save()
    elif new_case is not None:
        fields = {"kind": CaseKind.ENQUIRY, "priority": CasePriority.NORMAL, **new_case}
        case = case_open(actor=actor, customer_id=customer.pk, channel=CaseChannel.PHONE, **fields)
        if resolved_on_first_contact:
            resolve_on_first_contact(case, actor, resolution=text, now=now)
    call = Call.objects.create(
        customer=customer,
        case=case,
        agent=user_of(actor),
        direction=direction,
        duration_seconds=duration_seconds,
        outcome=outcome,
        notes=text,
        phone=number,
        occurred_at=now,
    )
    minutes = max(1, round(duration_seconds / 60))
    subject = f"{call.get_direction_display()} call, {minutes} min: {call.get_outcome_display().lower()}"
    if case is not None:
        subject += f" ({case.reference})"
        record(case, actor, CaseActivity.CALL_LOGGED, subject, body=text, call_id=call.pk, outcome=outcome)
    else:
        activity_record(
            customer_id=customer.pk,
            kind=CaseActivity.CALL_LOGGED,
            actor=actor,
            source_app="service",
            subject=subject,
            body=text,
            payload={"call_id": call.pk, "outcome": outcome},
        )
    return call
