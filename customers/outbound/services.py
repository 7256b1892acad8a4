"""Writes of the outbound-message room: templates, and `send_to_customer`, the one way
every app writes to a customer.

`send_to_customer` records the message in the caller's transaction (rendered, with the
address used and the consent decision) and, for an e-mail, enqueues its delivery once
that transaction commits (`customers.outbound.delivery` does the rest). Whether a
message may go out is decided here, from the consent ledger:

- a marketing message needs a current opt-in for its channel (purpose "marketing");
- a service message (an order, a case) needs none, but an opt-out of service messages
  on that channel stops it;
- without an address on the channel, nothing is sent.

A message that may not go out is still recorded, as "not sent" with the reason, on the
message log and the timeline: staff see we did not write, and why. Channels we do not
deliver ourselves (SMS, phone, post) are recorded as sent, "tracked only".
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from customers.choices import ConsentPurpose, ContactKind
from customers.models import ConsentEvent, ContactPoint, Customer
from customers.outbound import rendering
from customers.outbound.choices import DELIVERED_CHANNELS, MessageCategory, MessageStatus, OutboundChannel
from customers.outbound.models import DeliveryEvent, MessageTemplate, OutboundMessage
from customers.outbound.timeline import OutboundActivity, record_outcome
from frontoffice.actors import Actor, SystemActor, user_of
from frontoffice.permissions import PERMISSION_NAME
from frontoffice.write_path import (
    as_id,
    audit,
    authorize,
    bump_version,
    check_version,
    clean_text,
    enqueue_on_commit,
    lock,
)

SEND = "customers.add_outboundmessage"
HEADER_NAME = re.compile(r"[A-Za-z][A-Za-z0-9-]{0,60}")
# Headers the room sets itself; a caller may add others (List-Unsubscribe, X-...).
RESERVED_HEADERS = frozenset(
    {
        "from",
        "to",
        "cc",
        "bcc",
        "subject",
        "message-id",
        "date",
        "reply-to",
        "sender",
        "return-path",
        "content-type",
    }
)
MAX_HEADER_VALUE = 2000

__all__ = [
    "customer_preferred_channel_set",
    "message_template_create",
    "message_template_update",
    "preview",
    "send_to_customer",
]


# --- templates ---------------------------------------------------------------------------


def _template_fields(
    errors: dict[str, list[str]], template: MessageTemplate, fields: Mapping[str, Any]
) -> None:
    if "key" in fields:
        key = clean_text(errors, "key", fields["key"], 80)
        if not re.fullmatch(r"[a-z0-9][a-z0-9_-]*", key or ""):
            errors.setdefault("key", []).append("Lower-case letters, digits, - and _ (e.g. order-shipped).")
        elif MessageTemplate.objects.filter(key=key).exclude(pk=template.pk).exists():
            errors.setdefault("key", []).append("Another template has that key.")
        template.key = key
    if "name" in fields:
        template.name = clean_text(errors, "name", fields["name"], 120)
        if not template.name:
            errors.setdefault("name", []).append("Name the template.")
    if "category" in fields:
        if fields["category"] not in MessageCategory.values:
            errors["category"] = [f"Choose one of: {', '.join(MessageCategory.values)}."]
        else:
            template.category = fields["category"]
    for field, limit in (("subject", 200), ("body", 20000)):
        if field in fields:
            text = clean_text(errors, field, fields[field], limit)
            if not text:
                errors.setdefault(field, []).append(f"Write the {field}.")
            errors.setdefault(field, []).extend(rendering.template_problems(text))
            if not errors[field]:
                del errors[field]
            setattr(template, field, text)
    if "is_active" in fields:
        if not isinstance(fields["is_active"], bool):
            errors["is_active"] = ["Expected true or false."]
        else:
            template.is_active = fields["is_active"]


@transaction.atomic
def message_template_create(
    *,
    actor: Actor,
    key: str,
    name: str,
    subject: str,
    body: str,
    category: str = MessageCategory.SERVICE,
    is_active: bool = True,
) -> MessageTemplate:
    """A new message template; its placeholders are checked now, not when it is sent."""
    authorize(actor, "customers.add_messagetemplate", message="You may not write message templates.")
    template = MessageTemplate()
    errors: dict[str, list[str]] = {}
    _template_fields(
        errors,
        template,
        {
            "key": key,
            "name": name,
            "subject": subject,
            "body": body,
            "category": category,
            "is_active": is_active,
        },
    )
    if errors:
        raise ValidationError(errors)
    audit(template, actor)
    template.save()
    return template


@transaction.atomic
def message_template_update(
    *, actor: Actor, template_id: int, expected_version: int | None = None, **fields: Any
) -> MessageTemplate:
    """Change a template (messages already made keep the text they were sent with)."""
    authorize(actor, "customers.change_messagetemplate", message="You may not change message templates.")
    template = lock(MessageTemplate, template_id, what="message template")
    check_version(template, expected_version)
    unknown = set(fields) - {"key", "name", "subject", "body", "category", "is_active"}
    if unknown:
        raise ValidationError({name: ["Unknown field."] for name in sorted(unknown)})
    errors: dict[str, list[str]] = {}
    _template_fields(errors, template, fields)
    if errors:
        raise ValidationError(errors)
    bump_version(template)
    audit(template, actor)
    template.save()
    return template


# --- who, where, what ------------------------------------------------------------------


def _survivor(customer: Customer | int) -> Customer:
    """The live customer (a merged one's survivor: the message goes to whom they became)."""
    pk = as_id(customer)
    found = Customer.objects.filter(pk=pk).first() if pk is not None else None
    hops = 0
    while found is not None and found.merged_into_id is not None and hops < 10:
        found = Customer.objects.filter(pk=found.merged_into_id).first()
        hops += 1
    if found is None:
        raise ValidationError({"customer": ["No such customer."]})
    return found


def _address(customer: Customer, channel: str) -> str:
    """The customer's address on `channel`: the primary one, else the oldest."""
    kind = {
        OutboundChannel.EMAIL: ContactKind.EMAIL,
        OutboundChannel.SMS: ContactKind.PHONE,
        OutboundChannel.PHONE: ContactKind.PHONE,
        OutboundChannel.POST: ContactKind.ADDRESS,
    }[OutboundChannel(channel)]
    point = ContactPoint.objects.filter(customer=customer, kind=kind).order_by("-is_primary", "id").first()
    if point is None:
        return ""
    if kind == ContactKind.ADDRESS:
        parts = [point.street, f"{point.postal_code} {point.city}".strip(), point.country]
        return ", ".join(p for p in parts if p)[:320] or point.value
    return point.value


def _consent_refusal(customer: Customer, channel: str, category: str) -> str:
    """Why the ledger stops this message ("" when it may go)."""
    purpose = ConsentPurpose.MARKETING if category == MessageCategory.MARKETING else ConsentPurpose.SERVICE
    latest = (
        ConsentEvent.objects.filter(customer=customer, channel=channel, purpose=purpose)
        .order_by("-occurred_at", "-id")
        .values_list("granted", flat=True)
        .first()
    )
    if category == MessageCategory.MARKETING and latest is not True:
        return f"No consent to marketing by {OutboundChannel(channel).label}."
    if latest is False:
        return f"The customer opted out of service messages by {OutboundChannel(channel).label}."
    return ""


def _clean_headers(errors: dict[str, list[str]], headers: object) -> dict[str, str]:
    if headers is None:
        return {}
    if not isinstance(headers, Mapping):
        errors["headers"] = ["Headers are an object of names and texts."]
        return {}
    clean: dict[str, str] = {}
    for name, value in headers.items():
        if not isinstance(name, str) or not HEADER_NAME.fullmatch(name):
            errors.setdefault("headers", []).append(f"{name!r} is not a header name.")
        elif name.lower() in RESERVED_HEADERS:
            errors.setdefault("headers", []).append(f"{name} is set by the room itself.")
        elif not isinstance(value, str) or "\r" in value or "\n" in value or len(value) > MAX_HEADER_VALUE:
            errors.setdefault("headers", []).append(
                f"{name}: one line of text, at most {MAX_HEADER_VALUE} characters."
            )
        else:
            clean[name] = value
    return clean


def _new_message_id() -> str:
    domain = settings.DEFAULT_FROM_EMAIL.rpartition("@")[2].strip(">").strip() or "frontoffice.localhost"
    return f"<{uuid.uuid4().hex}@{domain}>"


def preview(
    *,
    customer: Customer | int,
    template: MessageTemplate | None = None,
    subject: str = "",
    body: str = "",
    context: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """What `customer` would read: subject and body rendered, with the placeholders no
    value was given for (left as written) listed in `missing`. Writes nothing."""
    person = _survivor(customer)
    if template is not None:
        subject, body = template.subject, template.body
    values = {"customer": _customer_values(person), **dict(context or {})}
    rendered_subject = rendering.render(subject, values)
    rendered_body = rendering.render(body, values)
    return {
        "customer": person.pk,
        "subject": rendered_subject.text,
        "body": rendered_body.text,
        "missing": list(dict.fromkeys(rendered_subject.missing + rendered_body.missing)),
        "problems": rendering.template_problems(subject) + rendering.template_problems(body),
    }


def _customer_values(customer: Customer) -> dict[str, str]:
    return rendering.customer_values(
        display_name=customer.display_name,
        first_name=customer.first_name,
        last_name=customer.last_name,
        organisation_name=customer.organisation_name,
        email=_address(customer, OutboundChannel.EMAIL),
    )


def _resolve_template(errors: dict[str, list[str]], template: object) -> MessageTemplate | None:
    if isinstance(template, MessageTemplate):
        found: MessageTemplate | None = template
    elif isinstance(template, str) and not template.isdigit():
        found = MessageTemplate.objects.filter(key=template).first()
    else:
        pk = as_id(template)
        found = MessageTemplate.objects.filter(pk=pk).first() if pk else None
    if found is None:
        errors["template"] = ["No such message template."]
    elif not found.is_active:
        errors["template"] = [f"The template {found.key!r} is switched off."]
    return found


# --- sending ---------------------------------------------------------------------------------


def _authorize_reading(actor: Actor, view_permission: str) -> None:
    """Who may not read a message may neither send it nor get it back (a retry's
    answer is the message sent before)."""
    if view_permission:
        authorize(actor, view_permission, message="You may not send or read this message.")


@transaction.atomic
def send_to_customer(
    *,
    actor: Actor,
    customer: Customer | int,
    dedupe_key: str,
    template: MessageTemplate | str | int | None = None,
    subject: str | None = None,
    body: str | None = None,
    channel: str | None = None,
    context: Mapping[str, Any] | None = None,
    category: str = MessageCategory.SERVICE,
    headers: Mapping[str, str] | None = None,
    html_body: str = "",
    view_permission: str = "",
) -> OutboundMessage:
    """Write to a customer, at most once per `dedupe_key`: the message made by an
    earlier call with the same key is returned as it is (a retried batch, a re-delivered
    event), nothing is sent again.

    `template` (a template, its key or id) or `subject` + `body`, rendered with the
    customer's fields and `context`. `channel` None means the customer's preferred
    channel (e-mail when they have none). `headers` are added to the e-mail
    (List-Unsubscribe...). `html_body`, an HTML alternative of the body made and escaped
    by the caller (no placeholders are read in it), makes the e-mail multipart/alternative
    (text + HTML). `view_permission` ("app_label.codename") hides the message, on the
    log and on the timeline, from users without it (a template's own, when it declares
    one, wins). Returns the message: queued (an e-mail, delivered after
    commit), sent (tracked only) or suppressed (no consent, no address; with why).
    ValidationError for bad input, and nothing is written.
    """
    authorize(actor, SEND, message="You may not send messages to customers.")
    errors: dict[str, list[str]] = {}
    dedupe_key = clean_text(errors, "dedupe_key", dedupe_key, 200)
    if not dedupe_key and "dedupe_key" not in errors:
        errors["dedupe_key"] = ["Say what makes this message unique (e.g. order-shipped:SO-12)."]
    person = _survivor(customer)
    if not errors:
        existing = OutboundMessage.objects.filter(customer=person, dedupe_key=dedupe_key).first()
        if existing is not None:
            _authorize_reading(actor, existing.view_permission)
            return existing
    if category not in MessageCategory.values:
        errors["category"] = [f"Choose one of: {', '.join(MessageCategory.values)}."]
    chosen = channel or person.preferred_channel or OutboundChannel.EMAIL
    if chosen not in OutboundChannel.values:
        errors["channel"] = [f"Choose one of: {', '.join(OutboundChannel.values)}."]
    clean_headers = _clean_headers(errors, headers)
    html_body = clean_text(errors, "html_body", html_body, 60000) if html_body else ""
    if html_body and chosen != OutboundChannel.EMAIL:
        errors["html_body"] = ["Only an e-mail has an HTML alternative."]
    if view_permission and not PERMISSION_NAME.fullmatch(view_permission):
        errors["view_permission"] = ['Expected a permission, "app_label.codename".']
    context_errors = rendering.context_problems(context if context is not None else {})
    if context_errors:
        errors["context"] = context_errors
    found = None
    if template is not None:
        if subject is not None or body is not None:
            errors["template"] = ["Give a template or a subject and body, not both."]
        found = _resolve_template(errors, template)
        subject, body = (found.subject, found.body) if found is not None else ("", "")
    elif not subject or not body:
        errors["template"] = ["Give a template, or a subject and a body."]
    subject = clean_text(errors, "subject", subject, 200)
    body = clean_text(errors, "body", body, 20000)
    for field, text in (("subject", subject), ("body", body)):
        problems = rendering.template_problems(text)
        if problems:
            errors.setdefault(field, []).extend(problems)
    if errors:
        raise ValidationError(errors)
    view_permission = (found.view_permission if found is not None else "") or view_permission
    _authorize_reading(actor, view_permission)
    values = {"customer": _customer_values(person), **dict(context or {})}
    rendered_subject, rendered_body = rendering.render(subject, values), rendering.render(body, values)
    missing = list(dict.fromkeys(rendered_subject.missing + rendered_body.missing))
    if missing:
        raise ValidationError({"context": [f"No value for {{{{ {name} }}}}." for name in missing]})
    message = OutboundMessage(
        customer=person,
        template=found,
        dedupe_key=dedupe_key,
        category=category,
        channel=chosen,
        recipient=_address(person, chosen),
        subject=rendered_subject.text.replace("\n", " ")[:200],
        body=rendered_body.text,
        html_body=html_body,
        headers=clean_headers,
        message_id=_new_message_id(),
        requested_by=user_of(actor),
        requested_by_system=actor.name[:50] if isinstance(actor, SystemActor) else "",
        view_permission=view_permission,
    )
    refusal = "No address on this channel." if not message.recipient else ""
    refusal = refusal or _consent_refusal(person, chosen, category)
    now = timezone.now()
    if refusal:
        message.status, message.status_reason = MessageStatus.SUPPRESSED, refusal
    elif chosen not in DELIVERED_CHANNELS:
        message.status, message.tracked_only, message.sent_at = MessageStatus.SENT, True, now
        message.status_reason = "Tracked only: this channel is not delivered by the system."
    try:
        with transaction.atomic():  # a savepoint: a concurrent twin's insert wins
            message.save(force_insert=True)
    except IntegrityError:
        twin = OutboundMessage.objects.filter(customer=person, dedupe_key=dedupe_key).first()
        if twin is None:
            raise
        _authorize_reading(actor, twin.view_permission)
        return twin
    DeliveryEvent(
        message=message, status=message.status, detail=message.status_reason, occurred_at=now
    ).save()
    if message.status == MessageStatus.QUEUED:
        from customers.outbound.tasks import deliver_outbound_message  # tasks import this module

        enqueue_on_commit(deliver_outbound_message, message.pk)
    else:
        kind = OutboundActivity.SENT if message.status == MessageStatus.SENT else OutboundActivity.SUPPRESSED
        record_outcome(actor, message, kind)
    return message


@transaction.atomic
def customer_preferred_channel_set(
    *, actor: Actor, customer_id: int, channel: str, expected_version: int | None = None
) -> Customer:
    """How the customer prefers to hear from us ("" for no preference: e-mail)."""
    from customers.guards import authorize_edit, lock_customer

    customer = lock_customer(customer_id)
    authorize_edit(actor, customer)
    check_version(customer, expected_version)
    if channel and channel not in OutboundChannel.values:
        raise ValidationError({"preferred_channel": [f"Choose one of: {', '.join(OutboundChannel.values)}."]})
    customer.preferred_channel = channel or ""
    bump_version(customer)
    audit(customer, actor)
    customer.save(update_fields=["preferred_channel", "version", "updated_at"])
    return customer


def repoint_messages(survivor: Customer, duplicate: Customer) -> int:
    """A merge: the duplicate's messages move to the survivor, except those the survivor
    already has under the same dedupe key (both got that message: the duplicate's copy
    stays with the tombstone, so each history remains true)."""
    taken = OutboundMessage.objects.filter(customer=survivor).values("dedupe_key")
    return (
        OutboundMessage.objects.filter(customer=duplicate)
        .exclude(dedupe_key__in=taken)
        .update(customer=survivor, updated_at=timezone.now())
    )
