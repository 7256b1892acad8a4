"""The expiry sweep (`sales.quote_expiry`, task `sales.tasks.expire_quotes` on beat):
sent quotes past their validity date become expired with one timeline entry each,
idempotently, in bounded queries; accepting an out-of-date quote is a 409 whether the
sweep has run or not."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import Client

from customers.models import Activity
from frontoffice import plugin
from frontoffice.actors import SCHEDULER
from sales import tasks
from sales.models import Quote, QuoteStatus, SalesOrder
from sales.quotes import services as quote_services
from sales.quotes import services_expiry as quote_expiry
from sales.quotes import tasks as quote_tasks
from sales.tests.order_setup import a_sent_quote
from sales.tests.quote_setup import a_catalogue, a_quote, an_opportunity, in_days, today

pytestmark = pytest.mark.django_db
QUOTES = "/api/v1/sales/quotes/"


def at(day: dt.date, time: str = "12:00:00") -> str:
    return f"{day.isoformat()}T{time}Z"


def sent_quotes(rep: Any, *valid_for_days: int) -> list[Quote]:
    """Sent quotes valid for so many days from today, each for its own customer."""
    a_catalogue()
    return [a_sent_quote(rep, catalogue=False, valid_until=in_days(days)) for days in valid_for_days]


def expired_entries() -> list[Activity]:
    return list(Activity.objects.filter(kind="quote_expired").order_by("id"))


def test_beat_runs_the_sweep_hourly() -> None:
    entry = plugin.beat_schedule()["expire-quotes"]
    assert entry["task"] == tasks.expire_quotes.name == "sales.tasks.expire_quotes"
    assert entry["schedule"].minute == {5}
    assert len(entry["schedule"].hour) == 24


def test_the_sweep_expires_sent_quotes_past_their_date_with_one_timeline_entry_each(
    sales_rep, time_machine
) -> None:
    # given: two sent quotes valid for 1 and 10 days, and a draft valid for 1 day
    soon, later = sent_quotes(sales_rep, 1, 10)
    draft = a_quote(sales_rep, an_opportunity(sales_rep), valid_until=in_days(1))
    # when: three days later the task runs
    time_machine.move_to(at(in_days(3)))
    soon_before = soon.version
    expired = tasks.expire_quotes.delay().get()
    # then
    assert expired == 1
    soon.refresh_from_db()
    later.refresh_from_db()
    draft.refresh_from_db()
    assert (soon.status, soon.version) == (QuoteStatus.EXPIRED, soon_before + 1)
    assert later.status == QuoteStatus.SENT
    assert draft.status == QuoteStatus.DRAFT  # a draft is not an offer yet: sending it is refused by date
    (entry,) = expired_entries()
    assert entry.customer_id == soon.opportunity.customer_id
    assert entry.subject == f"Quote {soon.reference} rev. 1 expired"
    assert f"valid until {soon.valid_until.isoformat()}" in entry.body
    assert (entry.source_app, entry.ref_type, entry.ref_id) == ("sales", "sales.quote", str(soon.pk))
    assert entry.actor is None


def test_a_quote_is_valid_through_its_date_and_expires_the_day_after(sales_rep, time_machine) -> None:
    # given
    (quote,) = sent_quotes(sales_rep, 2)
    # when: late on its last day, nothing happens
    time_machine.move_to(at(in_days(2), "23:59:00"))
    assert quote_expiry.quotes_expire(actor=SCHEDULER).expired == 0
    # when: just after midnight, it expires
    time_machine.move_to(at(in_days(3), "00:01:00"))
    assert quote_expiry.quotes_expire(actor=SCHEDULER).expired == 1
    quote.refresh_from_db()
    assert quote.status == QuoteStatus.EXPIRED


def test_running_the_sweep_again_changes_nothing(sales_rep, time_machine) -> None:
    # given: a sweep has run
    (quote,) = sent_quotes(sales_rep, 1)
    time_machine.move_to(at(in_days(5)))
    tasks.expire_quotes.delay()
    quote.refresh_from_db()
    version = quote.version
    # when
    again = tasks.expire_quotes.delay().get()
    # then
    assert again == 0
    quote.refresh_from_db()
    assert (quote.status, quote.version) == (QuoteStatus.EXPIRED, version)
    assert len(expired_entries()) == 1


@pytest.mark.parametrize("n_quotes", [1, 6])
def test_a_batch_costs_the_same_queries_whatever_its_size(
    sales_rep, time_machine, django_assert_num_queries, n_quotes
) -> None:
    # given
    sent_quotes(sales_rep, *[1] * n_quotes)
    time_machine.move_to(at(in_days(2)))
    # when / then: savepoint, the locked batch with customers, the UPDATE, the INSERT, release
    with django_assert_num_queries(5):
        result = quote_expiry.quotes_expire(actor=SCHEDULER)
    assert result == quote_expiry.ExpiryBatch(expired=n_quotes, more=False)
    assert Quote.objects.filter(status=QuoteStatus.EXPIRED).count() == n_quotes == len(expired_entries())


def test_a_long_backlog_goes_in_batches_and_the_task_hands_over_to_a_fresh_one(
    sales_rep, time_machine, monkeypatch
) -> None:
    # given: five out-of-date quotes, batches of two, one batch per task run
    sent_quotes(sales_rep, 1, 1, 2, 2, 3)
    monkeypatch.setattr(quote_tasks, "EXPIRE_MAX_BATCHES", 1)
    time_machine.move_to(at(in_days(10)))
    runs = []
    original = quote_expiry.quotes_expire
    monkeypatch.setattr(quote_expiry, "quotes_expire", lambda **kw: runs.append(original(**kw)) or runs[-1])
    # when
    tasks.expire_quotes.delay(batch_size=2)
    # then: 2 + 2 + 1, each run re-enqueued the next (eager here)
    assert [r.expired for r in runs] == [2, 2, 1]
    assert not Quote.objects.filter(status=QuoteStatus.SENT).exists()
    assert len(expired_entries()) == 5


# --- accepting an out-of-date quote --------------------------------------------------------


@pytest.mark.parametrize("swept", [False, True], ids=["before-the-sweep", "after-the-sweep"])
def test_accepting_an_out_of_date_quote_is_a_409_whether_or_not_the_sweep_ran(
    api_as, sales_rep, time_machine, swept
) -> None:
    # given: a quote valid until tomorrow, two days later
    (quote,) = sent_quotes(sales_rep, 1)
    time_machine.move_to(at(in_days(3)))
    if swept:
        tasks.expire_quotes.delay()
    quote.refresh_from_db()
    assert quote.status == (QuoteStatus.EXPIRED if swept else QuoteStatus.SENT)
    # when
    response = api_as(sales_rep).post(
        f"{QUOTES}{quote.pk}/accept/", {}, format="json", HTTP_IF_MATCH=f'"{quote.version}"'
    )
    # then
    assert response.status_code == 409, response.content
    assert "expired" in response.json()["detail"]
    assert not SalesOrder.objects.exists()
    quote.refresh_from_db()
    assert quote.status == (QuoteStatus.EXPIRED if swept else QuoteStatus.SENT)


@pytest.mark.parametrize("swept", [False, True], ids=["before-the-sweep", "after-the-sweep"])
def test_the_builder_offers_no_accept_but_a_revision_for_an_out_of_date_quote(
    sales_rep, time_machine, swept
) -> None:
    # given
    (quote,) = sent_quotes(sales_rep, 1)
    time_machine.move_to(at(in_days(3)))
    if swept:
        tasks.expire_quotes.delay()
    client = Client()
    client.force_login(sales_rep)
    # when
    page = client.get(f"/sales/quotes/{quote.pk}/").content.decode()
    # then
    assert 'id="quote-accept"' not in page
    assert 'id="flag-expired"' in page
    assert "Revise (new revision)" in page


def test_an_expired_quote_is_revised_into_a_new_draft_valid_from_today(sales_rep, time_machine) -> None:
    # given: an expired quote
    (quote,) = sent_quotes(sales_rep, 1)
    time_machine.move_to(at(in_days(4)))
    tasks.expire_quotes.delay()
    quote.refresh_from_db()
    # when
    revision = quote_services.quote_revise(actor=sales_rep, quote_id=quote.pk, expected_version=quote.version)
    # then
    assert (revision.status, revision.revision, revision.valid_until) == (QuoteStatus.DRAFT, 2, today())
    quote.refresh_from_db()
    assert quote.status == QuoteStatus.SUPERSEDED
