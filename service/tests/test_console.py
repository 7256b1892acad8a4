"""The agent console: caller lookup as you type (phone in any format, e-mail, name)
within a fixed number of queries, the 360 beside it, "where is my order" per line, and
"log a call" that attaches or opens a case and counts first-contact resolution."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from backoffice_sync.models import ErpOrder, ErpOrderLine, IncomingStock, Invoice, Shipment, StockLevel
from customers.models import Activity, ContactPoint
from customers.tests.factories import EmailFactory, PersonFactory
from sales.orders import services as order_services
from sales.quotes import services as quote_services
from sales.tests.order_erp import SKU, an_erp_with_stock, erp_lives
from sales.tests.quote_setup import a_catalogue, a_quote, an_opportunity
from service.calls import call_log
from service.models import Call, Case
from service.selectors_console import console_lookup, console_summary, order_tracking
from tests.api_contract import snapshot
from tests.fixtures import client_for

pytestmark = pytest.mark.django_db


def a_caller(phone: str = "+442079460000", email: str = "jo@example.com") -> Any:
    customer = PersonFactory(first_name="Jo", last_name="Caller")
    ContactPoint.objects.create(customer=customer, kind="phone", value=phone, is_primary=True)
    EmailFactory(customer=customer, value=email, is_primary=True)
    return customer


def page(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.parametrize(
    "typed",
    ["+44 20 7946 0000", "+44 (0)20 7946-0000", "0044 20 7946 0000", "7946 0000", "jo@exa", "Jo Call"],
)
def test_the_caller_is_found_whatever_the_format_typed(typed: str) -> None:
    caller = a_caller()
    PersonFactory(first_name="Someone", last_name="Else")
    assert [c.pk for c in console_lookup(q=typed)] == [caller.pk]


@pytest.mark.parametrize("cases", [0, 300])
def test_the_lookup_costs_the_same_queries_with_0_or_300_cases(
    cases: int, open_case: Callable[..., Case], django_assert_max_num_queries: Any
) -> None:
    caller = a_caller()
    for n in range(min(cases, 3)):
        open_case(caller, subject=f"Case {n}")
    Case.objects.bulk_create(
        [
            Case(customer=caller, kind="enquiry", channel="phone", subject=f"Bulk {n}")
            for n in range(cases - 3)
        ]
    )
    # 3: whether someone has that whole number (an index lookup, instead of reading every
    # phone sharing its digits), the callers with their open cases, their primary contacts
    with django_assert_max_num_queries(3):
        found = console_lookup(q="020 7946 0000")
    assert [(c.pk, c.open_cases) for c in found] == [(caller.pk, cases)]
    assert sorted(cp.value for cp in found[0].primary_contacts) == ["+442079460000", "jo@example.com"]


@pytest.mark.parametrize("cases", [0, 300])
def test_the_console_page_stays_within_its_query_budget(
    cases: int, agent: Any, django_assert_max_num_queries: Any
) -> None:
    caller = a_caller()
    Case.objects.bulk_create(
        [Case(customer=caller, kind="enquiry", channel="phone", subject=f"Bulk {n}") for n in range(cases)]
    )
    client = page(agent)
    with django_assert_max_num_queries(24):
        response = client.get(reverse("service:console"), {"q": "+44 20 7946 0000", "customer": caller.pk})
    assert response.status_code == 200
    html = response.content.decode()
    assert "Jo Caller" in html
    assert "Log a call" in html


def test_logging_a_call_opens_a_case_and_resolving_on_first_contact_closes_it(agent: Any) -> None:
    caller = a_caller()
    call = call_log(
        actor=agent,
        customer_id=caller.pk,
        direction="inbound",
        duration_seconds=240,
        outcome="resolved",
        notes="Explained the delivery window.",
        phone="020 7946 0000",
        new_case={"kind": "enquiry", "subject": "When will it arrive?"},
        resolved_on_first_contact=True,
    )
    case = call.case
    assert case is not None
    assert (case.status, case.first_contact_resolved, case.channel) == ("closed", True, "phone")
    assert case.resolution == "Explained the delivery window."
    assert call.phone == "+442079460000"
    kinds = list(Activity.objects.filter(customer=caller).order_by("id").values_list("kind", flat=True))
    assert kinds == ["case_opened", "case_resolved", "call_logged"]


def test_a_call_attaches_to_an_open_case_of_the_caller(open_case: Callable[..., Case], agent: Any) -> None:
    caller = a_caller()
    case = open_case(caller)
    call = call_log(
        actor=agent,
        customer_id=caller.pk,
        direction="outbound",
        duration_seconds=60,
        outcome="follow_up",
        case_id=case.pk,
    )
    case.refresh_from_db()
    assert call.case_id == case.pk
    assert case.first_response_at is not None
    assert case.version == 2
    other = open_case()
    before = snapshot(Call, Case)
    with pytest.raises(ValidationError, match="another customer"):
        call_log(
            actor=agent,
            customer_id=caller.pk,
            direction="inbound",
            duration_seconds=1,
            outcome="resolved",
            case_id=other.pk,
        )
    assert snapshot(Call, Case) == before


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"direction": "sideways"}, "direction"),
        ({"duration_seconds": -1}, "duration_seconds"),
        ({"outcome": "shrug"}, "outcome"),
        ({"resolved_on_first_contact": True}, "resolved_on_first_contact"),
    ],
)
def test_a_bad_call_is_refused_naming_the_field(agent: Any, changes: dict[str, Any], field: str) -> None:
    caller = a_caller()
    fields = {"direction": "inbound", "duration_seconds": 30, "outcome": "resolved", **changes}
    with pytest.raises(ValidationError) as caught:
        call_log(actor=agent, customer_id=caller.pk, **fields)
    assert field in caught.value.message_dict
    assert not Call.objects.exists()


def test_log_a_call_from_the_console_in_one_submit(agent: Any, queues: Any) -> None:
    caller = a_caller()
    client = page(agent)
    # 1: find the caller; 2: open them; 3: submit the call form
    found = client.get(reverse("service:console_lookup"), {"q": "+44 20 7946 0000"}).content.decode()
    assert f"customer={caller.pk}" in found
    assert client.get(reverse("service:console"), {"customer": caller.pk}).status_code == 200
    response = client.post(
        reverse("service:console"),
        {
            "customer": caller.pk,
            "direction": "inbound",
            "duration_minutes": 3,
            "outcome": "follow_up",
            "notes": "Parcel damaged, photos to follow.",
            "case": "new",
            "kind": "complaint",
            "category": "delivery",
            "priority": "high",
            "subject": "Damaged parcel",
        },
    )
    case = Case.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("service:case_detail", args=[case.pk])
    assert (case.kind, case.category, case.priority, case.queue, case.assignee) == (
        "complaint",
        "delivery",
        "high",
        queues["front"],
        agent,
    )
    assert Call.objects.get().duration_seconds == 180


def test_the_api_logs_a_call_and_refuses_bad_input(agent: Any, back_office: Any) -> None:
    caller = a_caller()
    body = {
        "customer": caller.pk,
        "direction": "inbound",
        "duration_seconds": 90,
        "outcome": "resolved",
        "notes": "Done.",
        "new_case": {"subject": "Opening hours"},
        "resolved_on_first_contact": True,
    }
    created = client_for(agent).post("/api/v1/service/calls/", body, format="json")
    assert created.status_code == 201, created.content
    assert Case.objects.get().first_contact_resolved is True
    bad = client_for(agent).post("/api/v1/service/calls/", {**body, "duration_seconds": -3}, format="json")
    assert bad.status_code == 400
    assert "duration_seconds" in bad.json()["errors"]
    assert client_for(back_office).post("/api/v1/service/calls/", body, format="json").status_code == 403


def test_where_is_my_order_follows_the_erp_end_to_end(sales_rep: Any, agent: Any) -> None:
    # given an order the ERP shipped after two days of work
    erp = an_erp_with_stock()
    opportunity = an_opportunity(sales_rep)
    quote = a_quote(sales_rep, opportunity, [{"sku": SKU, "quantity": 7}])
    quote = quote_services.quote_send(actor=sales_rep, quote_id=quote.pk, expected_version=quote.version)
    order = order_services.quote_accept(actor=sales_rep, quote_id=quote.pk, expected_version=quote.version)
    erp_lives(erp, 48)
    # when
    tracked = order_tracking(customer_id=opportunity.customer_id)
    # then the line reads as the mirror says, with the shipment's tracking on the console
    assert [t.order_ref for t in tracked] == [order.order_ref]
    line = tracked[0].lines[0]
    mirror = ErpOrderLine.objects.get(order__order_ref=order.order_ref)
    assert (line.ordered, line.shipped, line.outstanding) == (7, mirror.shipped, 7 - mirror.shipped)
    html = page(agent).get(reverse("service:console"), {"customer": opportunity.customer_id}).content.decode()
    assert order.order_ref in html
    assert tracked[0].shipments
    for shipment in tracked[0].shipments:
        assert shipment["tracking_number"] in html
    summary = console_summary(customer=opportunity.customer, actor=agent)
    assert summary["orders"][0]["order_ref"] == order.order_ref


@pytest.mark.parametrize("orders", [1, 5])
def test_where_is_my_order_shows_outstanding_stock_earliest_date_and_what_is_open(
    sales_rep: Any, orders: int, django_assert_max_num_queries: Any
) -> None:
    # given orders of 10 x SKU-1, 4 shipped with tracking, invoiced 100.00 of which 30.00 paid;
    # 3 free in stock and 5 more arriving in ten days
    today = timezone.localdate()
    a_catalogue()
    opportunity = an_opportunity(sales_rep)
    refs = []
    for n in range(orders):
        quote = a_quote(sales_rep, opportunity, [{"sku": "SKU-1", "quantity": 10}])
        quote = quote_services.quote_send(actor=sales_rep, quote_id=quote.pk, expected_version=quote.version)
        order = order_services.quote_accept(
            actor=sales_rep, quote_id=quote.pk, expected_version=quote.version
        )
        erp = ErpOrder.objects.create(
            order_ref=order.order_ref,
            customer=order.customer,
            status="partially_shipped",
            status_changed_at=timezone.now(),
        )
        ErpOrderLine.objects.create(order=erp, line_no=1, sku="SKU-1", quantity=10, shipped=4)
        Shipment.objects.create(
            number=f"SH-{n}", order=erp, carrier="DHL", tracking_number=f"TRACK{n}", shipped_on=today
        )
        Invoice.objects.create(
            number=f"INV-{n}",
            customer=order.customer,
            order_ref=order.order_ref,
            amount=Decimal("100.00"),
            currency="EUR",
            issued_on=today,
            due_on=today + dt.timedelta(days=30),
            amount_paid=Decimal("30.00"),
        )
        refs.append(order.order_ref)
    StockLevel.objects.filter(product__sku="SKU-1").update(on_hand=3, reserved=0)
    level = StockLevel.objects.get(product__sku="SKU-1")
    IncomingStock.objects.create(stock_level=level, quantity=5, expected_on=today + dt.timedelta(days=10))
    # when
    with django_assert_max_num_queries(8):
        tracked = order_tracking(customer_id=opportunity.customer_id)
    # then: 6 outstanding, 3 free now, all 6 by the incoming date; tracking; 70.00 open
    assert [t.order_ref for t in tracked] == refs[::-1]
    line = tracked[0].lines[0]
    assert (line.ordered, line.shipped, line.outstanding, line.free_now) == (10, 4, 6, 3)
    assert line.earliest_on == today + dt.timedelta(days=10)
    assert tracked[0].shipments[0]["tracking_number"] == f"TRACK{orders - 1}"
    assert tracked[0].open_amount == Decimal("70.00")
