"""Celery tasks of quotes: thin, idempotent, each calls services. (Registered by name
through `sales/tasks.py`, the module Celery's autodiscovery reads.)"""

from __future__ import annotations

import smtplib
from typing import Any

from celery import shared_task

from frontoffice.actors import SCHEDULER
from sales.queues import RETRY, Queue, TransientError
from sales.quotes import services_email, services_expiry
from sales.quotes.services_email import QUOTE_MAILER
from sales.quotes.services_expiry import EXPIRE_BATCH

# Batches one run of the expiry sweep handles before it hands over to a fresh task.
EXPIRE_MAX_BATCHES = 20


@shared_task(
    bind=True,
    name="sales.tasks.send_quote_email",
    ignore_result=True,
    **RETRY[Queue.DEFAULT],  # on the default queue: CELERY_TASK_ROUTES would name another
)
def send_quote_email(self: Any, quote_id: int) -> str:
    """E-mail a sent quote (enqueued by `quote_send` once its transaction commits).

    Idempotent: the attempt claims the e-mail first (a conditional UPDATE), so a
    duplicate or a retry after success sends nothing. Transient failures retry with
    exponential backoff and jitter (`sales.queues.RETRY`); a permanent one, or the last
    retry, records the e-mail as failed. Cost: 4 queries plus the quote's document
    (about 10) and one SMTP conversation.
    """
    quote = services_email.quote_email_claim(actor=QUOTE_MAILER, quote_id=int(quote_id))
    if quote is None:
        return "nothing to send"
    try:
        message = services_email.quote_email_message(quote)
    except Exception as exc:  # a bug in the document: recorded on the quote, then logged
        services_email.quote_email_failed(
            actor=QUOTE_MAILER, quote_id=quote.pk, error=services_email.describe_failure(exc)
        )
        raise
    try:
        message.send()
    except (smtplib.SMTPException, OSError) as exc:  # the mail server's answer, or none
        error = services_email.describe_failure(exc)
        if services_email.is_transient(exc) and self.request.retries < self.max_retries:
            services_email.quote_email_release(actor=QUOTE_MAILER, quote_id=quote.pk, error=error)
            raise TransientError(error) from exc
        services_email.quote_email_failed(actor=QUOTE_MAILER, quote_id=quote.pk, error=error)
        return "failed"
    services_email.quote_email_delivered(actor=QUOTE_MAILER, quote_id=quote.pk)
    return "sent"


@shared_task(bind=True, name="sales.tasks.expire_quotes", ignore_result=True)
def expire_quotes(self: Any, batch_size: int = EXPIRE_BATCH) -> int:
    """Hourly: sent quotes past their validity date become expired, one timeline entry
    each (`services_expiry.quotes_expire`). Idempotent. Cost: at most EXPIRE_MAX_BATCHES
    transactions of `batch_size` quotes, 3 queries each; when work remains it
    re-enqueues itself on the queue it came from."""
    expired = 0
    for _ in range(EXPIRE_MAX_BATCHES):
        batch = services_expiry.quotes_expire(actor=SCHEDULER, batch_size=batch_size)
        expired += batch.expired
        if not batch.more:
            return expired
    queue = (self.request.delivery_info or {}).get("routing_key") or None
    self.apply_async(kwargs={"batch_size": batch_size}, queue=queue)
    return expired
