"""Leads from marketing's web forms (source "marketing_form").

`sales` never imports `marketing`; marketing may import sales, and calls `lead_capture`
directly with a form's submission, which makes one lead per capture. The contract is in
docs/sales_leads.md; `CAPTURE_FIELDS` is its list of keys.

- Idempotent: the capture's `capture_key` is unique on the lead, so a capture delivered
  twice (a retried form post, a replayed task) makes one lead; the second delivery returns
  the first one's lead and writes nothing.
- Validated like a lead typed by hand (`lead_create`'s rules, the customer profile's
  e-mail and phone normalisers) plus the capture's own fields; an unknown key is an
  error. A bad payload raises `ValidationError` and writes nothing.
- The lead is unassigned (any rep may pick it up), keeps the form, the time of the
  capture and the consents ticked; the consents join the customer's consent ledger when
  the lead converts (`sales.leads.services.lead_convert`).
- Who captures: the caller names its actor, which needs `sales.add_lead`; marketing's
  form handler passes `MARKETING_FORMS` (a system actor that may add leads and nothing
  else).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from customers.choices import ConsentChannel, ConsentPurpose
from customers.models import Customer
from frontoffice.actors import Actor, SystemActor
from frontoffice.serializers import text_problem
from frontoffice.write_path import authorize
from sales.leads.models import Lead, LeadSource
from sales.leads.services import ADD_LEAD, lead_fields_apply

MAX_ID = 2**31 - 1
MAX_KEY = 200
CLOCK_SKEW = dt.timedelta(minutes=5)
CAPTURE_FIELDS = (
    "capture_key",
    "form_id",
    "occurred_at",
    "first_name",
    "last_name",
    "company",
    "email",
    "phone",
    "message",
    "interest",
    "campaign_id",
    "consents",
)
# Payload key -> lead field, where they differ (errors are reported by payload key).
LEAD_FIELD = {"company": "organisation_name", "message": "notes", "interest": "title"}
PAYLOAD_KEY = {v: k for k, v in LEAD_FIELD.items()}
# Who submits marketing's public web forms: a part of the system that may add leads.
MARKETING_FORMS = SystemActor("marketing forms", frozenset({ADD_LEAD}))


@dataclass(frozen=True)
class CaptureResult:
    lead: Lead
    created: bool  # False: this capture had already made `lead`


def _positive_id(errors: dict[str, list[str]], key: str, value: Any, *, required: bool) -> int | None:
    if value is None and not required:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_ID:
        errors[key] = [f"Expected a positive whole number up to {MAX_ID}."]
        return None
    return int(value)


def _capture_key(errors: dict[str, list[str]], value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        errors["capture_key"] = ["Required: the capture's idempotency key (text)."]
        return ""
    problem = text_problem(value) or (f"At most {MAX_KEY} characters." if len(value) > MAX_KEY else None)
    if problem:
        errors["capture_key"] = [problem]
        return ""
    return value.strip()


def _occurred_at(errors: dict[str, list[str]], value: Any) -> dt.datetime | None:
    when = value
    if isinstance(value, str):
        try:
            when = parse_datetime(value[:64])
        except ValueError:
            when = None
    if not isinstance(when, dt.datetime) or timezone.is_naive(when):
        errors["occurred_at"] = ["Required: when the form was sent, a datetime with its time zone."]
        return None
    if when > timezone.now() + CLOCK_SKEW:
        errors["occurred_at"] = ["A capture cannot be in the future."]
        return None
    return when


def _consents(errors: dict[str, list[str]], value: Any) -> list[dict[str, Any]]:
    if value is None:
        return []
    if not isinstance(value, list | tuple):
        errors["consents"] = ["Expected a list of {channel, purpose, granted}."]
        return []
    limit = len(ConsentChannel.values) * len(ConsentPurpose.values)
    if len(value) > limit:
        errors["consents"] = [f"At most {limit} consents."]
        return []
    cleaned: list[dict[str, Any]] = []
    for index, item in enumerate(value):
        key = f"consents.{index}"
        if not isinstance(item, Mapping) or set(item) != {"channel", "purpose", "granted"}:
            errors[key] = ["Expected exactly channel, purpose and granted."]
            continue
        if item["channel"] not in ConsentChannel.values:
            errors[f"{key}.channel"] = [f"Choose one of: {', '.join(ConsentChannel.values)}."]
        if item["purpose"] not in ConsentPurpose.values:
            errors[f"{key}.purpose"] = [f"Choose one of: {', '.join(ConsentPurpose.values)}."]
        if not isinstance(item["granted"], bool):
            errors[f"{key}.granted"] = ["Expected true or false."]
        pair = (item["channel"], item["purpose"])
        if any((c["channel"], c["purpose"]) == pair for c in cleaned):
            errors[key] = ["The same channel and purpose appear twice."]
        cleaned.append({"channel": item["channel"], "purpose": item["purpose"], "granted": item["granted"]})
    return cleaned


def _lead_for(payload: Mapping[str, Any], errors: dict[str, list[str]], form_id: int | None) -> Lead:
    fields: dict[str, Any] = {
        LEAD_FIELD.get(key, key): payload[key]
        for key in ("first_name", "last_name", "company", "email", "phone", "message", "interest")
        if payload.get(key) is not None
    }
    interest = payload.get("interest")
    if interest is None or (isinstance(interest, str) and not interest.strip()):
        fields["title"] = f"Enquiry from form #{form_id}" if form_id else "Web form enquiry"
    fields["source"] = LeadSource.MARKETING_FORM
    fields["owner"] = None
    if "campaign_id" in payload:
        fields["campaign_id"] = payload["campaign_id"]
    lead = Lead()
    try:
        lead_fields_apply(lead, fields)
    except ValidationError as exc:
        for field, messages in exc.message_dict.items():
            errors.setdefault(PAYLOAD_KEY.get(field, field), []).extend(messages)
    if not (lead.email or lead.phone) and "email" not in errors and "phone" not in errors:
        errors["email"] = ["A capture needs an e-mail address or a phone number."]
    return lead


@transaction.atomic
def lead_capture(
    *, actor: Actor, payload: Mapping[str, Any], customer: Customer | None = None
) -> CaptureResult:
    """One lead per capture (see the module's docstring). Raises `ValidationError`,
    keyed by payload key, for a bad payload; nothing is written then. `customer`: the
    live customer the caller matched the capture to (the profile's duplicate rules),
    kept on the lead; converting it still asks which customer the opportunity is for."""
    authorize(actor, ADD_LEAD, message="You may not capture leads.")
    if not isinstance(payload, Mapping):
        raise ValidationError({"non_field_errors": ["Expected the capture's fields."]})
    errors: dict[str, list[str]] = {}
    for key in sorted(str(k)[:60] for k in payload if k not in CAPTURE_FIELDS)[:20]:
        errors[key] = ["Unknown field."]
    key = _capture_key(errors, payload.get("capture_key"))
    if key:
        existing = Lead.objects.filter(capture_key=key).first()
        if existing is not None:
            return CaptureResult(existing, created=False)
    form_id = _positive_id(errors, "form_id", payload.get("form_id"), required=True)
    occurred_at = _occurred_at(errors, payload.get("occurred_at"))
    consents = _consents(errors, payload.get("consents"))
    lead = _lead_for(payload, errors, form_id)
    if errors:
        raise ValidationError(errors)
    lead.capture_key = key
    lead.form_id = form_id
    lead.captured_at = occurred_at
    lead.consents = consents
    if customer is not None:
        if not customer.is_live:
            raise ValidationError(
                {"customer": [f"That customer was merged into customer {customer.merged_into_id}."]}
            )
        lead.customer = customer
    try:
        with transaction.atomic():
            lead.save()
    except IntegrityError:
        # The same capture, delivered concurrently, won the race: its lead is the one.
        existing = Lead.objects.filter(capture_key=key).first()
        if existing is None:
            raise
        return CaptureResult(existing, created=False)
    return CaptureResult(lead, created=True)
