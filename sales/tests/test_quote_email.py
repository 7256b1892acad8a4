"""A sent quote's e-mail: sending records the intent and queues a task after commit; the
task claims the e-mail (never sends it twice), retries what a mail server refuses for a
while, gives up on what it refuses for good, and records the outcome on the quote, its
timeline and its page."""

from __future__ import annotations

import smtplib
from collections.abc import Iterator
from typing import Any

import pytest
from celery.exceptions import Retry
from django.core import mail
from django.test import Client
from django.urls import reverse

from customers.models import Activity
from frontoffice.errors import StaleVersion
from sales.models import PriceList, Quote, QuoteEmailStatus, QuoteStatus
from sales.queues import RETRY, Queue
from sales.quotes import services as quote_services
from sales.quotes.tasks import send_quote_email
from sales.tests.mail_backends import FailingBackend
from sales.tests.quote_setup import a_catalogue, a_quote, an_opportunity

pytestmark = pytest.mark.django_db

FLAKY = "sales.tests.mail_backends.FailingBackend"


@pytest.fixture
def catalogue() -> PriceList:
    return a_catalogue()


@pytest.fixture
def failing_server(settings: Any) -> Iterator[type[FailingBackend]]:
    settings.EMAIL_BACKEND = FLAKY
    FailingBackend.failure = smtplib.SMTPServerDisconnected("Connection unexpectedly closed")
    FailingBackend.failures = 0
    FailingBackend.attempts = 0
    yield FailingBackend
    FailingBackend.failures = FailingBackend.attempts = 0


def a_draft(rep: Any) -> Quote:
    return a_quote(rep, an_opportunity(rep))


def send(rep: Any, quote: Quote, **extra: Any) -> Quote:
    return quote_services.quote_send(actor=rep, quote_id=quote.pk, expected_version=quote.version, **extra)


def timeline(quote: Quote) -> list[str]:
    entries = Activity.objects.filter(ref_type="sales.quote", ref_id=str(quote.pk)).order_by(
        "occurred_at", "id"
    )
    return list(entries.values_list("kind", flat=True))


def attempt(quote: Quote) -> str:
    """The task as a worker runs it: an attempt, then each retry it asks for (at once
    here: the backoff is Celery's to wait), until it is done."""
    retries = 0
    while True:
        try:
            return str(send_quote_email.apply(args=[quote.pk], retries=retries).get())
        except Retry:
            retries += 1


def test_sending_marks_the_quote_sent_and_e_mails_nothing_before_the_commit(
    sales_rep, catalogue, django_capture_on_commit_callbacks
) -> None:
    # given
    quote = a_draft(sales_rep)
    # when: the request's transaction has not committed yet
    with django_capture_on_commit_callbacks(execute=False) as after_commit:
        sent = send(sales_rep, quote)
    # then: the intent is recorded, the e-mail waits for the commit
    assert (sent.status, sent.email_status) == (QuoteStatus.SENT, QuoteEmailStatus.QUEUED)
    assert len(after_commit) == 1
    assert mail.outbox == []
    # when: it commits
    after_commit[0]()
    # then: the worker (eager here) e-mailed it and recorded it
    quote.refresh_from_db()
    assert quote.email_status == QuoteEmailStatus.SENT
    assert quote.email_sent_at is not None
    assert [m.to for m in mail.outbox] == [[quote.sent_to]]
    assert timeline(quote) == ["quote_created", "quote_sent", "quote_emailed"]


def test_a_refused_send_queues_no_e_mail(sales_rep, catalogue, django_capture_on_commit_callbacks) -> None:
    # given
    quote = a_draft(sales_rep)
    # when: someone changed the quote meanwhile
    with django_capture_on_commit_callbacks(execute=True) as after_commit, pytest.raises(StaleVersion):
        quote_services.quote_send(actor=sales_rep, quote_id=quote.pk, expected_version=quote.version + 1)
    # then
    assert after_commit == []
    assert Quote.objects.get(pk=quote.pk).email_status == QuoteEmailStatus.NONE


def test_a_retry_after_success_sends_nothing_twice(
    sales_rep, catalogue, django_capture_on_commit_callbacks
) -> None:
    # given: a quote whose e-mail went out
    with django_capture_on_commit_callbacks(execute=True):
        quote = send(sales_rep, a_draft(sales_rep))
    assert len(mail.outbox) == 1
    # when: the same task is delivered again (a redelivery, a retry)
    outcome = send_quote_email.apply(args=[quote.pk]).get()
    # then
    assert outcome == "nothing to send"
    assert len(mail.outbox) == 1
    assert timeline(quote).count("quote_emailed") == 1


def test_a_quote_gone_meanwhile_is_nothing_to_send() -> None:
    assert send_quote_email.apply(args=[987654]).get() == "nothing to send"


def test_a_mail_server_that_hangs_up_is_tried_again_and_the_e_mail_goes_out(
    sales_rep, catalogue, failing_server, django_capture_on_commit_callbacks
) -> None:
    # given: a sent quote; the server drops the first two attempts
    with django_capture_on_commit_callbacks(execute=False):
        quote = send(sales_rep, a_draft(sales_rep))
    failing_server.failures = 2
    # when: the worker runs the task (eager: each retry at once, the claim released for it)
    outcome = attempt(quote)
    # then: the third attempt delivered it, once
    quote.refresh_from_db()
    assert outcome == "sent"
    assert failing_server.attempts == 3
    assert (quote.email_status, quote.email_error) == (QuoteEmailStatus.SENT, "")
    assert len(mail.outbox) == 1
    assert timeline(quote)[-1] == "quote_emailed"


def test_retries_are_bounded_and_the_last_failure_is_recorded(
    sales_rep, catalogue, failing_server, django_capture_on_commit_callbacks
) -> None:
    # given: a sent quote, and a server that never answers
    with django_capture_on_commit_callbacks(execute=False):
        quote = send(sales_rep, a_draft(sales_rep))
    failing_server.failures = 100
    # when
    outcome = attempt(quote)
    # then: the first attempt and every retry, then the quote says why
    quote.refresh_from_db()
    assert outcome == "failed"
    assert failing_server.attempts == 1 + RETRY[Queue.DEFAULT]["max_retries"]
    assert quote.email_status == QuoteEmailStatus.FAILED
    assert "SMTPServerDisconnected" in quote.email_error
    assert quote.status == QuoteStatus.SENT
    assert timeline(quote)[-2:] == ["quote_sent", "quote_email_failed"]
    assert mail.outbox == []
    # and a late duplicate of the task finds nothing more to do
    assert attempt(quote) == "nothing to send"
    assert failing_server.attempts == 1 + RETRY[Queue.DEFAULT]["max_retries"]


def test_a_refused_address_fails_at_once_without_retrying(
    sales_rep, catalogue, failing_server, django_capture_on_commit_callbacks
) -> None:
    # given: the server refuses the recipient for good (550)
    with django_capture_on_commit_callbacks(execute=False):
        quote = send(sales_rep, a_draft(sales_rep), to="nobody@example.test")
    failing_server.failure = smtplib.SMTPRecipientsRefused({"nobody@example.test": (550, b"No such user")})
    failing_server.failures = 100
    # when
    outcome = attempt(quote)
    # then
    quote.refresh_from_db()
    assert outcome == "failed"
    assert failing_server.attempts == 1
    assert quote.email_status == QuoteEmailStatus.FAILED
    assert "SMTPRecipientsRefused" in quote.email_error


def test_the_retry_policy_is_bounded_with_exponential_backoff_and_jitter() -> None:
    policy = RETRY[Queue.DEFAULT]
    assert send_quote_email.max_retries == policy["max_retries"] <= 10
    assert send_quote_email.retry_backoff
    assert send_quote_email.retry_jitter
    assert send_quote_email.retry_backoff_max == policy["retry_backoff_max"]
    assert all(
        issubclass(kind, Exception) and kind is not Exception for kind in send_quote_email.autoretry_for
    )


def test_a_quote_handed_over_another_way_is_marked_sent_without_an_e_mail(
    sales_rep, catalogue, django_capture_on_commit_callbacks
) -> None:
    # when
    with django_capture_on_commit_callbacks(execute=True) as after_commit:
        quote = send(sales_rep, a_draft(sales_rep), email=False)
    # then
    assert (quote.status, quote.email_status) == (QuoteStatus.SENT, QuoteEmailStatus.NONE)
    assert after_commit == []
    assert mail.outbox == []


@pytest.mark.parametrize(
    ("status", "shown"),
    [
        (QuoteEmailStatus.QUEUED, "the e-mail is on its way"),
        (QuoteEmailStatus.SENT, "the mail server accepted it"),
        (QuoteEmailStatus.FAILED, "could not be delivered: SMTPRecipientsRefused"),
        (QuoteEmailStatus.NONE, "no e-mail is recorded"),
    ],
)
def test_the_quote_page_and_the_api_say_where_the_e_mail_is(
    sales_rep, catalogue, api_as, status, shown, django_capture_on_commit_callbacks
) -> None:
    # given: a sent quote whose e-mail is in `status`
    with django_capture_on_commit_callbacks(execute=False):
        quote = send(sales_rep, a_draft(sales_rep))
    Quote.objects.filter(pk=quote.pk).update(
        email_status=status,
        email_error="SMTPRecipientsRefused: 550" if status == QuoteEmailStatus.FAILED else "",
        email_sent_at=quote.sent_at if status == QuoteEmailStatus.SENT else None,
    )
    client = Client()
    client.force_login(sales_rep)
    # when
    page = client.get(reverse("sales:quote_detail", args=[quote.pk])).content.decode()
    body = api_as(sales_rep).get(f"/api/v1/sales/quotes/{quote.pk}/").json()
    # then
    assert shown in page
    assert body["email_status"] == status
    assert (body["email_sent_at"] is not None) is (status == QuoteEmailStatus.SENT)
