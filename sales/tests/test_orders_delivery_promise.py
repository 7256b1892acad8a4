"""Accepting a quote asks the back office again: the order keeps the quote's promised
delivery date only while the back office can still keep it. Otherwise 409
(`delivery_date_not_met`, nothing written) unless the customer accepts the earliest date
now, which the order then promises (the timeline says the promise moved). Service, API
and the quote page's Accept form."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from backoffice_sync.models import OutboxMessage
from backoffice_sync.tests.inbox_helpers import product_event, receive_and_apply, stock_event
from customers.models import Activity
from sales.models import OpportunityStatus, Quote, QuoteStatus, SalesOrder
from sales.orders import services as order_services
from sales.orders.services import OrderConflict, PromiseNotKept
from sales.tests.order_setup import a_sent_quote
from sales.tests.quote_setup import a_catalogue, in_days, promised_in
from tests import test_openapi_schema as project_schema

pytestmark = pytest.mark.django_db

schema_document = project_schema.schema_document
LEAD_TIME = 20  # SKU-1's, in the catalogue of quote_setup


def stock_of_sku_1(version: int, on_hand: int, **extra: Any) -> None:
    """The ERP reports SKU-1's stock again (a newer version than the catalogue's)."""
    receive_and_apply(stock_event("SKU-1", version=version, on_hand=on_hand, **extra))


def accept(actor: Any, quote: Quote, **options: Any) -> SalesOrder:
    return order_services.quote_accept(
        actor=actor, quote_id=quote.pk, expected_version=quote.version, **options
    )


def a_quote_whose_promise_slipped(rep: Any) -> Quote:
    """Sent promising delivery from stock (SKU-1 x3 in stock); since then another customer took all the
    stock: the back office can deliver after the lead time only."""
    quote = a_sent_quote(rep)
    assert quote.promised_delivery_on == promised_in(0)
    stock_of_sku_1(version=2, on_hand=0)
    return quote


def assert_nothing_written(quote: Quote) -> None:
    version = quote.version
    assert not SalesOrder.objects.exists()
    assert not OutboxMessage.objects.exists()
    assert not Activity.objects.filter(kind="order_placed").exists()
    quote.refresh_from_db()
    assert (quote.status, quote.version) == (QuoteStatus.SENT, version)
    quote.opportunity.refresh_from_db()
    assert quote.opportunity.status == OpportunityStatus.OPEN


# --- the service ---------------------------------------------------------------------------


def test_the_order_keeps_the_promise_the_back_office_can_still_keep(sales_rep, time_machine) -> None:
    # given: no stock but 50 arriving in 10 days: the quote promises that day
    a_catalogue()
    stock_of_sku_1(version=2, on_hand=0, incoming=[{"quantity": 50, "expected_on": in_days(10).isoformat()}])
    quote = a_sent_quote(sales_rep, catalogue=False)
    promised = quote.promised_delivery_on
    assert promised == promised_in(10)
    # ... three days later the stock has arrived early: the back office could deliver
    # sooner than promised
    time_machine.move_to(timezone.now() + dt.timedelta(days=3))
    stock_of_sku_1(version=3, on_hand=50)
    # when
    order = accept(sales_rep, quote)
    # then: the order keeps the quote's promise (the date the customer was told)
    assert order.promised_delivery_on == promised
    assert order.promised_delivery_on >= timezone.localdate()
    assert OutboxMessage.objects.get().payload["requested_date"] == promised.isoformat()
    entry = Activity.objects.get(kind="order_placed")
    assert "moved" not in entry.body
    assert "promise_moved_from" not in entry.payload


def test_a_promise_the_back_office_can_no_longer_keep_is_refused_and_nothing_is_written(sales_rep) -> None:
    # given
    quote = a_quote_whose_promise_slipped(sales_rep)
    # when
    with pytest.raises(PromiseNotKept) as refused:
        accept(sales_rep, quote)
    # then: a 409 naming the earliest date now
    error = refused.value
    assert (error.status_code, error.code) == (409, "delivery_date_not_met")
    assert (error.promised_on, error.earliest_on) == (promised_in(0), promised_in(LEAD_TIME))
    assert error.errors["promised_delivery_on"] == [
        f"Earliest possible now: {promised_in(LEAD_TIME).isoformat()}."
    ]
    assert promised_in(LEAD_TIME).isoformat() in error.detail
    # and no order, no outbox message, the quote unchanged
    assert_nothing_written(quote)


def test_a_promise_made_days_ago_for_that_day_is_no_longer_kept(sales_rep, time_machine) -> None:
    # given: promised from stock (in stock); the customer signs 10 days later
    quote = a_sent_quote(sales_rep)
    sent_on = quote.promised_delivery_on
    time_machine.move_to(timezone.now() + dt.timedelta(days=10))
    # when / then: that date is in the past: refused, the earliest date is from stock now
    with pytest.raises(PromiseNotKept) as refused:
        accept(sales_rep, quote)
    assert (refused.value.promised_on, refused.value.earliest_on) == (sent_on, promised_in(0))
    assert_nothing_written(quote)
    # and once the customer accepts the later date, the order promises it, not the past
    order = accept(sales_rep, quote, accept_later_delivery=True)
    assert order.promised_delivery_on == promised_in(0)


def test_when_the_customer_accepts_the_later_date_the_order_promises_it(sales_rep) -> None:
    # given
    quote = a_quote_whose_promise_slipped(sales_rep)
    quoted = quote.promised_delivery_on
    # when
    order = accept(sales_rep, quote, accept_later_delivery=True)
    # then: the order (and what the ERP is asked for) carries the live date
    assert order.promised_delivery_on == promised_in(LEAD_TIME)
    assert OutboxMessage.objects.get().payload["requested_date"] == promised_in(LEAD_TIME).isoformat()
    # and the timeline says the promise moved, from what to what
    entry = Activity.objects.get(kind="order_placed")
    assert f"moved from {quoted.isoformat()} to {promised_in(LEAD_TIME).isoformat()}" in entry.body
    assert entry.payload["promise_moved_from"] == quoted.isoformat()
    # and the quote keeps the promise it was sent with
    quote.refresh_from_db()
    assert (quote.status, quote.promised_delivery_on) == (QuoteStatus.ACCEPTED, quoted)


def test_a_later_date_is_only_accepted_when_it_is_needed(sales_rep) -> None:
    # given: the back office can still keep the promise
    quote = a_sent_quote(sales_rep)
    # when: the caller says the customer would accept a later date anyway
    order = accept(sales_rep, quote, accept_later_delivery=True)
    # then: the promise stands, nothing moved
    assert order.promised_delivery_on == quote.promised_delivery_on
    assert "promise_moved_from" not in Activity.objects.get(kind="order_placed").payload


def test_a_date_that_slipped_beyond_the_one_the_customer_accepted_is_refused(sales_rep) -> None:
    # given: the customer was told (and accepted) a date 5 days out; it is 20 days out now
    quote = a_quote_whose_promise_slipped(sales_rep)
    # when
    with pytest.raises(PromiseNotKept) as refused:
        accept(sales_rep, quote, accept_later_delivery=True, accepted_delivery_on=in_days(5))
    # then
    assert refused.value.accepted_on == in_days(5)
    assert refused.value.earliest_on == promised_in(LEAD_TIME)
    assert in_days(5).isoformat() in refused.value.detail
    assert_nothing_written(quote)
    # and the date the customer accepted is enough when it covers the live one
    order = accept(sales_rep, quote, accept_later_delivery=True, accepted_delivery_on=promised_in(LEAD_TIME))
    assert order.promised_delivery_on == promised_in(LEAD_TIME)


def test_a_product_that_left_the_catalogue_refuses_the_accept_with_a_reason(sales_rep) -> None:
    # given: since the quote was sent, the ERP stopped selling SKU-1
    quote = a_sent_quote(sales_rep)
    receive_and_apply(product_event("SKU-1", version=2, active=False, lead_time_days=LEAD_TIME))
    # when
    with pytest.raises(OrderConflict) as refused:
        accept(sales_rep, quote, accept_later_delivery=True)
    # then: a 409 that says why and what to do; nothing written
    assert refused.value.status_code == 409
    assert "no longer sold" in refused.value.detail
    assert "revise the quote" in refused.value.detail
    assert refused.value.errors["lines"] == ["SKU 'SKU-1' is no longer sold."]
    assert_nothing_written(quote)


def test_the_second_quote_for_the_last_units_cannot_promise_them_too(sales_rep) -> None:
    # given: two customers were quoted all 100 units in stock, both from stock
    first = a_sent_quote(sales_rep, lines=[{"sku": "SKU-1", "quantity": 100}])
    second = a_sent_quote(sales_rep, catalogue=False, lines=[{"sku": "SKU-1", "quantity": 100}])
    assert first.promised_delivery_on == second.promised_delivery_on == promised_in(0)
    # when: the first accepts (its order holds the stock while in the outbox)
    accept(sales_rep, first)
    # then: the second can only have the lead time
    with pytest.raises(PromiseNotKept) as refused:
        accept(sales_rep, second)
    assert refused.value.earliest_on == promised_in(LEAD_TIME)
    assert SalesOrder.objects.count() == 1


@pytest.mark.parametrize("n_lines", [1, 40])
def test_accepting_runs_a_bounded_number_of_queries(
    sales_rep, django_assert_max_num_queries, n_lines
) -> None:
    # given
    lines = [{"sku": "SKU-1" if n % 2 else "SKU-2", "quantity": 1} for n in range(n_lines)]
    quote = a_sent_quote(sales_rep, lines=lines)
    # when / then: the same count for 1 line or 40 (33 today: the ATP check is 6 of
    # them, the lock on the products 1)
    with django_assert_max_num_queries(35):
        accept(sales_rep, quote)
    assert SalesOrder.objects.get().lines.count() == n_lines


# --- the API ---------------------------------------------------------------------------------


def accept_url(quote: Quote) -> str:
    return f"/api/v1/sales/quotes/{quote.pk}/accept/"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"accept_later_delivery": "perhaps"}, "accept_later_delivery"),
        ({"accept_later_delivery": True, "accepted_delivery_on": "next week"}, "accepted_delivery_on"),
        ({"accept_later": True}, "accept_later"),
    ],
)
def test_the_accept_body_is_validated_field_by_field(api_as, sales_rep, body, field) -> None:
    # given
    quote = a_quote_whose_promise_slipped(sales_rep)
    # when
    response = api_as(sales_rep).post(
        accept_url(quote), body, format="json", HTTP_IF_MATCH=f'"{quote.version}"'
    )
    # then
    assert response.status_code == 400, response.content
    assert response["Content-Type"] == "application/problem+json"
    assert list(response.json()["errors"]) == [field]
    assert_nothing_written(quote)


def test_the_api_answers_409_naming_the_earliest_date_then_places_the_order_at_it(api_as, sales_rep) -> None:
    # given
    quote = a_quote_whose_promise_slipped(sales_rep)
    client = api_as(sales_rep)
    if_match = f'"{quote.version}"'
    # when: accepted as quoted (no body)
    refused = client.post(accept_url(quote), format="json", HTTP_IF_MATCH=if_match)
    # then
    assert refused.status_code == 409, refused.content
    assert refused["Content-Type"] == "application/problem+json"
    problem = refused.json()
    assert problem["type"].endswith("/delivery_date_not_met")
    assert problem["status"] == 409
    assert promised_in(LEAD_TIME).isoformat() in problem["detail"]
    assert problem["errors"]["promised_delivery_on"] == [
        f"Earliest possible now: {promised_in(LEAD_TIME).isoformat()}."
    ]
    assert "accept_later_delivery" in problem["errors"]
    assert_nothing_written(quote)
    # when: the customer accepts the later date
    placed = client.post(
        accept_url(quote), {"accept_later_delivery": True}, format="json", HTTP_IF_MATCH=if_match
    )
    # then
    assert placed.status_code == 201, placed.content
    assert placed.json()["promised_delivery_on"] == promised_in(LEAD_TIME).isoformat()


def test_the_schema_documents_the_accept_body_and_the_409(schema_document) -> None:
    operation = schema_document["paths"]["/api/v1/sales/quotes/{id}/accept/"]["post"]
    body = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
    properties = schema_document["components"]["schemas"][body]["properties"]
    assert set(properties) == {"accept_later_delivery", "accepted_delivery_on"}
    assert properties["accept_later_delivery"]["type"] == "boolean"
    conflict = operation["responses"]["409"]
    assert "application/problem+json" in conflict["content"]
    assert "delivery_date_not_met" in conflict["description"]


# --- the quote page ------------------------------------------------------------------------


def browser(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def checkbox_label(day: dt.date) -> str:
    return f'<label for="accept_accept_later_delivery" class="field__label field__label--inline">The customer accepts the new date {day.isoformat()}</label>'


def test_the_builder_shows_the_new_date_and_the_checkbox_before_the_click(sales_rep) -> None:
    # given
    quote = a_quote_whose_promise_slipped(sales_rep)
    # when
    html = browser(sales_rep).get(f"/sales/quotes/{quote.pk}/").content.decode()
    # then: both dates, and a labelled checkbox tied to the explanation
    assert 'id="accept-promise-note"' in html
    assert f"promised delivery on {promised_in(0).isoformat()}" in html
    assert f"promised delivery {promised_in(0).isoformat()} (as sent)" in html  # the flags, not the live date
    assert checkbox_label(promised_in(LEAD_TIME)) in html
    assert 'aria-describedby="accept-promise-note"' in html
    assert f'name="accepted_delivery_on" value="{promised_in(LEAD_TIME).isoformat()}"' in html


def test_the_builder_asks_nothing_when_the_promise_still_holds(sales_rep) -> None:
    quote = a_sent_quote(sales_rep)
    html = browser(sales_rep).get(f"/sales/quotes/{quote.pk}/").content.decode()
    assert 'id="quote-accept"' in html
    assert 'id="accept-promise-note"' not in html
    assert 'name="accept_later_delivery"' not in html


def test_a_refused_accept_shows_why_and_the_checkbox_then_ticking_it_places_the_order(sales_rep) -> None:
    # given: the page was shown while the promise held; then the stock went
    quote = a_sent_quote(sales_rep)
    client = browser(sales_rep)
    assert 'name="accept_later_delivery"' not in client.get(f"/sales/quotes/{quote.pk}/").content.decode()
    stock_of_sku_1(version=2, on_hand=0)
    url = f"/sales/quotes/{quote.pk}/accept/"
    # when
    refused = client.post(url, {"version": quote.version})
    # then: 409, the builder again with the message and the checkbox for the new date
    assert refused.status_code == 409
    html = refused.content.decode()
    assert 'id="accept-errors"' in html
    assert (
        f"The back office can no longer deliver by the promised {promised_in(0).isoformat()}: the earliest "
        f"possible date is now {promised_in(LEAD_TIME).isoformat()}." in html
    )
    assert checkbox_label(promised_in(LEAD_TIME)) in html
    assert_nothing_written(quote)
    # when: the rep ticks that the customer accepts it
    placed = client.post(
        url,
        {
            "version": quote.version,
            "accept_later_delivery": "on",
            "accepted_delivery_on": promised_in(LEAD_TIME).isoformat(),
        },
    )
    # then
    order = SalesOrder.objects.get()
    assert placed.status_code == 302
    assert placed["Location"] == f"/sales/orders/{order.pk}/"
    assert order.promised_delivery_on == promised_in(LEAD_TIME)


def test_a_date_that_slipped_again_since_the_page_was_shown_is_asked_again(sales_rep) -> None:
    # given: the page offered a date 20 days out and the rep ticked it; meanwhile the ERP
    # doubled the lead time
    quote = a_quote_whose_promise_slipped(sales_rep)
    receive_and_apply(product_event("SKU-1", version=2, lead_time_days=2 * LEAD_TIME))
    # when
    response = browser(sales_rep).post(
        f"/sales/quotes/{quote.pk}/accept/",
        {
            "version": quote.version,
            "accept_later_delivery": "on",
            "accepted_delivery_on": promised_in(LEAD_TIME).isoformat(),
        },
    )
    # then: refused, and the checkbox offers the new date, unticked
    assert response.status_code == 409
    html = response.content.decode()
    assert f"later than the {promised_in(LEAD_TIME).isoformat()} the customer accepted" in html
    assert checkbox_label(promised_in(2 * LEAD_TIME)) in html
    (checkbox,) = re.findall(r'<input type="checkbox" name="accept_later_delivery"[^>]*>', html)
    assert "checked" not in checkbox
    assert_nothing_written(quote)
