"""The contracts of the ERP boundary (`backoffice_sync.contracts`) hold at both ends: what
the front office builds for the ERP, and what the ERP (the simulator) publishes."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

import pytest

from backoffice_sync import contracts
from backoffice_sync.adapters.stub import StubAdapter
from backoffice_sync.contracts import EVENT_DATA, PAYLOADS, keys_of
from backoffice_sync.customer_sync import customer_payload
from backoffice_sync.erp import EventType, MessageKind
from backoffice_sync.simulator import engine
from customers.tests.factories import PersonFactory

pytestmark = pytest.mark.django_db

START = dt.datetime(2025, 3, 3, tzinfo=dt.UTC)


def order(ref: str, *lines: tuple[str, int]) -> contracts.OrderSubmit:
    return {
        "order_ref": ref,
        "customer_ref": "CUST-1",
        "erp_customer_number": None,
        "currency": "EUR",
        "requested_date": "2025-03-10",
        "lines": [
            {"line_no": no, "sku": sku, "quantity": quantity, "unit_price": "10.00"}
            for no, (sku, quantity) in enumerate(lines, start=1)
        ],
        "ship_to": None,
    }


def a_year_of_erp_life() -> dict[EventType, list[dict[str, Any]]]:
    """Every kind of event the ERP publishes: orders confirmed, shipped in parts,
    delivered, cancelled and rejected; invoices paid late and flagged overdue; a credit
    note; stock, products and customers changing."""
    erp = StubAdapter()
    erp.reset(seed=7, start=START)
    engine.customer_update(customer_ref="CUST-1", payment_terms_days=14, pays_late=True)
    erp.upsert_customer(
        idempotency_key="c-1",
        customer={
            "customer_ref": "CUST-1",
            "erp_customer_number": None,
            "name": "Acme",
            "email": None,
            "phone": None,
            "billing_address": None,
            "shipping_address": None,
        },
    )
    erp.push_order(idempotency_key="o-1", order=order("ORD-1", ("FO-1001", 5), ("FO-1010", 400)))
    erp.push_order(idempotency_key="o-2", order=order("ORD-2", ("FO-1005", 1)))
    erp.push_order(idempotency_key="o-3", order=order("ORD-3", ("FO-1002", 1)))
    engine.product_update(sku="FO-1002", active=False)  # discontinued before ORD-3 is confirmed
    erp.cancel_order(idempotency_key="x-2", order_ref="ORD-2", reason="changed mind")
    erp.tick(24 * 10)
    invoice = next(e for e in erp.pull_changes(cursor=None, limit=1000).events if e.type == "invoice.issued")
    erp.issue_credit_note(
        idempotency_key="cn-1",
        credit={
            "credit_ref": "CR-1",
            "customer_ref": "CUST-1",
            "invoice_number": invoice.data["number"],
            "amount": "5.00",
            "currency": "EUR",
            "reason": "dented",
        },
    )
    erp.tick(24 * 120)
    published: dict[EventType, list[dict[str, Any]]] = defaultdict(list)
    cursor = None
    while True:
        batch = erp.pull_changes(cursor=cursor, limit=1000)
        for event in batch.events:
            published[event.type].append(event.data)
        cursor = batch.cursor
        if not batch.has_more:
            return published


def test_every_message_kind_and_event_type_has_one_contract() -> None:
    # then
    assert set(PAYLOADS) == set(MessageKind)
    assert set(EVENT_DATA) == set(EventType)


def test_every_event_the_erp_publishes_carries_exactly_its_contracts_keys() -> None:
    # when
    published = a_year_of_erp_life()

    # then
    assert set(published) == set(EventType)
    for type_, datas in published.items():
        required, allowed = keys_of(EVENT_DATA[type_])
        for data in datas:
            assert required <= set(data) <= allowed, (type_, sorted(set(data) ^ required))
    line_keys = keys_of(contracts.OrderEventLine)[1]
    shipped_keys = keys_of(contracts.ShippedLine)[1]
    for data in published[EventType.ORDER_SHIPPED] + published[EventType.ORDER_PARTIALLY_SHIPPED]:
        assert all(set(line) == line_keys for line in data["lines"])
        assert all(set(line) == shipped_keys for line in data["shipped_lines"])
    incoming_keys = keys_of(contracts.IncomingData)[1]
    assert any(data["incoming"] for data in published[EventType.STOCK_CHANGED])
    for data in published[EventType.STOCK_CHANGED]:
        assert all(set(item) == incoming_keys for item in data["incoming"])


def test_the_customer_upsert_the_front_office_builds_is_its_contract() -> None:
    # given
    customer = PersonFactory()

    # when
    payload = customer_payload(customer)

    # then
    assert set(payload) == keys_of(contracts.CustomerUpsert)[1]
