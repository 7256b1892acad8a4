"""Celery tasks of the outbound room: thin, idempotent (registered through
`customers/tasks.py`, the module Celery's autodiscovery reads)."""

from __future__ import annotations

import smtplib
from typing import Any

from celery import shared_task
from django.conf import settings

from customers.outbound import delivery
from customers.outbound.delivery import MAILER


class TransientError(Exception):
    """A failure worth trying again later (the e-mail did not go out)."""


RETRY = {
    "autoretry_for": (TransientError,),
    "retry_backoff": 30,
    "retry_backoff_max": 15 * 60,
    "retry_jitter": True,
    "max_retries": 5,
}


@shared_task(
    bind=True,
    name="customers.tasks.deliver_outbound_message",
    ignore_result=True,
    rate_limit=settings.OUTBOUND_EMAIL_RATE_LIMIT,
    **RETRY,
)
def deliver_outbound_message(self: Any, message_id: int) -> str:
    """Hand one queued e-mail to the mail server (enqueued by `send_to_customer` after
    commit). Claims it first, so a duplicate or a retry after success sends nothing;
    transient failures retry with backoff and jitter, a refusal or the last retry
    records it failed. Rate-limited per worker (OUTBOUND_EMAIL_RATE_LIMIT).
    Cost: 6 queries and one SMTP conversation."""
    message = delivery.outbound_claim(actor=MAILER, message_id=int(message_id))
    if message is None:
        return "nothing to send"
    try:
        delivery.outbound_email(message).send()
    except (smtplib.SMTPException, OSError) as exc:
        error = delivery.describe_failure(exc)
        if delivery.is_transient(exc) and self.request.retries < self.max_retries:
            delivery.outbound_release(actor=MAILER, message_id=message.pk, error=error)
            raise TransientError(error) from exc
        delivery.outbound_failed(actor=MAILER, message_id=message.pk, error=error)
        return "failed"
    delivery.outbound_delivered(actor=MAILER, message_id=message.pk)
    return "sent"


@shared_task(name="customers.tasks.sweep_outbound_messages", ignore_result=True)
def sweep_outbound_messages() -> int:
    """Every 5 minutes: re-enqueue queued e-mails whose task was lost, fail those a dead
    worker left `sending` (never resent). Bounded: one batch of 200 of each."""
    result = delivery.outbound_sweep(actor=MAILER)
    for pk in result.requeued:
        deliver_outbound_message.delay(pk)
    return len(result.requeued) + result.abandoned
