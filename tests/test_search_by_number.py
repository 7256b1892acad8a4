"""Search as you type by a record's number: orders (ours and the ERP's), quotes and cases
contributed by their apps through `NumberLookup` hooks, each hit with its customer; in
the search box (page) and `GET /api/v1/search/`; in a fixed number of queries whatever
the data; only the records the user may open."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from backoffice_sync.models import ErpOrder
from customers.models import Customer
from frontoffice.numbers import TypedNumber, padded_ranges, read_number
from sales.models import Quote, QuoteStatus, SalesOrder
from sales.orders import services as order_services
from sales.tests.order_setup import a_sent_quote
from service.models import Case
from service.services import case_open
from tests.fixtures import Role, client_for, make_user

pytestmark = pytest.mark.django_db


# --- reading the input ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "letters", "digits"),
    [
        ("SO-000123", "SO", "000123"),
        (" so 123 ", "SO", "123"),
        ("c-0001", "C", "0001"),
        ("Q000045", "Q", "000045"),
        ("4711", "", "4711"),
    ],
)
def test_a_typed_number_is_read_into_its_letters_and_digits(typed: str, letters: str, digits: str) -> None:
    assert read_number(typed) == TypedNumber(letters=letters, digits=digits)


@pytest.mark.parametrize("typed", ["Acme", "info@acme.test", "SO-", "+44 20 7946 0000", "Mar tin 12"])
def test_what_is_not_a_number_is_not_read_as_one(typed: str) -> None:
    assert read_number(typed) is None


def test_an_unpadded_number_stands_for_the_printed_one() -> None:
    number = read_number("so 123")
    assert number is not None
    assert number.exact("SO") == "SO-000123"
    assert number.prefix_text("SO") == "SO-123"
    assert number.prefix_text("Q") is None
    bare = read_number("123")
    assert bare is not None
    assert bare.prefix_text("SO") is None
    assert bare.names("SO")
    assert bare.names("C")


def test_the_ids_whose_printed_number_starts_with_the_digits() -> None:
    def printed(pk: int) -> str:
        return f"{pk:06d}"

    for digits in ("0001", "12", "000123", "1234567", "9"):
        ranges = padded_ranges(digits, widest=8)
        expected = [pk for pk in range(1, 20_000_000, 997) if printed(pk).startswith(digits)]
        inside = [pk for pk in range(1, 20_000_000, 997) if any(lo <= pk <= hi for lo, hi in ranges)]
        assert inside == expected, digits
        assert ranges == sorted(ranges)


# --- the records ------------------------------------------------------------------------


@pytest.fixture
def records(sales_rep: Any, admin_user: Any) -> dict[str, Any]:
    quote = a_sent_quote(sales_rep)
    order = order_services.quote_accept(actor=sales_rep, quote_id=quote.pk, expected_version=quote.version)
    ErpOrder.objects.create(
        order_ref=order.order_ref,
        erp_order_number="ERP-778899",
        customer_id=order.customer_id,
        status="confirmed",
        status_changed_at=timezone.now(),
    )
    case = case_open(
        actor=admin_user, customer_id=order.customer_id, kind="complaint", channel="phone", subject="Late"
    )
    return {"quote": Quote.objects.get(pk=quote.pk), "order": order, "case": case, "customer": order.customer}


def search(user: Any, q: str) -> dict[str, list[dict[str, Any]]]:
    response = client_for(user).get("/api/v1/search/", {"q": q})
    assert response.status_code == 200, response.content
    return {group["key"]: group["hits"] for group in response.json()["groups"]}


def numbers(hits: list[dict[str, Any]]) -> list[str]:
    return [hit["number"] for hit in hits]


def test_an_order_is_found_by_its_number_exactly_unpadded_by_prefix_and_by_the_erps_number(
    records: dict[str, Any], sales_manager: Any
) -> None:
    order: SalesOrder = records["order"]
    customer: Customer = records["customer"]
    typed_forms = [
        order.order_ref,
        order.order_ref.lower(),
        f"so {order.pk}",
        order.order_ref[:-1],
        "ERP-7788",
    ]
    for typed in typed_forms:
        # when
        hits = search(sales_manager, typed)["orders"]
        # then: the order, with its customer
        assert numbers(hits) == [order.order_ref], typed
        assert hits[0]["customer"] == {"id": customer.pk, "name": customer.display_name}
        assert hits[0]["url"] == f"/sales/orders/{order.pk}/"
    assert search(sales_manager, "SO-99999999")["orders"] == []


def test_a_quote_is_found_by_its_reference_once_at_its_latest_revision(
    records: dict[str, Any], sales_manager: Any
) -> None:
    quote: Quote = records["quote"]
    hits = search(sales_manager, quote.reference)["quotes"]
    assert numbers(hits) == [quote.reference]
    assert hits[0]["customer"]["id"] == records["customer"].pk
    latest = Quote.objects.filter(reference=quote.reference).order_by("-revision").first()
    assert hits[0]["url"] == f"/sales/quotes/{latest.pk}/"
    assert numbers(search(sales_manager, f"q {int(quote.reference[2:])}")["quotes"]) == [quote.reference]


def test_a_case_is_found_by_its_number_its_digits_and_a_prefix(
    records: dict[str, Any], admin_user: Any
) -> None:
    case: Case = records["case"]
    for typed in (case.reference, f"{case.pk:03d}", f"c {case.pk}", case.reference[:-1]):
        hits = search(admin_user, typed)["cases"]
        assert case.reference in numbers(hits), typed
        assert hits[numbers(hits).index(case.reference)]["customer"]["id"] == records["customer"].pk


def test_a_prefix_finds_every_case_whose_number_starts_with_it_in_order(admin_user: Any) -> None:
    customer = Customer.objects.create(
        kind="person", first_name="Ann", last_name="Lee", display_name="Ann Lee"
    )
    made = [
        case_open(actor=admin_user, customer_id=customer.pk, kind="request", channel="email", subject=f"S{n}")
        for n in range(12)
    ]
    # the printed numbers of the first ones share their first five digits
    prefix = made[0].reference[:-1]
    expected = sorted(c.reference for c in made if c.reference.startswith(prefix))[:8]
    assert numbers(search(admin_user, prefix)["cases"]) == expected


def test_each_user_sees_only_the_records_they_may_open(records: dict[str, Any]) -> None:
    order, case, quote = records["order"], records["case"], records["quote"]
    agent = make_user("agent", Role.SERVICE_AGENT)
    marketer = make_user("marketer2", Role.MARKETING)
    back_office = make_user("bo", Role.BACK_OFFICE)
    # a service agent opens orders and cases, not quotes
    groups = search(agent, order.order_ref)
    assert "quotes" not in groups
    assert numbers(groups["orders"]) == [order.order_ref]
    assert case.reference in numbers(search(agent, case.reference)["cases"])
    # marketing opens none of them
    groups = search(marketer, order.order_ref)
    assert {"orders", "quotes", "cases"}.isdisjoint(groups)
    # the back office reads quotes and orders
    assert numbers(search(back_office, quote.reference)["quotes"]) == [quote.reference]
    for user in (agent, marketer, back_office):
        for key, permission in (
            ("orders", "sales.view_salesorder"),
            ("quotes", "sales.view_quote"),
            ("cases", "service.view_case"),
        ):
            assert (key in search(user, "SO-1")) == user.has_perm(permission), (user, key)


def test_the_search_box_shows_the_record_and_its_customer_and_no_empty_number_groups(
    records: dict[str, Any], client: Any, sales_manager: Any
) -> None:
    order: SalesOrder = records["order"]
    client.force_login(sales_manager)
    page = client.get("/search/", {"q": order.order_ref}, HTTP_HX_REQUEST="true").content.decode()
    assert f'href="/sales/orders/{order.pk}/"' in page
    assert records["customer"].display_name in page
    # a name search lists customers; the number groups, empty, are not shown
    page = client.get("/search/", {"q": "Acme"}, HTTP_HX_REQUEST="true").content.decode()
    assert "Orders" not in page
    assert "No order matches" not in page


def test_the_api_refuses_bad_input_and_strangers(sales_manager: Any) -> None:
    from rest_framework.test import APIClient

    assert APIClient().get("/api/v1/search/", {"q": "SO-1"}).status_code == 401
    client = client_for(sales_manager)
    for params in ({}, {"q": "S"}, {"q": "x" * 201}, {"q": "SO-1", "page": "2"}):
        response = client.get("/api/v1/search/", params)
        assert response.status_code == 400, params
        assert response["Content-Type"] == "application/problem+json"


def _many(rep: Any, admin: Any, count: int) -> None:
    """`count` orders, quotes and cases, made in bulk beside the real ones."""
    template = Quote.objects.filter(opportunity__owner=rep).first() or a_sent_quote(rep)
    quotes = Quote.objects.bulk_create(
        [
            Quote(
                opportunity_id=template.opportunity_id,
                reference=f"Q-{900000 + n:06d}",
                status=QuoteStatus.ACCEPTED,
                currency="EUR",
                price_list_id=template.price_list_id,
                valid_until=template.valid_until,
                sent_at=template.sent_at,
            )
            for n in range(count)
        ]
    )
    SalesOrder.objects.bulk_create(
        [
            SalesOrder(
                order_ref=f"SO-{900000 + n:06d}",
                quote=q,
                opportunity_id=template.opportunity_id,
                customer_id=template.opportunity.customer_id,
                currency="EUR",
                total=Decimal("10.00"),
                promised_delivery_on=timezone.localdate() + dt.timedelta(days=3),
            )
            for n, q in enumerate(quotes)
        ]
    )
    Case.objects.bulk_create(
        [
            Case(
                customer_id=template.opportunity.customer_id, kind="request", channel="email", subject=f"B{n}"
            )
            for n in range(count)
        ]
    )


@pytest.mark.parametrize("count", [0, 300])
def test_searching_by_number_runs_the_same_few_queries_whatever_the_data(
    records: dict[str, Any], sales_rep: Any, admin_user: Any, count: int, django_assert_max_num_queries: Any
) -> None:
    # given
    if count:
        _many(sales_rep, admin_user, count)
    client = client_for(admin_user)
    client.get("/api/v1/search/", {"q": "SO-9"})  # the session, permissions and hooks: warm
    # when / then: orders 3, quotes 2, cases at most 5, customers 3, and the request's own
    for typed in ("SO-9", "Q-9000", "C-1", "12", records["order"].order_ref):
        with django_assert_max_num_queries(18):
            response = client.get("/api/v1/search/", {"q": typed})
        assert response.status_code == 200
    hits = search(admin_user, "SO-9000")["orders"]
    assert len(hits) == (8 if count else 0)
    assert numbers(hits) == sorted(numbers(hits))
