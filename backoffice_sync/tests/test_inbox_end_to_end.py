"""End to end with the real `stub` adapter (the simulator in process): an order placed
with the ERP, sixty simulated days, and polling brings the mirrors to the same state
whether the ERP delivers cleanly or duplicates and shuffles its events."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

from backoffice_sync import inbox, tasks
from backoffice_sync.adapters.stub import StubAdapter
from backoffice_sync.models import ErpOrder, InboxEvent, InboxStatus, Invoice, Payment, Product, StockLevel
from backoffice_sync.simulator import engine, faults
from backoffice_sync.simulator.models import SimEvent
from backoffice_sync.tests.inbox_helpers import a_customer
from customers.models import Activity

pytestmark = pytest.mark.django_db

START = dt.datetime(2025, 3, 3, tzinfo=dt.UTC)


@pytest.fixture
def erp(monkeypatch: pytest.MonkeyPatch) -> StubAdapter:
    adapter = StubAdapter()
    adapter.reset(seed=7, start=START)
    monkeypatch.setattr(inbox, "get_adapter", lambda: adapter)
    return adapter


def an_order_lived_through(erp: StubAdapter, customer_ref: str) -> None:
    engine.stock_set(sku="FO-1001", warehouse="AMS", on_hand=50)
    engine.customer_update(customer_ref=customer_ref, payment_terms_days=30, pays_late=True)
    erp.push_order(
        idempotency_key="order-1",
        order={
            "order_ref": "FO-12",
            "customer_ref": customer_ref,
            "currency": "EUR",
            "requested_date": None,
            "lines": [{"line_no": 1, "sku": "FO-1001", "quantity": 3, "unit_price": "12.50"}],
            "ship_to": None,
        },
    )
    erp.tick(24 * 75)


@pytest.mark.parametrize(
    "knobs", [{}, {"duplicate_rate": 0.5, "reorder_rate": 1.0}], ids=["clean", "scrambled"]
)
def test_polling_the_simulator_mirrors_its_orders_invoices_payments_and_stock(
    erp: StubAdapter, knobs: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    # given
    customer = a_customer()
    an_order_lived_through(erp, str(customer.pk))
    faults.set(**knobs)
    monkeypatch.setattr(inbox, "PULL_PAGE_SIZE", 25)

    # when: one beat (the task re-enqueues itself, eagerly here, while more remains)
    tasks.poll_erp.delay()

    # then: every event stored once, none rejected or left waiting
    assert InboxEvent.objects.count() == SimEvent.objects.count()
    assert not InboxEvent.objects.filter(status__in=[InboxStatus.REJECTED, InboxStatus.RECEIVED]).exists()
    order = ErpOrder.objects.get()
    assert (order.customer_id, order.status) == (customer.pk, "delivered")
    assert order.shipments.get().lines.get().quantity == 3
    invoice = Invoice.objects.get()
    assert (invoice.status, invoice.amount, invoice.amount_paid) == (
        "paid",
        Decimal("37.50"),
        Decimal("37.50"),
    )
    assert Payment.objects.get().invoice_id == invoice.pk
    assert customer.erp_balances.get().open_amount == Decimal("0.00")
    customer.refresh_from_db()
    assert customer.erp_customer_number
    assert Product.objects.count() == len(
        {e.data["sku"] for e in SimEvent.objects.filter(type="product.changed")}
    )
    ams = StockLevel.objects.get(product__sku="FO-1001", warehouse="AMS")
    (erp_ams,) = [level for level in erp.stock(["FO-1001"]) if level.warehouse == "AMS"]
    assert (ams.on_hand, ams.reserved, ams.erp_version) == (
        erp_ams.on_hand,
        erp_ams.reserved,
        erp_ams.version,
    )
    kinds = set(
        Activity.objects.filter(customer=customer, source_app="backoffice_sync").values_list(
            "kind", flat=True
        )
    )
    assert {"erp_order", "shipment", "invoice", "payment"} <= kinds
