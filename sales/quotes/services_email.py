"""The e-mail of a sent quote, delivered by a worker after the sending request committed
(`sales.quotes.tasks.send_quote_email` calls these in order).

`quote_send` records the intent (`email_status` queued) in its transaction. The worker
then claims the e-mail with a conditional UPDATE (queued -> sending: exactly one attempt
holds it, and a retry of an attempt that succeeded finds nothing to claim), renders the
message (HTML, text and the PDF) and hands it to the mail server outside any
transaction, and records the outcome on the quote and the customer's timeline:

- accepted by the server: sent, with the time;
- a transient failure (the server hung up, a timeout, a 4xx answer): the claim is
  released (queued again, with the reason) and the task retries later;
- a permanent failure (a 5xx answer, an address refused), or the last retry: failed,
  with the reason. The quote stays sent: the rep revises it and sends the revision.

A worker that dies between handing the message over and recording it leaves the e-mail
`sending`: it is not sent again (never twice), and the quote page says so.
"""

from __future__ import annotations

import smtplib

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone

from customers.timeline import activity_record
from frontoffice.actors import Actor, SystemActor
from frontoffice.write_path import authorize
from sales.quotes.documents import quote_document_context, quote_pdf
from sales.quotes.models import Quote, QuoteEmailStatus
from sales.timeline import SOURCE_APP, ActivityKinds

# Who delivers quotes' e-mails: the worker, on behalf of whoever sent the quote.
QUOTE_MAILER = SystemActor("quote e-mail")
CHANGE_QUOTE = "sales.change_quote"
MAX_ERROR = 300


def is_transient(exc: BaseException) -> bool:
    """Whether trying again later may deliver: a 4xx answer, a dropped or refused
    connection, a timeout. A 5xx answer (a refused address, a refused login) is final."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return any(400 <= code < 500 for code, _ in exc.recipients.values())
    if isinstance(exc, smtplib.SMTPResponseException):
        return 400 <= exc.smtp_code < 500
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        return False
    return isinstance(exc, OSError)  # SMTPServerDisconnected, timeouts, connection refused


def describe_failure(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:MAX_ERROR]


def quote_email_claim(*, actor: Actor, quote_id: int) -> Quote | None:
    """The quote whose queued e-mail this attempt now holds (queued -> sending), or None
    when there is nothing to send: the quote is gone, its e-mail went out or failed for
    good, or another attempt holds it."""
    authorize(actor, CHANGE_QUOTE)
    claimed = Quote.objects.filter(pk=quote_id, email_status=QuoteEmailStatus.QUEUED).update(
        email_status=QuoteEmailStatus.SENDING, updated_at=timezone.now()
    )
    if claimed != 1:
        return None
    return Quote.objects.select_related("opportunity__customer").filter(pk=quote_id).first()


def quote_email_message(quote: Quote) -> EmailMultiAlternatives:
    """The e-mail of a sent quote: text, the print view as HTML, the PDF when the PDF
    library renders it."""
    context = quote_document_context(quote)
    subject = f"Quote {quote.reference} (revision {quote.revision})"
    text = render_to_string("sales/quotes/email.txt", context)
    html = render_to_string("sales/quotes/print.html", {**context, "for_email": True})
    message = EmailMultiAlternatives(subject, text, settings.DEFAULT_FROM_EMAIL, [quote.sent_to])
    message.attach_alternative(html, "text/html")
    pdf = quote_pdf(context)
    if pdf is not None:
        message.attach(f"{quote.reference}-r{quote.revision}.pdf", pdf, "application/pdf")
    return message


def quote_email_release(*, actor: Actor, quote_id: int, error: str) -> None:
    """A transient failure: the e-mail is queued again for the retry to claim."""
    authorize(actor, CHANGE_QUOTE)
    Quote.objects.filter(pk=quote_id, email_status=QuoteEmailStatus.SENDING).update(
        email_status=QuoteEmailStatus.QUEUED, email_error=error[:MAX_ERROR], updated_at=timezone.now()
    )


@transaction.atomic
def quote_email_delivered(*, actor: Actor, quote_id: int) -> None:
    """The mail server accepted the e-mail: recorded on the quote and the timeline."""
    authorize(actor, CHANGE_QUOTE)
    now = timezone.now()
    done = Quote.objects.filter(pk=quote_id, email_status=QuoteEmailStatus.SENDING).update(
        email_status=QuoteEmailStatus.SENT, email_sent_at=now, email_error="", updated_at=now
    )
    if done:
        _record(actor, quote_id, ActivityKinds.QUOTE_EMAILED, "e-mailed to {to}", "")


@transaction.atomic
def quote_email_failed(*, actor: Actor, quote_id: int, error: str) -> None:
    """The e-mail cannot be delivered (a permanent refusal, or the retries ran out):
    recorded on the quote and the timeline, with why."""
    authorize(actor, CHANGE_QUOTE)
    done = Quote.objects.filter(pk=quote_id, email_status=QuoteEmailStatus.SENDING).update(
        email_status=QuoteEmailStatus.FAILED, email_error=error[:MAX_ERROR], updated_at=timezone.now()
    )
    if done:
        body = f"{error[:MAX_ERROR]}\nThe quote stays sent: check the address, then revise it and send the revision."
        _record(actor, quote_id, ActivityKinds.QUOTE_EMAIL_FAILED, "could not be e-mailed to {to}", body)


def _record(actor: Actor, quote_id: int, kind: str, what: str, body: str) -> None:
    quote = Quote.objects.select_related("opportunity").get(pk=quote_id)
    activity_record(
        customer_id=quote.opportunity.customer_id,
        kind=kind,
        subject=f"Quote {quote.reference} rev. {quote.revision} {what.format(to=quote.sent_to)}"[:200],
        body=body,
        actor=actor,
        source_app=SOURCE_APP,
        ref=quote,
    )
