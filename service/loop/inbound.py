"""Inbound e-mail: what a customer writes to our support address, posted by the mail
provider's inbound hook (`POST /api/v1/service/inbound-email/`).

The hook authenticates with a shared secret (SERVICE_INBOUND_EMAIL_SECRET, sent as the
`X-Inbound-Secret` header; no secret configured: the endpoint refuses everything). Each
e-mail is stored once per Message-ID (a provider's retry answers the first result). It
threads into an existing case when its In-Reply-To or References name an e-mail of that
case (an earlier inbound one, or one we sent about the case); otherwise it opens a new
case (an enquiry by e-mail) for the customer whose e-mail address matches, or for a new
customer made from the sender. Bad input (no sender, no Message-ID) is refused and
nothing is written.
"""

from __future__ import annotations

import email.utils
import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from customers import services as customer_services
from customers.models import Activity, ContactPoint, Customer
from customers.normalise import normalise_email
from customers.outbound.models import OutboundMessage
from frontoffice.actors import SystemActor
from frontoffice.write_path import authorize
from service import services as case_services
from service.loop.models import InboundEmail
from service.models import Case
from service.services import CaseActivity, record, system_note

INBOUND = SystemActor("inbound e-mail")
MESSAGE_ID = re.compile(r"<[^<>\s]{1,250}>")
CASE_KEY = re.compile(r"^case:(\d+):")


class InboundActivity:
    RECEIVED = "case_email_received"


@dataclass(frozen=True)
class Inbound:
    """An inbound e-mail, whatever the provider's field names."""

    sender: str
    sender_name: str
    subject: str
    body: str
    message_id: str
    in_reply_to: str
    references: list[str]


def _get(data: Mapping[str, Any], *names: str) -> str:
    lowered = {str(k).lower(): v for k, v in data.items()}
    for name in names:
        value = lowered.get(name.lower())
        if isinstance(value, str) and value.strip():
            return value.strip()
        if isinstance(value, Mapping):  # Postmark's FromFull: {"Email": ..., "Name": ...}
            found = _get(value, "email")
            if found:
                return found
    return ""


def _headers(data: Mapping[str, Any]) -> dict[str, str]:
    """Headers as a dict: Postmark sends [{"Name", "Value"}], others an object."""
    raw = data.get("headers") or data.get("Headers") or {}
    if isinstance(raw, list):
        return {
            str(h.get("Name", "")).lower(): str(h.get("Value", "")) for h in raw if isinstance(h, Mapping)
        }
    if isinstance(raw, Mapping):
        return {str(k).lower(): str(v) for k, v in raw.items()}
    return {}


def parse(data: Mapping[str, Any]) -> Inbound:
    """Read the common inbound shapes (Mailgun, Postmark, SendGrid, plain JSON)."""
    if not isinstance(data, Mapping):
        raise ValidationError({"non_field_errors": ["Expected an object."]})
    headers = _headers(data)
    raw_from = _get(data, "from", "sender", "FromFull", "From")
    name, address = email.utils.parseaddr(raw_from)
    message_id = _get(data, "message-id", "message_id", "MessageID", "Message-Id") or headers.get(
        "message-id", ""
    )
    in_reply_to = _get(data, "in-reply-to", "in_reply_to") or headers.get("in-reply-to", "")
    references = _get(data, "references") or headers.get("references", "")
    errors: dict[str, list[str]] = {}
    if not address or "@" not in address:
        errors["from"] = ["No sender address."]
    if message_id and not message_id.startswith("<"):
        message_id = f"<{message_id}>"
    if not MESSAGE_ID.fullmatch(message_id):
        errors["message_id"] = ["No valid Message-ID."]
    body = _get(data, "stripped-text", "text", "body-plain", "TextBody", "plain")
    if len(body) > 50000:
        body = body[:50000]
    if errors:
        raise ValidationError(errors)
    return Inbound(
        sender=normalise_email(address),
        sender_name=name.strip()[:100],
        subject=_get(data, "subject", "Subject")[:200],
        body=body,
        message_id=message_id,
        in_reply_to=(MESSAGE_ID.findall(in_reply_to) or [""])[0],
        references=MESSAGE_ID.findall(references)[:50],
    )


def check_secret(given: str | None) -> None:
    """PermissionDenied unless `given` is the configured shared secret."""
    expected = getattr(settings, "SERVICE_INBOUND_EMAIL_SECRET", "")
    if not expected or not given or not hmac.compare_digest(given.encode(), expected.encode()):
        raise PermissionDenied("Bad or missing inbound e-mail secret.")


def _thread(mail: Inbound) -> Case | None:
    ids = [i for i in [mail.in_reply_to, *mail.references] if i]
    if not ids:
        return None
    earlier = (
        InboundEmail.objects.filter(message_id__in=ids)
        .select_related("case")
        .order_by("-received_at")
        .first()
    )
    if earlier is not None:
        return earlier.case
    for key in OutboundMessage.objects.filter(message_id__in=ids).values_list("dedupe_key", flat=True):
        match = CASE_KEY.match(key)
        if match:
            return Case.objects.filter(pk=int(match.group(1))).first()
    return None


def _answered_permission(mail: Inbound, case: Case | None) -> str:
    """The permission needed to read what `mail` answers: that of a restricted message
    of ours it replies to (an overdue invoice's reminder), else, threaded into a case
    opened by such a reply, that case's. Its timeline entries quote the customer, who may
    quote us: they stay hidden from whoever may not read the message answered."""
    ids = [i for i in [mail.in_reply_to, *mail.references] if i]
    answered = (
        OutboundMessage.objects.filter(message_id__in=ids)
        .exclude(view_permission="")
        .order_by("-created_at", "-id")
        .values_list("view_permission", flat=True)
        .first()
        if ids
        else None
    )
    if answered:
        return answered
    if case is None:
        return ""
    opened = (
        Activity.objects.filter(
            customer_id=case.customer_id,
            kind=CaseActivity.OPENED,
            ref_type=Case._meta.label_lower,
            ref_id=str(case.pk),
        )
        .values_list("view_permission", flat=True)
        .first()
    )
    return opened or ""


def _customer(mail: Inbound) -> Customer:
    point = (
        ContactPoint.objects.filter(kind="email", value=mail.sender, customer__merged_into__isnull=True)
        .select_related("customer")
        .order_by("-is_primary", "id")
        .first()
    )
    if point is not None:
        return point.customer
    first, _, last = (mail.sender_name or mail.sender.split("@")[0]).partition(" ")
    return customer_services.customer_create(
        actor=INBOUND,
        kind="person",
        first_name=first[:100] or mail.sender,
        last_name=last[:100],
        contact_points=[{"kind": "email", "value": mail.sender}],
    )


@transaction.atomic
def inbound_email_receive(*, actor: SystemActor = INBOUND, data: Mapping[str, Any]) -> InboundEmail:
    """Store an inbound e-mail once and thread it into its case, or open one."""
    authorize(actor, "service.add_case", "service.change_case")
    mail = parse(data)
    existing = InboundEmail.objects.filter(message_id=mail.message_id).first()
    if existing is not None:
        return existing
    case = _thread(mail)
    threaded = case is not None
    permission = _answered_permission(mail, case)
    if case is None:
        customer = _customer(mail)
        case = case_services.case_open(
            actor=actor,
            customer_id=customer.pk,
            kind="enquiry",
            channel="email",
            subject=mail.subject or "(no subject)",
            description=mail.body,
            timeline_permission=permission,
        )
    else:
        system_note(case, actor, f"E-mail from {mail.sender}: {mail.subject}\n\n{mail.body}")
        record(
            case,
            actor,
            InboundActivity.RECEIVED,
            f"E-mail on case {case.reference}: {mail.subject}",
            body=mail.body[:2000],
            view_permission=permission,
        )
    received = InboundEmail(
        message_id=mail.message_id,
        in_reply_to=mail.in_reply_to,
        references=" ".join(mail.references)[:5000],
        from_address=mail.sender,
        subject=mail.subject,
        body=mail.body,
        case=case,
        customer_id=case.customer_id,
        threaded=threaded,
        received_at=timezone.now(),
    )
    try:
        with transaction.atomic():
            received.save(force_insert=True)
    except IntegrityError:  # the provider's retry raced the first delivery
        raise ValidationError({"message_id": ["This e-mail is being received already."]}) from None
    return received
