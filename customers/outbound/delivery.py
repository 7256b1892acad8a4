"""Delivering a queued e-mail, from the worker (`customers.outbound.tasks` calls these).

The state machine: queued -> sending (the claim: a conditional UPDATE, so exactly one
attempt holds the message) -> sent, or back to queued after a transient failure (the
retry claims it again), or failed; sent -> bounced when the mail server reports it.

A worker that dies between handing the message to the mail server and recording it
leaves the message `sending`. It is never sent again (a second copy is worse than a
late "unknown"): the sweep marks it failed with that reason after `STALE_SENDING`.
"""

from __future__ import annotations

import datetime as dt
import smtplib
from dataclasses import dataclass

from django.conf import settings
from django.core.mail import EmailMessage, EmailMultiAlternatives
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from customers.events import MessageBounced
from customers.outbound.choices import MessageStatus
from customers.outbound.models import DeliveryEvent, OutboundMessage
from customers.outbound.timeline import OutboundActivity, record_outcome
from frontoffice import events
from frontoffice.actors import Actor, SystemActor
from frontoffice.errors import Conflict
from frontoffice.write_path import authorize, lock

# Who delivers: the worker, on behalf of whoever asked for the message.
MAILER = SystemActor("outbound mail")
CHANGE = "customers.change_outboundmessage"
MAX_ERROR = 300
STALE_SENDING = dt.timedelta(minutes=30)
REQUEUE_AFTER = dt.timedelta(minutes=10)
SWEEP_BATCH = 200


def is_transient(exc: BaseException) -> bool:
    """Whether trying again later may deliver: a 4xx answer, a dropped or refused
    connection, a timeout. A 5xx answer (a refused address) is final."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return any(400 <= code < 500 for code, _ in exc.recipients.values())
    if isinstance(exc, smtplib.SMTPResponseException):
        return 400 <= exc.smtp_code < 500
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        return False
    return isinstance(exc, OSError)


def describe_failure(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:MAX_ERROR]


def _log(message_id: int, status: str, detail: str = "") -> None:
    DeliveryEvent(
        message_id=message_id, status=status, detail=detail[:MAX_ERROR], occurred_at=timezone.now()
    ).save()


@transaction.atomic
def outbound_claim(*, actor: Actor, message_id: int) -> OutboundMessage | None:
    """The message this attempt now holds (queued -> sending), or None when there is
    nothing to send: gone, delivered, failed, or held by another attempt."""
    authorize(actor, CHANGE)
    now = timezone.now()
    claimed = OutboundMessage.objects.filter(pk=message_id, status=MessageStatus.QUEUED).update(
        status=MessageStatus.SENDING, claimed_at=now, attempts=F("attempts") + 1, updated_at=now
    )
    if claimed != 1:
        return None
    _log(message_id, MessageStatus.SENDING)
    return OutboundMessage.objects.filter(pk=message_id).first()


def outbound_email(message: OutboundMessage) -> EmailMessage:
    """The e-mail of a message: plain text (multipart/alternative with the HTML version
    when the message has one), its stable Message-ID (replies thread by it), and the
    caller's extra headers (List-Unsubscribe...)."""
    email = EmailMultiAlternatives(
        message.subject,
        message.body,
        settings.DEFAULT_FROM_EMAIL,
        [message.recipient],
        headers={**message.headers, "Message-ID": message.message_id},
    )
    if message.html_body:
        email.attach_alternative(message.html_body, "text/html")
    return email


@transaction.atomic
def outbound_delivered(*, actor: Actor, message_id: int) -> None:
    """The mail server took the e-mail: sent, on the log and the timeline."""
    authorize(actor, CHANGE)
    now = timezone.now()
    done = OutboundMessage.objects.filter(pk=message_id, status=MessageStatus.SENDING).update(
        status=MessageStatus.SENT, sent_at=now, status_reason="", updated_at=now
    )
    if done:
        _log(message_id, MessageStatus.SENT)
        message = OutboundMessage.objects.select_related("template").get(pk=message_id)
        record_outcome(actor, message, OutboundActivity.SENT)


@transaction.atomic
def outbound_release(*, actor: Actor, message_id: int, error: str) -> None:
    """A transient failure: queued again, for the retry to claim."""
    authorize(actor, CHANGE)
    done = OutboundMessage.objects.filter(pk=message_id, status=MessageStatus.SENDING).update(
        status=MessageStatus.QUEUED, status_reason=error[:MAX_ERROR], updated_at=timezone.now()
    )
    if done:
        _log(message_id, MessageStatus.QUEUED, f"Will retry: {error}")


@transaction.atomic
def outbound_failed(*, actor: Actor, message_id: int, error: str) -> None:
    """The e-mail cannot be delivered (refused, or the retries ran out)."""
    authorize(actor, CHANGE)
    done = OutboundMessage.objects.filter(pk=message_id, status=MessageStatus.SENDING).update(
        status=MessageStatus.FAILED, status_reason=error[:MAX_ERROR], updated_at=timezone.now()
    )
    if done:
        _log(message_id, MessageStatus.FAILED, error)
        message = OutboundMessage.objects.select_related("template").get(pk=message_id)
        record_outcome(actor, message, OutboundActivity.FAILED)


@transaction.atomic
def outbound_bounce(*, actor: Actor, message_id: int, reason: str = "") -> OutboundMessage:
    """The mail server reported that a sent e-mail bounced (marketing's bounce endpoint,
    an admin). A message that did not go out cannot bounce; a second report changes nothing.
    `MessageBounced` tells the app whose message it was (in this transaction)."""
    authorize(actor, CHANGE, message="You may not record bounces.")
    message = lock(OutboundMessage, message_id, what="message")
    if message.status == MessageStatus.BOUNCED:
        return message
    if message.status != MessageStatus.SENT or message.tracked_only:
        # The message's state, not the report, is in the way: 409.
        said = f"Only a sent e-mail can bounce; this one is {message.get_status_display().lower()}."
        raise Conflict(said, errors={"status": [said]})
    message.status, message.status_reason = MessageStatus.BOUNCED, (reason or "Bounced.").strip()[:MAX_ERROR]
    message.save(update_fields=["status", "status_reason", "updated_at"])
    _log(message.pk, MessageStatus.BOUNCED, message.status_reason)
    record_outcome(actor, message, OutboundActivity.BOUNCED)
    events.publish(
        MessageBounced(
            message_id=message.pk,
            customer_id=message.customer_id,
            dedupe_key=message.dedupe_key,
            recipient=message.recipient,
            reason=message.status_reason,
        )
    )
    return message


@dataclass(frozen=True)
class SweepResult:
    requeued: list[int]
    abandoned: int


@transaction.atomic
def outbound_sweep(
    *, actor: Actor, now: dt.datetime | None = None, batch_size: int = SWEEP_BATCH
) -> SweepResult:
    """Catch-up for lost work, in bounded batches: queued e-mails whose task was lost
    (the broker hiccuped) are handed back for re-enqueueing; e-mails stuck `sending`
    past STALE_SENDING (a worker died mid-delivery) are marked failed, never resent."""
    authorize(actor, CHANGE)
    now = now or timezone.now()
    stuck = list(
        OutboundMessage.objects.select_for_update(skip_locked=True)
        .filter(status=MessageStatus.SENDING, claimed_at__lt=now - STALE_SENDING)
        .order_by("pk")
        .values_list("pk", flat=True)[:batch_size]
    )
    reason = (
        "The worker stopped while handing the e-mail over; not resent, so the customer never gets two copies."
    )
    for pk in stuck:
        outbound_failed(actor=actor, message_id=pk, error=reason)
    requeued = list(
        OutboundMessage.objects.filter(status=MessageStatus.QUEUED, updated_at__lt=now - REQUEUE_AFTER)
        .order_by("pk")
        .values_list("pk", flat=True)[:batch_size]
    )
    return SweepResult(requeued=requeued, abandoned=len(stuck))
