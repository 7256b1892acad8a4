"""Every fact the mirrors hold converges to the ERP's truth whatever order its events
arrive in (reordered webhooks, a poll overtaking a webhook): for every ordered pair of a
realistic history's events delivered first, then the rest in order, the final mirror
equals the mirror of the history delivered in order."""

from __future__ import annotations

import datetime as dt
import itertools
import random
from typing import Any

import pytest
from django.db import transaction

from backoffice_sync.erp import ErpEvent, EventType
from backoffice_sync.inbox import inbox_apply_or_defer, inbox_apply_pending, inbox_receive
from backoffice_sync.models import (
    CreditNote,
    CustomerBalance,
    ErpOrder,
    InboxVia,
    Invoice,
    Payment,
)
from backoffice_sync.tests.inbox_helpers import a_customer, erp_event
from customers.models import Customer

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2027, 2, 10, 9, 0, tzinfo=dt.UTC)


def _order(
    customer: Customer, type_: EventType, version: int, ref: str, shipped: tuple[int, int], **extra: Any
) -> ErpEvent:
    data = {
        "order_ref": ref,
        "erp_order_number": f"SO-{ref}",
        "customer_ref": str(customer.pk),
        "status": type_.value.split(".", 1)[1],
        "currency": "EUR",
        "lines": [
            {"sku": "SKU-1", "quantity": 2, "shipped": shipped[0], "unit_price": "30.00"},
            {"sku": "SKU-2", "quantity": 1, "shipped": shipped[1], "unit_price": "40.00"},
        ],
        **extra,
    }
    return erp_event(type_, f"order:{ref}", version, data, id=f"order:{ref}@{version}", occurred_at=T0)


def _invoice_fact(customer: Customer, type_: EventType, version: int, data: dict[str, Any]) -> ErpEvent:
    number = data.get("invoice_number") or data["number"]
    data = {"customer_ref": str(customer.pk), **data}
    return erp_event(type_, f"invoice:{number}", version, data, id=f"invoice:{number}@{version}")


def history(customer: Customer) -> dict[str, ErpEvent]:
    """One customer's ERP history, in the order the ERP published it (the simulator's
    shapes and aggregates): an order shipped in two parcels and delivered, an order
    cancelled, an invoice flagged overdue, credited and paid, a second invoice open."""
    events = {
        "confirmed": _order(customer, EventType.ORDER_CONFIRMED, 1, "FO-1", (0, 0)),
        "partially_shipped": _order(
            customer,
            EventType.ORDER_PARTIALLY_SHIPPED,
            2,
            "FO-1",
            (2, 0),
            shipment_number="SH-1",
            carrier="DHL",
            tracking_number="DHL1",
            shipped_on="2027-02-15",
            shipped_lines=[{"line_no": 1, "sku": "SKU-1", "quantity": 2}],
        ),
        "shipped": _order(
            customer,
            EventType.ORDER_SHIPPED,
            3,
            "FO-1",
            (2, 1),
            shipment_number="SH-2",
            carrier="UPS",
            tracking_number="UPS2",
            shipped_on="2027-02-17",
            shipped_lines=[{"line_no": 2, "sku": "SKU-2", "quantity": 1}],
        ),
        "delivered": _order(
            customer, EventType.ORDER_DELIVERED, 4, "FO-1", (2, 1), delivered_on="2027-02-19"
        ),
        "other_confirmed": _order(customer, EventType.ORDER_CONFIRMED, 1, "FO-2", (0, 0)),
        "cancelled": _order(customer, EventType.ORDER_CANCELLED, 2, "FO-2", (0, 0), reason="changed mind"),
        "invoiced": _invoice_fact(
            customer,
            EventType.INVOICE_ISSUED,
            1,
            {
                "number": "INV-1",
                "order_ref": "FO-1",
                "amount": "100.00",
                "currency": "EUR",
                "issued_on": "2027-02-15",
                "due_on": "2027-02-20",
            },
        ),
        "overdue": _invoice_fact(
            customer, EventType.PAYMENT_OVERDUE, 2, {"invoice_number": "INV-1", "amount_due": "100.00"}
        ),
        "credited": erp_event(
            EventType.CREDIT_NOTE_ISSUED,
            "credit_note:CN-1",
            1,
            {
                "number": "CN-1",
                "credit_ref": "CR-1",
                "invoice_number": "INV-1",
                "customer_ref": str(customer.pk),
                "amount": "10.00",
                "currency": "EUR",
                "issued_on": "2027-02-22",
            },
            id="credit_note:CN-1@1",
        ),
        "paid": _invoice_fact(
            customer,
            EventType.PAYMENT_RECEIVED,
            3,
            {
                "payment_ref": "PAY-1",
                "invoice_number": "INV-1",
                "amount": "90.00",
                "currency": "EUR",
                "received_on": "2027-02-25",
            },
        ),
        "invoiced_again": _invoice_fact(
            customer,
            EventType.INVOICE_ISSUED,
            1,
            {
                "number": "INV-2",
                "order_ref": "FO-1",
                "amount": "40.00",
                "currency": "EUR",
                "issued_on": "2027-02-17",
                "due_on": "2027-03-19",
            },
        ),
    }
    # The ERP's clock moves on with each event.
    return {
        name: ErpEvent(e.id, e.type, e.aggregate, e.version, T0 + dt.timedelta(hours=n), e.data)
        for n, (name, e) in enumerate(events.items())
    }


NAMES = [
    "confirmed",
    "partially_shipped",
    "shipped",
    "delivered",
    "other_confirmed",
    "cancelled",
    "invoiced",
    "overdue",
    "credited",
    "paid",
    "invoiced_again",
]


def deliver(events: list[ErpEvent]) -> None:
    for event in events:
        row, _ = inbox_receive(event=event, via=InboxVia.WEBHOOK)
        inbox_apply_or_defer(inbox_event_id=row.pk)
    inbox_apply_pending()  # what waited for another event (an overdue notice for its invoice)


def mirror(customer: Customer) -> dict[str, Any]:
    """Every fact the mirrors hold for the customer (not the bookkeeping of versions)."""
    orders = {}
    for order in ErpOrder.objects.filter(customer=customer).prefetch_related(
        "lines", "shipments__lines", "status_history"
    ):
        orders[order.order_ref] = {
            "status": order.status,
            "number": order.erp_order_number,
            "currency": order.currency,
            "delivered_on": order.delivered_on,
            "lines": [(x.sku, x.quantity, x.shipped, x.unit_price) for x in order.lines.all()],
            "history": sorted((h.erp_version, h.status) for h in order.status_history.all()),
            "shipments": sorted(
                (
                    s.number,
                    s.carrier,
                    s.tracking_number,
                    s.shipped_on,
                    s.delivered_on,
                    tuple((x.sku, x.quantity) for x in s.lines.all()),
                )
                for s in order.shipments.all()
            ),
        }
    invoices = {
        i.number: (i.amount, i.status, i.amount_paid, i.amount_credited, i.issued_on, i.due_on, i.amount_open)
        for i in Invoice.objects.filter(customer=customer)
    }
    payments = {
        p.reference: (p.invoice.number if p.invoice else None, p.amount, p.received_on)
        for p in Payment.objects.filter(customer=customer).select_related("invoice")
    }
    notes = {
        n.number: (n.invoice.number if n.invoice else None, n.amount)
        for n in CreditNote.objects.filter(customer=customer).select_related("invoice")
    }
    balances = sorted(
        (b.currency, b.open_amount, b.overdue_amount, b.open_invoices)
        for b in CustomerBalance.objects.filter(customer=customer)
    )
    return {
        "orders": orders,
        "invoices": invoices,
        "payments": payments,
        "notes": notes,
        "balances": balances,
    }


@pytest.fixture
def in_order() -> dict[str, Any]:
    """The mirror after the history arrived in order, in a savepoint rolled back after
    (the same refs, ids and versions then arrive again, reordered)."""
    with transaction.atomic():
        customer = a_customer("InOrder")
        deliver(list(history(customer).values()))
        result = mirror(customer)
        transaction.set_rollback(True)
    return result


def test_in_order_the_mirror_holds_the_erps_facts(in_order) -> None:
    order = in_order["orders"]["FO-1"]
    assert order["status"] == "delivered"
    assert order["delivered_on"] == dt.date(2027, 2, 19)
    assert [(s[0], s[3], s[4]) for s in order["shipments"]] == [
        ("SH-1", dt.date(2027, 2, 15), dt.date(2027, 2, 19)),
        ("SH-2", dt.date(2027, 2, 17), dt.date(2027, 2, 19)),
    ]
    assert in_order["orders"]["FO-2"]["status"] == "cancelled"
    assert in_order["invoices"]["INV-1"][1] == "paid"
    assert in_order["balances"][0][1:] == (40, 0, 1)


@pytest.mark.slow
@pytest.mark.parametrize(("first", "second"), list(itertools.permutations(NAMES, 2)))
def test_any_two_events_overtaking_the_rest_leave_the_mirror_as_in_order(in_order, first, second) -> None:
    # given: a customer whose ERP history is the same as the one delivered in order
    customer = a_customer("Reordered")
    events = history(customer)
    # when: `first` arrives, then `second`, then the rest in the ERP's order
    rest = [e for name, e in events.items() if name not in (first, second)]
    deliver([events[first], events[second], *rest])
    # then
    assert mirror(customer) == in_order


@pytest.mark.parametrize("seed", [None, 1, 2, 3, 4, 5])
def test_the_whole_history_in_any_order_leaves_the_mirror_as_in_order(in_order, seed) -> None:
    customer = a_customer("Shuffled")
    events = list(history(customer).values())
    if seed is None:
        events.reverse()
    else:
        random.Random(seed).shuffle(events)
    deliver(events)
    assert mirror(customer) == in_order
