"""The 360 view's "Invoices and balance" panel: what it shows, and what it costs."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from backoffice_sync.apply.invoices import balance_recompute
from backoffice_sync.erp import EventType
from backoffice_sync.models import ErpOrder, ErpOrderStatus, Invoice, InvoiceStatus
from backoffice_sync.selectors_mirrors import invoices_and_balance
from backoffice_sync.tests.inbox_helpers import (
    a_customer,
    invoice_event,
    order_event,
    overdue_event,
    payment_event,
    receive_and_apply,
)
from customers.models import Customer
from frontoffice import plugin
from frontoffice.write_path import MissingActor
from tests.fixtures import client_for

pytestmark = pytest.mark.django_db

BUDGET_360 = 15
# The panel's own request: session, user, customer, and the loader's 2 queries.
BUDGET_PANEL = 5


def with_history(customer: Customer, count: int) -> Customer:
    """`count` invoices (the first overdue, the second paid) and `count` orders."""
    for n in range(count):
        receive_and_apply(
            invoice_event(customer, number=f"INV-{n}", amount="10.00", issued_on=f"2025-01-{n % 28 + 1:02d}")
        )
        receive_and_apply(
            order_event(
                EventType.ORDER_CONFIRMED, customer, 1, order_ref=f"FO-{n}", erp_order_number=f"SO-{n}"
            )
        )
    if count:
        receive_and_apply(overdue_event(customer, number="INV-0", amount_due="10.00"))
    if count > 1:
        receive_and_apply(payment_event(customer, "PAY-1", "10.00", number="INV-1"))
    return customer


@pytest.mark.parametrize("count", [0, 1, 40])
def test_the_panel_costs_at_most_two_queries(
    count: int, back_office: Any, django_assert_max_num_queries: Any
) -> None:
    # given
    customer = with_history(a_customer(), count)

    # when / then
    with django_assert_max_num_queries(2):
        data = invoices_and_balance(customer=customer, actor=back_office)
    assert len(data["invoices"]) == min(count, 5)
    assert len(data["orders"]) == min(count, 5)


def test_the_panel_shows_the_balance_the_last_invoices_and_the_recent_orders(back_office: Any) -> None:
    # given
    customer = with_history(a_customer(), 3)

    # when
    data = invoices_and_balance(customer=customer, actor=back_office)

    # then
    assert data["balances"] == [
        {"currency": "EUR", "open_amount": "20.00", "overdue_amount": "10.00", "overdue": True}
    ]
    assert data["overdue"] is True
    assert [(i["number"], i["status"], i["due_on"]) for i in data["invoices"]] == [
        ("INV-2", "open", "2025-02-09"),
        ("INV-1", "paid", "2025-02-09"),
        ("INV-0", "overdue", "2025-02-09"),
    ]
    assert data["invoices"][1]["open_amount"] == "0.00"
    assert {(o["order_ref"], o["erp_order_number"], o["status"]) for o in data["orders"]} == {
        ("FO-0", "SO-0", "confirmed"),
        ("FO-1", "SO-1", "confirmed"),
        ("FO-2", "SO-2", "confirmed"),
    }


def test_a_customer_without_erp_data_gets_an_empty_panel(back_office: Any) -> None:
    # when
    data = invoices_and_balance(customer=a_customer(), actor=back_office)

    # then
    assert data == {"balances": [], "overdue": False, "invoices": [], "orders": []}


def bulk_history(customer: Customer, count: int) -> Customer:
    """`count` invoices (every third paid, every fifth overdue), their balance, and
    `count` orders, written straight into the mirrors (a long-standing customer)."""
    today = dt.date(2025, 6, 1)
    Invoice.objects.bulk_create(
        Invoice(
            number=f"INV-{n:04d}",
            customer=customer,
            amount=Decimal("10.00"),
            currency="EUR",
            issued_on=today - dt.timedelta(days=n),
            due_on=today - dt.timedelta(days=n) + dt.timedelta(days=30),
            status=InvoiceStatus.PAID
            if n % 3 == 0
            else InvoiceStatus.OVERDUE
            if n % 5 == 0
            else InvoiceStatus.OPEN,
            amount_paid=Decimal("10.00") if n % 3 == 0 else Decimal(0),
        )
        for n in range(count)
    )
    if count:
        balance_recompute(customer_id=customer.pk, currency="EUR")
    ErpOrder.objects.bulk_create(
        ErpOrder(
            order_ref=f"FO-{n:04d}",
            erp_order_number=f"SO-{n:04d}",
            customer=customer,
            status=ErpOrderStatus.CONFIRMED,
            status_changed_at=timezone.now() - dt.timedelta(hours=n),
            currency="EUR",
        )
        for n in range(count)
    )
    return customer


@pytest.mark.parametrize("count", [0, 300])
def test_the_panel_declares_its_data_and_keeps_its_query_budget_at_any_size(
    count: int, back_office: Any, django_assert_max_num_queries: Any
) -> None:
    # given
    customer = bulk_history(a_customer(), count)
    panel = plugin.panel("invoices_balance")
    assert panel is not None
    assert panel.serializer is not None

    # when
    with django_assert_max_num_queries(panel.query_budget):
        data = panel.loader(customer=customer, actor=back_office)

    # then: the declared serializer describes exactly what the loader returns
    assert panel.query_budget == 2
    assert panel.serializer(data).data == data
    assert (len(data["invoices"]), len(data["orders"])) == (min(count, 5), min(count, 5))
    assert data["overdue"] is bool(count)


def test_the_panel_needs_an_actor() -> None:
    # when / then
    with pytest.raises(MissingActor):
        invoices_and_balance(customer=a_customer(), actor=None)


@pytest.mark.parametrize("count", [0, 40])
def test_the_360_page_shows_the_panel_within_its_query_budget(
    count: int, admin_user: Any, django_assert_max_num_queries: Any
) -> None:
    # given
    customer = with_history(a_customer(), count)
    client = Client()
    client.force_login(admin_user)

    # when
    with django_assert_max_num_queries(BUDGET_360):
        response = client.get(reverse("customers:detail", args=[customer.pk]))
    with django_assert_max_num_queries(BUDGET_PANEL):
        body = client.get(reverse("customers:panel", args=[customer.pk, "invoices_balance"]))

    # then
    assert response.status_code == 200
    assert 'id="panel-invoices_balance"' in response.content.decode()
    assert "Invoices and balance" in response.content.decode()
    html = body.content.decode()
    if count:
        newest_invoice = Invoice.objects.filter(customer=customer).order_by("-issued_on", "-id").first()
        newest_order = (
            ErpOrder.objects.filter(customer=customer).order_by("-status_changed_at", "-id").first()
        )
        assert newest_invoice.number in html
        assert "Overdue" in html
        assert newest_order.order_ref in html
    else:
        assert "No invoices yet." in html
        assert "No orders reported by the ERP yet." in html


@pytest.mark.parametrize("count", [0, 40])
def test_the_360_api_includes_the_panel_within_its_query_budget(
    count: int, admin_user: Any, django_assert_max_num_queries: Any
) -> None:
    # given
    customer = with_history(a_customer(), count)
    client = client_for(admin_user)

    # when
    with django_assert_max_num_queries(BUDGET_360):
        response = client.get(f"/api/v1/customers/{customer.pk}/360/?panels=invoices_balance")

    # then
    assert response.status_code == 200
    panel = next(p for p in response.json()["panels"] if p["key"] == "invoices_balance")
    assert panel["title"] == "Invoices and balance"
    assert len(panel["data"]["invoices"]) == min(count, 5)
    assert panel["data"]["overdue"] is bool(count)


def test_the_panel_costs_two_queries_in_its_own_request_and_none_on_the_360_page(admin_user: Any) -> None:
    # given
    customer = with_history(a_customer(), 3)
    client = Client()
    client.force_login(admin_user)
    client.get(reverse("customers:detail", args=[customer.pk]))  # warm up the session

    # when
    with CaptureQueriesContext(connection) as page:
        client.get(reverse("customers:detail", args=[customer.pk]))
    with CaptureQueriesContext(connection) as panel:
        client.get(reverse("customers:panel", args=[customer.pk, "invoices_balance"]))

    # then
    def ours(queries: CaptureQueriesContext) -> list[str]:
        return [q["sql"] for q in queries.captured_queries if "backoffice_sync_" in q["sql"]]

    assert ours(page) == []
    assert 1 <= len(ours(panel)) <= 2


def test_marketing_sees_no_invoices_open_amounts_or_balances(
    marketer: Any, sales_rep: Any, agent: Any
) -> None:
    # given: a customer with invoices, an overdue amount and a payment
    customer = with_history(a_customer(), 2)
    marketing = client_for(marketer)
    # when
    view_360 = marketing.get(f"/api/v1/customers/{customer.pk}/360/")
    asked_for = marketing.get(f"/api/v1/customers/{customer.pk}/360/?panels=invoices_balance")
    panel_api = marketing.get(f"/api/v1/customers/{customer.pk}/panels/invoices_balance/")
    pages = Client()
    pages.force_login(marketer)
    panel_page = pages.get(f"/customers/{customer.pk}/panels/invoices_balance/")
    invoices_api = marketing.get("/api/v1/sync/invoices/")
    # then
    assert view_360.status_code == 200
    assert "invoices_balance" not in [p["key"] for p in view_360.json()["panels"]]
    assert asked_for.status_code in (400, 403)
    assert panel_api.status_code == 403
    assert panel_page.status_code == 403
    assert invoices_api.status_code in (403, 404)
    # while those who talk to customers about money still see them
    for user in (sales_rep, agent):
        keys = [
            p["key"] for p in client_for(user).get(f"/api/v1/customers/{customer.pk}/360/").json()["panels"]
        ]
        assert "invoices_balance" in keys
