"""The ERP simulator's engine over time (shipping, invoicing, payments, restocking), its
fault knobs, its webhooks and its admin. The adapter contract is in
test_adapter_contract.py; these go through the engine (the stub adapter's path)."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import import_module
from typing import Any

import pytest
from django.apps import apps as django_apps
from django.urls import reverse
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from backoffice_sync import atp
from backoffice_sync.adapters.stub import StubAdapter
from backoffice_sync.erp import (
    DeliveryStatus,
    ErpEvent,
    ErpUnavailable,
    EventType,
    MessageKind,
    OutboundMessage,
)
from backoffice_sync.inbox import pull_changes_once
from backoffice_sync.management.commands.run_erp_simulator import start_simulator
from backoffice_sync.simulator import engine, faults
from backoffice_sync.simulator.engine.clock import supplier_slip
from backoffice_sync.simulator.models import SimFaults, SimOrder, SimProduct, SimReservation
from backoffice_sync.simulator.webhooks import WebhookSender, signed_request

pytestmark = pytest.mark.django_db

START = dt.datetime(2025, 3, 3, tzinfo=dt.UTC)
# The ERP confirms an order at its next step and ships it ERP_DISPATCH_DAYS (1 by
# default) after the day it received it: half a day in, it is confirmed and not shipped.
UNTIL_CONFIRMED = 12
SECRET = "whsec_" + "dGVzdC1zZWNyZXQtZm9yLXRoZS1lcnAtc2ltdWxhdG9yIQ=="


@pytest.fixture
def erp() -> StubAdapter:
    adapter = StubAdapter()
    adapter.reset(seed=7, start=START)
    return adapter


def order(
    ref: str, *lines: tuple[str, int], customer_ref: str = "CUST-1", price: str = "10.00"
) -> dict[str, Any]:
    return {
        "order_ref": ref,
        "customer_ref": customer_ref,
        "currency": "EUR",
        "requested_date": None,
        "lines": [
            {"line_no": no, "sku": sku, "quantity": quantity, "unit_price": price}
            for no, (sku, quantity) in enumerate(lines, start=1)
        ],
        "ship_to": None,
    }


def stocked(sku: str, quantity: int) -> None:
    """Exactly `quantity` of this SKU, all in AMS, nothing on its way."""
    for warehouse in ("AMS", "LYS", "MUC"):
        engine.stock_set(sku=sku, warehouse=warehouse, on_hand=quantity if warehouse == "AMS" else 0)


def changes(erp: StubAdapter, **match: Any) -> list[ErpEvent]:
    """Every event so far, filtered by type and/or aggregate."""
    events: list[ErpEvent] = []
    cursor = None
    while True:
        batch = erp.pull_changes(cursor=cursor, limit=1000)
        events.extend(batch.events)
        cursor = batch.cursor
        if not batch.has_more:
            break
    return [e for e in events if all(getattr(e, name) == value for name, value in match.items())]


# --- Orders over time -------------------------------------------------------------


def test_an_order_in_stock_ships_the_dispatch_days_after_it_arrived_and_is_invoiced_on_shipment(
    erp: StubAdapter, settings: Any
) -> None:
    # given FO-1001 (lead time 5 days) in stock, a customer on 30-day terms, and an ERP
    # that dispatches three days after receiving an order (the lead time plays no part)
    settings.ERP_DISPATCH_DAYS = 3
    stocked("FO-1001", 50)
    engine.customer_update(customer_ref="CUST-1", payment_terms_days=30, pays_late=False)
    erp.push_order(idempotency_key="k", order=order("ORD-1", ("FO-1001", 3), price="12.50"))
    ship_at = START + dt.timedelta(days=settings.ERP_DISPATCH_DAYS)

    # when
    erp.tick(24)  # confirmed at START + 1 day
    erp.tick((ship_at - erp.clock()).total_seconds() / 3600 - 1)
    shipped_early = changes(erp, type=EventType.ORDER_SHIPPED)
    erp.tick(1)

    # then
    assert shipped_early == []
    (shipped,) = changes(erp, type=EventType.ORDER_SHIPPED)
    assert shipped.occurred_at == ship_at
    assert shipped.data["shipment_number"].startswith("SH-")
    assert shipped.data["carrier"] in engine.CARRIERS
    assert shipped.data["tracking_number"].startswith(shipped.data["carrier"])
    assert shipped.data["shipped_lines"] == [{"line_no": 1, "sku": "FO-1001", "quantity": 3}]
    assert shipped.data["lines"][0]["shipped"] == 3
    (invoice,) = changes(erp, type=EventType.INVOICE_ISSUED)
    assert invoice.data == {
        "number": invoice.aggregate.removeprefix("invoice:"),
        "order_ref": "ORD-1",
        "erp_order_number": shipped.data["erp_order_number"],
        "shipment_number": shipped.data["shipment_number"],
        "customer_ref": "CUST-1",
        "amount": "37.50",
        "currency": "EUR",
        "issued_on": ship_at.date().isoformat(),
        "due_on": (ship_at.date() + dt.timedelta(days=30)).isoformat(),
    }
    (ams,) = [level for level in erp.stock(["FO-1001"]) if level.warehouse == "AMS"]
    assert (ams.on_hand, ams.reserved) == (47, 0)


@pytest.mark.parametrize(("dispatch", "transit"), [(0, 0), (2, 5)])
def test_an_order_in_stock_is_delivered_the_transit_days_after_it_shipped(
    erp: StubAdapter, settings: Any, dispatch: int, transit: int
) -> None:
    # given an ERP that ships `dispatch` days after receiving an order, and whose carriers
    # take `transit` days; an order in stock received at START
    settings.ERP_DISPATCH_DAYS, settings.ERP_TRANSIT_DAYS = dispatch, transit
    stocked("FO-1001", 50)
    erp.push_order(idempotency_key="k", order=order("ORD-T", ("FO-1001", 1)))

    # when
    erp.tick(24 * (dispatch + transit + 2))

    # then: shipped on the dispatch day (the ERP confirms at its next step, so never
    # before START + 1 day), delivered the transit days after
    (shipped,) = changes(erp, aggregate="order:ORD-T", type=EventType.ORDER_SHIPPED)
    (delivered,) = changes(erp, aggregate="order:ORD-T", type=EventType.ORDER_DELIVERED)
    ship_at = START + dt.timedelta(days=max(dispatch, 1))
    assert shipped.occurred_at == ship_at
    assert delivered.data["delivered_on"] == (ship_at + dt.timedelta(days=transit)).date().isoformat()


def test_an_order_short_of_stock_ships_in_part_then_in_full_after_restocking(erp: StubAdapter) -> None:
    # given only 4 of the 10 ordered units anywhere
    stocked("FO-1001", 4)
    erp.push_order(idempotency_key="k", order=order("ORD-P", ("FO-1001", 10)))

    # when
    erp.tick(24 * 20)

    # then
    shipments = changes(erp, aggregate="order:ORD-P", type=EventType.ORDER_PARTIALLY_SHIPPED) + changes(
        erp, aggregate="order:ORD-P", type=EventType.ORDER_SHIPPED
    )
    assert [(e.type, e.data["shipped_lines"][0]["quantity"]) for e in shipments] == [
        (EventType.ORDER_PARTIALLY_SHIPPED, 4),
        (EventType.ORDER_SHIPPED, 6),
    ]
    assert shipments[0].data["status"] == "partially_shipped"
    invoices = changes(erp, type=EventType.INVOICE_ISSUED)
    assert [i.data["amount"] for i in invoices] == ["40.00", "60.00"]


def stocked_in(sku: str, **on_hand: int) -> None:
    """Exactly these quantities per warehouse (none elsewhere), nothing on its way, no reordering."""
    engine.product_update(sku=sku, reorder_point=0)
    for warehouse in ("AMS", "LYS", "MUC"):
        engine.stock_set(sku=sku, warehouse=warehouse, on_hand=on_hand.get(warehouse, 0))


def levels(erp: StubAdapter, sku: str) -> dict[str, tuple[int, int]]:
    return {level.warehouse: (level.on_hand, level.reserved) for level in erp.stock([sku])}


def reservations(order_ref: str) -> list[tuple[int, str, int]]:
    return list(
        SimReservation.objects.filter(line__order__order_ref=order_ref)
        .order_by("line__line_no", "stock__warehouse")
        .values_list("line__line_no", "stock__warehouse", "quantity")
    )


def test_a_line_no_single_warehouse_can_fill_is_reserved_across_warehouses_and_ships_complete(
    erp: StubAdapter,
) -> None:
    # given 3 of FO-1001 (lead time 5 days) in AMS and 3 in LYS, and an order of 5
    stocked_in("FO-1001", AMS=3, LYS=3)
    erp.push_order(idempotency_key="k", order=order("ORD-S", ("FO-1001", 5)))

    # when
    erp.tick(UNTIL_CONFIRMED)
    confirmed_levels, confirmed_reservations = levels(erp, "FO-1001"), reservations("ORD-S")
    erp.tick(24 * 5)

    # then: reserved where it was free, most free first (AMS wins the tie), shipped in one go
    assert confirmed_reservations == [(1, "AMS", 3), (1, "LYS", 2)]
    assert confirmed_levels == {"AMS": (3, 3), "LYS": (3, 2), "MUC": (0, 0)}
    (confirmed,) = changes(erp, aggregate="order:ORD-S", type=EventType.ORDER_CONFIRMED)
    assert [(line["warehouse"], line["reserved"]) for line in confirmed.data["lines"]] == [("AMS", 5)]
    shipped = changes(erp, aggregate="order:ORD-S", type=EventType.ORDER_SHIPPED)
    assert [e.data["shipped_lines"] for e in shipped] == [[{"line_no": 1, "sku": "FO-1001", "quantity": 5}]]
    assert changes(erp, aggregate="order:ORD-S", type=EventType.ORDER_PARTIALLY_SHIPPED) == []
    assert levels(erp, "FO-1001") == {"AMS": (0, 0), "LYS": (1, 0), "MUC": (0, 0)}
    assert reservations("ORD-S") == []


def test_a_line_one_warehouse_can_fill_stays_in_that_warehouse(erp: StubAdapter) -> None:
    # given
    stocked_in("FO-1001", AMS=3, LYS=6, MUC=5)
    erp.push_order(idempotency_key="k", order=order("ORD-1", ("FO-1001", 5)))

    # when
    erp.tick(UNTIL_CONFIRMED)

    # then
    assert reservations("ORD-1") == [(1, "LYS", 5)]


def test_cancelling_a_line_reserved_in_two_warehouses_frees_both(erp: StubAdapter) -> None:
    # given
    stocked_in("FO-1001", AMS=3, MUC=4)
    erp.push_order(idempotency_key="k", order=order("ORD-C", ("FO-1001", 6)))
    erp.tick(UNTIL_CONFIRMED)
    assert levels(erp, "FO-1001") == {"AMS": (3, 2), "LYS": (0, 0), "MUC": (4, 4)}

    # when
    result = erp.cancel_order(idempotency_key="c", order_ref="ORD-C")

    # then
    assert result.status == DeliveryStatus.ACCEPTED
    assert levels(erp, "FO-1001") == {"AMS": (3, 0), "LYS": (0, 0), "MUC": (4, 0)}
    assert reservations("ORD-C") == []


def test_a_backorder_takes_stock_that_arrives_in_another_warehouse_and_ships_it_after_dispatch(
    erp: StubAdapter, settings: Any
) -> None:
    # given 2 of the 5 ordered in AMS, and 10 due in MUC on day 3
    arrives_on = (START + dt.timedelta(days=3)).date()
    stocked_in("FO-1001", AMS=2)
    engine.stock_set(sku="FO-1001", warehouse="MUC", on_hand=0, incoming=[(10, arrives_on)])
    erp.push_order(idempotency_key="k", order=order("ORD-B", ("FO-1001", 5)))
    erp.tick(UNTIL_CONFIRMED)
    assert reservations("ORD-B") == [(1, "AMS", 2)]

    # when
    erp.tick(24 * 3)

    # then: what was in stock left after the dispatch days; the rest is drawn from MUC
    # once it arrives, and leaves the dispatch days after that
    assert reservations("ORD-B") == [(1, "MUC", 3)]
    erp.tick(24 * (settings.ERP_DISPATCH_DAYS + 1))
    shipments = changes(erp, aggregate="order:ORD-B", type=EventType.ORDER_PARTIALLY_SHIPPED) + changes(
        erp, aggregate="order:ORD-B", type=EventType.ORDER_SHIPPED
    )
    dispatch = dt.timedelta(days=settings.ERP_DISPATCH_DAYS)
    assert [(e.occurred_at.date(), e.data["shipped_lines"][0]["quantity"]) for e in shipments] == [
        (START.date() + dispatch, 2),
        (arrives_on + dispatch, 3),
    ]
    assert levels(erp, "FO-1001") == {"AMS": (0, 0), "LYS": (0, 0), "MUC": (7, 0)}


def test_the_migration_gives_lines_reserved_before_reservation_rows_one_in_their_warehouse(
    erp: StubAdapter,
) -> None:
    # given: a confirmed order whose line holds 4 in LYS, as kept before reservations had rows
    stocked_in("FO-1001", LYS=9)
    erp.push_order(idempotency_key="k", order=order("ORD-M", ("FO-1001", 4)))
    erp.tick(UNTIL_CONFIRMED)
    SimReservation.objects.all().delete()
    create_reservations = import_module(
        "backoffice_sync.simulator.migrations.0003_reservations_of_existing_lines"
    ).create_reservations

    # when
    create_reservations(django_apps, None)
    create_reservations(django_apps, None)

    # then: once, and the order ships from it
    assert reservations("ORD-M") == [(1, "LYS", 4)]
    erp.tick(24 * 5)
    assert levels(erp, "FO-1001") == {"AMS": (0, 0), "LYS": (5, 0), "MUC": (0, 0)}


def test_low_stock_is_replenished_after_the_lead_time_and_a_supplier_delay(erp: StubAdapter) -> None:
    # given nothing left of FO-1009 (lead time 3 days) in AMS
    stocked("FO-1009", 0)

    # when
    erp.tick(24)
    scheduled = {level.warehouse: level for level in erp.stock(["FO-1009"])}
    (incoming,) = scheduled["AMS"].incoming
    erp.tick(24 * (incoming.expected_on - erp.clock().date()).days - 1)
    not_yet = {level.warehouse: level for level in erp.stock(["FO-1009"])}
    erp.tick(1)
    arrived = {level.warehouse: level for level in erp.stock(["FO-1009"])}

    # then
    ordered_on = (START + dt.timedelta(days=1)).date()
    assert (
        ordered_on + dt.timedelta(days=3 + 2) <= incoming.expected_on <= ordered_on + dt.timedelta(days=3 + 7)
    )
    assert incoming.quantity >= 10
    assert not_yet["AMS"].on_hand == 0
    assert arrived["AMS"].on_hand == incoming.quantity
    assert arrived["AMS"].incoming == ()
    last = changes(erp, aggregate="stock:FO-1009:AMS")[-1]
    assert last.data == {
        "sku": "FO-1009",
        "warehouse": "AMS",
        "on_hand": incoming.quantity,
        "reserved": 0,
        "incoming": [],
    }


def slipping_seed(*, sku: str, warehouse: str, due_on: dt.date, quantity: int) -> tuple[int, int]:
    """The first seed whose dice make this purchase slip on its due day, and not again on
    its new one; and by how many days."""
    for seed in range(1, 1000):
        late = supplier_slip(seed, sku=sku, warehouse=warehouse, due_on=due_on, quantity=quantity)
        again = late and supplier_slip(
            seed, sku=sku, warehouse=warehouse, due_on=due_on + dt.timedelta(days=late), quantity=quantity
        )
        if late and not again:
            return seed, late
    raise AssertionError("no seed in a thousand slips this purchase")


def test_a_purchase_whose_supplier_slips_arrives_days_later_and_the_backorder_ships_past_its_promise(
    erp: StubAdapter, settings: Any
) -> None:
    # given: an ERP whose dice make MUC's 10 of FO-1001 due on day 3 slip; 2 of FO-1001
    # in AMS, and the front office's available-to-promise, which promises 5 for the day
    # the purchase is due (plus dispatch and transit)
    arrives_on = (START + dt.timedelta(days=3)).date()
    seed, late = slipping_seed(sku="FO-1001", warehouse="MUC", due_on=arrives_on, quantity=10)
    erp.reset(seed=seed, start=START)
    stocked_in("FO-1001", AMS=2)
    engine.stock_set(sku="FO-1001", warehouse="MUC", on_hand=0, incoming=[(10, arrives_on)])
    while pull_changes_once().has_more:
        pass
    promised = atp.promise(sku="FO-1001", quantity=5, today=START.date())
    assert (promised.source, promised.earliest_on) == (
        "incoming",
        arrives_on + dt.timedelta(days=settings.ERP_DISPATCH_DAYS + settings.ERP_TRANSIT_DAYS),
    )
    erp.push_order(idempotency_key="k", order=order("ORD-L", ("FO-1001", 5)))

    # when: the ERP works until everything has arrived and been delivered
    erp.tick(24 * (3 + late + settings.ERP_DISPATCH_DAYS + settings.ERP_TRANSIT_DAYS + 1))

    # then: on its due day the purchase was put back by the slip, published as stock.changed
    muc = changes(erp, aggregate="stock:FO-1001:MUC")
    on_the_due_day = [e for e in muc if e.occurred_at.date() == arrives_on]
    assert [(e.data["on_hand"], e.data["incoming"]) for e in on_the_due_day] == [
        (0, [{"quantity": 10, "expected_on": (arrives_on + dt.timedelta(days=late)).isoformat()}])
    ]
    assert 3 <= late <= 8
    # ... so the backorder shipped the rest the dispatch days after the late arrival, and
    # was delivered after the date promised
    shipments = changes(erp, aggregate="order:ORD-L", type=EventType.ORDER_PARTIALLY_SHIPPED) + changes(
        erp, aggregate="order:ORD-L", type=EventType.ORDER_SHIPPED
    )
    dispatch = dt.timedelta(days=settings.ERP_DISPATCH_DAYS)
    assert [(e.occurred_at.date(), e.data["shipped_lines"][0]["quantity"]) for e in shipments] == [
        (START.date() + dispatch, 2),
        (arrives_on + dt.timedelta(days=late) + dispatch, 3),
    ]
    (delivered,) = changes(erp, aggregate="order:ORD-L", type=EventType.ORDER_DELIVERED)
    assert dt.date.fromisoformat(delivered.data["delivered_on"]) > promised.earliest_on


SKUS = [f"FO-{n}" for n in range(1001, 1041)]


def purchases_due_on_day_two(
    erp: StubAdapter, seed: int
) -> tuple[list[tuple[str, dt.datetime, dict[str, Any]]], dict[str, tuple[int, list[tuple[int, dt.date]]]]]:
    """Every product with 100 in AMS and 10 more due there on day 2, worked to day 3: the
    ERP's events, and AMS's stock per SKU (on hand, incoming)."""
    erp.reset(seed=seed, start=START)
    for sku in SKUS:
        engine.stock_set(
            sku=sku, warehouse="AMS", on_hand=100, incoming=[(10, (START + dt.timedelta(days=2)).date())]
        )
    erp.tick(24 * 3)
    events = [(e.id, e.occurred_at, e.data) for e in changes(erp)]
    ams = {
        level.sku: (level.on_hand, [(i.quantity, i.expected_on) for i in level.incoming])
        for level in erp.stock(SKUS)
        if level.warehouse == "AMS"
    }
    return events, ams


def test_the_same_seed_slips_the_same_purchases_and_most_arrive_on_time(erp: StubAdapter) -> None:
    # when: the same 40 purchases, twice with one seed
    first_events, first = purchases_due_on_day_two(erp, 5)
    second_events, second = purchases_due_on_day_two(erp, 5)

    # then: the same events and stock
    assert first_events == second_events
    assert first == second
    # ... where most purchases arrived on their day and a few slipped by 3 to 8 days
    due_on = (START + dt.timedelta(days=2)).date()
    arrived = [sku for sku, (on_hand, incoming) in first.items() if (on_hand, incoming) == (110, [])]
    slipped = {sku: incoming for sku, (on_hand, incoming) in first.items() if on_hand == 100}
    assert sorted([*arrived, *slipped]) == SKUS
    assert 0 < len(slipped) < len(arrived)
    for ((quantity, expected_on),) in slipped.values():
        assert quantity == 10
        assert due_on + dt.timedelta(days=3) <= expected_on <= due_on + dt.timedelta(days=8)


def test_a_prompt_payer_pays_by_the_due_date_and_is_never_overdue(erp: StubAdapter) -> None:
    # given
    stocked("FO-1009", 20)
    engine.customer_update(customer_ref="CUST-1", payment_terms_days=14, pays_late=False)
    erp.push_order(idempotency_key="k", order=order("ORD-1", ("FO-1009", 2)))

    # when
    erp.tick(24 * 30)

    # then
    (invoice,) = changes(erp, type=EventType.INVOICE_ISSUED)
    (payment,) = changes(erp, type=EventType.PAYMENT_RECEIVED)
    assert payment.aggregate == invoice.aggregate
    assert payment.version == invoice.version + 1
    assert payment.data["invoice_number"] == invoice.data["number"]
    assert (payment.data["customer_ref"], payment.data["amount"], payment.data["currency"]) == (
        "CUST-1",
        "20.00",
        "EUR",
    )
    assert invoice.data["issued_on"] < payment.data["received_on"] <= invoice.data["due_on"]
    assert payment.data["payment_ref"].startswith("PAY-")
    assert changes(erp, type=EventType.PAYMENT_OVERDUE) == []


def test_a_late_payer_is_flagged_overdue_once_then_pays(erp: StubAdapter) -> None:
    # given
    stocked("FO-1009", 20)
    engine.customer_update(customer_ref="CUST-1", payment_terms_days=14, pays_late=True)
    erp.push_order(idempotency_key="k", order=order("ORD-1", ("FO-1009", 2)))

    # when
    erp.tick(24 * 60)

    # then
    (invoice,) = changes(erp, type=EventType.INVOICE_ISSUED)
    events = changes(erp, aggregate=invoice.aggregate)
    assert [e.type for e in events] == [
        EventType.INVOICE_ISSUED,
        EventType.PAYMENT_OVERDUE,
        EventType.PAYMENT_RECEIVED,
    ]
    overdue = events[1]
    assert overdue.data["invoice_number"] == invoice.data["number"]
    assert (overdue.data["customer_ref"], overdue.data["amount_due"]) == ("CUST-1", "20.00")
    assert overdue.occurred_at.date() == dt.date.fromisoformat(invoice.data["due_on"]) + dt.timedelta(days=1)
    assert events[2].data["received_on"] > invoice.data["due_on"]


def test_an_order_is_delivered_two_days_after_its_last_shipment(erp: StubAdapter) -> None:
    # given
    stocked("FO-1009", 20)
    erp.push_order(idempotency_key="k", order=order("ORD-1", ("FO-1009", 2)))

    # when
    erp.tick(24 * 10)

    # then
    types = [e.type for e in changes(erp, aggregate="order:ORD-1")]
    assert types == [EventType.ORDER_CONFIRMED, EventType.ORDER_SHIPPED, EventType.ORDER_DELIVERED]
    versions = [e.version for e in changes(erp, aggregate="order:ORD-1")]
    assert versions == sorted(versions)
    assert len(set(versions)) == 3


def test_an_order_for_a_product_discontinued_before_confirmation_is_rejected(erp: StubAdapter) -> None:
    # given
    erp.push_order(idempotency_key="k", order=order("ORD-1", ("FO-1001", 1)))
    engine.product_update(sku="FO-1001", active=False)

    # when
    erp.tick(24)

    # then
    (rejected,) = changes(erp, aggregate="order:ORD-1")
    assert (rejected.type, rejected.data["status"]) == (EventType.ORDER_REJECTED, "rejected")
    assert "FO-1001" in rejected.data["reason"]
    (product,) = changes(erp, aggregate="product:FO-1001", version=2)
    assert product.data["active"] is False


def test_an_order_for_an_unknown_customer_creates_a_minimal_erp_customer(erp: StubAdapter) -> None:
    # when
    erp.push_order(idempotency_key="k", order=order("ORD-1", ("FO-1001", 1), customer_ref="NEW-9"))

    # then
    (created,) = changes(erp, aggregate="customer:NEW-9")
    assert created.data["erp_customer_number"].startswith("C-")
    assert created.data["name"] == ""


def test_a_second_submit_of_the_same_order_ref_is_rejected(erp: StubAdapter) -> None:
    # given
    erp.push_order(idempotency_key="k-1", order=order("ORD-1", ("FO-1001", 1)))

    # when
    result = erp.push_order(idempotency_key="k-2", order=order("ORD-1", ("FO-1001", 1)))

    # then
    assert result.status == DeliveryStatus.REJECTED
    assert "already submitted" in result.error
    assert SimOrder.objects.count() == 1


# --- Customers, credit notes, forecasts --------------------------------------------


def test_a_customer_upsert_publishes_the_customer_once_per_change(erp: StubAdapter) -> None:
    # given
    customer = {"customer_ref": "CUST-7", "erp_customer_number": None, "name": "Acme", "email": "a@acme.test"}

    # when
    first = erp.upsert_customer(idempotency_key="u-1", customer=customer)
    same = erp.upsert_customer(idempotency_key="u-2", customer=customer)
    renamed = erp.upsert_customer(
        idempotency_key="u-3",
        customer={**customer, "name": "Acme Ltd", "erp_customer_number": first.data["erp_customer_number"]},
    )

    # then
    assert first.status == same.status == renamed.status == DeliveryStatus.ACCEPTED
    events = changes(erp, aggregate="customer:CUST-7")
    assert [(e.version, e.data["name"]) for e in events] == [(1, ""), (2, "Acme"), (3, "Acme Ltd")]
    assert events[-1].data["email"] == "a@acme.test"


def test_a_customer_upsert_with_someone_elses_erp_number_is_rejected(erp: StubAdapter) -> None:
    # given
    erp.upsert_customer(idempotency_key="u-1", customer={"customer_ref": "A", "name": "A"})
    other = erp.upsert_customer(idempotency_key="u-2", customer={"customer_ref": "B", "name": "B"})

    # when
    result = erp.upsert_customer(
        idempotency_key="u-3",
        customer={"customer_ref": "A", "name": "A", "erp_customer_number": other.data["erp_customer_number"]},
    )

    # then
    assert result.status == DeliveryStatus.REJECTED
    assert "not the number" in result.error


def test_a_credit_note_is_issued_against_an_invoice_and_reduces_what_is_paid(erp: StubAdapter) -> None:
    # given an invoice of 20.00
    stocked("FO-1009", 20)
    engine.customer_update(customer_ref="CUST-1", payment_terms_days=30, pays_late=False)
    erp.push_order(idempotency_key="k", order=order("ORD-1", ("FO-1009", 2)))
    erp.tick(24 * 5)
    (invoice,) = changes(erp, type=EventType.INVOICE_ISSUED)
    credit = {
        "credit_ref": "CR-1",
        "customer_ref": "CUST-1",
        "invoice_number": invoice.data["number"],
        "amount": "5.00",
        "currency": "EUR",
        "reason": "scratched",
    }

    # when
    result = erp.issue_credit_note(idempotency_key="c-1", credit=credit)
    too_much = erp.issue_credit_note(
        idempotency_key="c-2", credit={**credit, "credit_ref": "CR-2", "amount": "15.01"}
    )
    erp.tick(24 * 40)

    # then
    assert result.status == DeliveryStatus.ACCEPTED
    (issued,) = changes(erp, type=EventType.CREDIT_NOTE_ISSUED)
    assert issued.data["number"] == result.data["credit_note_number"]
    assert (issued.data["invoice_number"], issued.data["amount"], issued.data["reason"]) == (
        invoice.data["number"],
        "5.00",
        "scratched",
    )
    assert too_much.status == DeliveryStatus.REJECTED
    assert "exceed" in too_much.error
    (payment,) = changes(erp, type=EventType.PAYMENT_RECEIVED)
    assert payment.data["amount"] == "15.00"


def test_a_forecast_is_accepted_and_one_with_an_unknown_sku_rejected(erp: StubAdapter) -> None:
    # given
    forecast = {
        "forecast_ref": "F-2025",
        "currency": "EUR",
        "lines": [{"month": "2025-04", "sku": "FO-1001", "quantity": 10, "amount": "2456.50"}],
    }

    # when
    ok = erp.publish_forecast(idempotency_key="f-1", forecast=forecast)
    bad = erp.publish_forecast(
        idempotency_key="f-2", forecast={**forecast, "lines": [{**forecast["lines"][0], "sku": "NOPE"}]}
    )

    # then
    assert (ok.status, ok.data) == (DeliveryStatus.ACCEPTED, {"lines": 1})
    assert (bad.status, bad.error) == (DeliveryStatus.REJECTED, "unknown SKU NOPE")


def test_a_payload_that_is_not_an_object_is_rejected_not_raised(erp: StubAdapter) -> None:
    # when
    (result,) = erp.deliver([OutboundMessage("k", MessageKind.ORDER_SUBMIT, "order:1", ["not", "a", "dict"])])  # type: ignore[arg-type]

    # then
    assert (result.status, result.error) == (DeliveryStatus.REJECTED, "payload must be an object")


def test_a_rejected_message_changes_nothing_and_leaves_no_gap_in_numbers(erp: StubAdapter) -> None:
    # given
    erp.push_order(idempotency_key="k-1", order=order("ORD-1", ("FO-1001", 1), customer_ref="NEW"))

    # when: a new customer and an order, rolled back by the unknown SKU
    bad = erp.push_order(
        idempotency_key="k-2", order=order("ORD-2", ("FO-1001", 1), ("NOPE", 1), customer_ref="NEW-2")
    )
    good = erp.push_order(idempotency_key="k-3", order=order("ORD-3", ("FO-1001", 1)))

    # then
    assert bad.status == DeliveryStatus.REJECTED
    assert changes(erp, aggregate="customer:NEW-2") == []
    assert good.data["erp_order_number"] == "SO-000002"


# --- Faults -------------------------------------------------------------------------


def test_the_knobs_start_from_the_settings(settings: Any) -> None:
    # given
    settings.ERP_FAULT_ERROR_RATE = 0.25
    settings.ERP_FAULT_LATENCY_MS = 15

    # when
    knobs = faults.current()

    # then
    assert (knobs.error_rate, knobs.latency_ms, knobs.outage) == (0.25, 15, False)


def test_the_settings_apply_when_the_simulator_starts_even_over_an_existing_row(settings: Any) -> None:
    # given: a previous run (or the admin) left an outage in the knobs' row
    faults.set(outage=True, duplicate_rate=0.5)
    settings.ERP_FAULT_OUTAGE = False
    settings.ERP_FAULT_ERROR_RATE = 0.25
    settings.ERP_FAULT_LATENCY_MS = 15
    settings.ERP_FAULT_DUPLICATE_RATE = 0.0

    # when: `manage.py run_erp_simulator` starts
    _, knobs = start_simulator()

    # then: what the environment says, stored for every request to read
    assert knobs == faults.current()
    assert (knobs.outage, knobs.error_rate, knobs.latency_ms, knobs.duplicate_rate) == (False, 0.25, 15, 0.0)


def test_override_changes_knobs_for_a_block_then_puts_them_back(erp: StubAdapter) -> None:
    # given
    faults.set(duplicate_rate=0.5)

    # when
    with faults.override(outage=True) as inside:
        pass

    # then
    assert (inside.outage, inside.duplicate_rate) == (True, 0.5)
    assert (faults.current().outage, faults.current().duplicate_rate) == (False, 0.5)


@pytest.mark.parametrize(
    "knobs",
    [{"error_rate": 1.5}, {"outage": "yes"}, {"latency_ms": -1}, {"reorder_rate": float("nan")}, {"typo": 1}],
)
def test_a_bad_knob_value_is_refused_and_nothing_changes(knobs: dict[str, Any]) -> None:
    # when / then
    with pytest.raises(ValueError, match=r"must be|unknown fault knob"):
        faults.set(**knobs)
    assert faults.current() == faults.from_settings()


def test_latency_sleeps_on_every_call(erp: StubAdapter, monkeypatch: pytest.MonkeyPatch) -> None:
    # given
    slept: list[float] = []
    monkeypatch.setattr(faults.time, "sleep", slept.append)
    faults.set(latency_ms=250)

    # when
    erp.catalogue()
    erp.stock(["FO-1001"])

    # then
    assert slept == [0.25, 0.25]


def test_injected_errors_happen_both_before_and_after_applying(erp: StubAdapter) -> None:
    # given every call fails
    faults.set(error_rate=1.0)
    for n in range(12):
        with pytest.raises(ErpUnavailable):
            erp.push_order(idempotency_key=f"k-{n}", order=order(f"ORD-{n}", ("FO-1001", 1)))

    # when the same messages are sent again without faults
    faults.set(error_rate=0.0)
    statuses = [
        erp.push_order(idempotency_key=f"k-{n}", order=order(f"ORD-{n}", ("FO-1001", 1))).status
        for n in range(12)
    ]

    # then some were applied although the caller saw an error, some were not
    assert DeliveryStatus.DUPLICATE in statuses
    assert DeliveryStatus.ACCEPTED in statuses
    assert SimOrder.objects.count() == 12


def test_the_duplicate_knob_delivers_events_twice_by_pull(erp: StubAdapter) -> None:
    # given
    plain = erp.pull_changes(cursor=None, limit=10)
    faults.set(duplicate_rate=1.0)

    # when
    batch = erp.pull_changes(cursor=None, limit=10)

    # then
    assert [e.id for e in batch.events[::2]] == [e.id for e in plain.events]
    assert [e.id for e in batch.events[1::2]] == [e.id for e in plain.events]
    assert batch.cursor == plain.cursor


def test_the_reorder_knob_shuffles_a_batch_but_keeps_its_events_and_cursor(erp: StubAdapter) -> None:
    # given
    in_order = erp.pull_changes(cursor=None, limit=50)
    faults.set(reorder_rate=1.0)

    # when
    shuffled = erp.pull_changes(cursor=None, limit=50)

    # then
    assert [e.id for e in shuffled.events] != [e.id for e in in_order.events]
    assert sorted(e.id for e in shuffled.events) == sorted(e.id for e in in_order.events)
    assert shuffled.cursor == in_order.cursor


def test_faults_replay_the_same_way_for_the_same_seed(erp: StubAdapter) -> None:
    def run() -> list[str]:
        erp.reset(seed=11, start=START)
        faults.set(error_rate=0.5)
        outcomes = []
        for n in range(10):
            try:
                outcomes.append(
                    erp.push_order(idempotency_key=f"k-{n}", order=order(f"O-{n}", ("FO-1001", 1))).status
                )
            except ErpUnavailable:
                outcomes.append("unavailable")
        return outcomes

    # when / then
    first = run()
    assert run() == first
    assert "unavailable" in first
    assert DeliveryStatus.ACCEPTED in first


# --- Webhooks -------------------------------------------------------------------------


def _event(n: int = 1) -> ErpEvent:
    return ErpEvent(
        id=f"stock:FO-1001:AMS@{n}",
        type=EventType.STOCK_CHANGED,
        aggregate="stock:FO-1001:AMS",
        version=n,
        occurred_at=START,
        data={"sku": "FO-1001", "warehouse": "AMS", "on_hand": 5, "reserved": 0, "incoming": []},
    )


def test_a_webhook_is_signed_so_that_standard_webhooks_verifies_it() -> None:
    # when
    headers, body = signed_request(_event(), secret=SECRET)

    # then
    assert Webhook(SECRET).verify(body, headers) == _event().as_json()
    assert headers["webhook-id"] == "stock:FO-1001:AMS@1"
    with pytest.raises(WebhookVerificationError):
        Webhook(SECRET).verify(body.replace(b'"on_hand":5', b'"on_hand":6'), headers)


class _Receiver(BaseHTTPRequestHandler):
    """Records each webhook; answers 500 to the first `fail_first` requests."""

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        server: Any = self.server
        with server.lock:
            server.calls += 1
            failing = server.calls <= server.fail_first
            if not failing:
                server.received.append((dict(self.headers), body))
        self.send_response(500 if failing else 204)
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        return


@pytest.fixture
def receiver() -> Iterator[Any]:
    server: Any = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    server.received, server.calls, server.fail_first, server.lock = [], 0, 0, threading.Lock()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def _sender(receiver: Any, after_seq: int) -> WebhookSender:
    host, port = receiver.server_address
    return WebhookSender(
        url=f"http://{host}:{port}/hook", secret=SECRET, timeout=5, after_seq=after_seq, backoff_seconds=0
    )


def test_the_sender_posts_each_new_event_signed_and_retries_a_failure(
    erp: StubAdapter, receiver: Any
) -> None:
    # given two new events after the sender's starting point, and a receiver failing once
    start = engine.last_seq()
    engine.stock_set(sku="FO-1001", warehouse="AMS", on_hand=3)
    engine.stock_set(sku="FO-1002", warehouse="AMS", on_hand=4)
    receiver.fail_first = 1
    sender = _sender(receiver, start)

    # when
    sender.drain()

    # then
    verified = [Webhook(SECRET).verify(body, headers) for headers, body in receiver.received]
    assert [(e["aggregate"], e["data"]["on_hand"]) for e in verified] == [
        ("stock:FO-1001:AMS", 3),
        ("stock:FO-1002:AMS", 4),
    ]
    assert receiver.calls == 3
    assert sender.cursor == engine.last_seq()
    assert (sender.sent, sender.failed) == (2, 0)


def test_the_sender_gives_up_after_its_attempts_and_moves_on(erp: StubAdapter, receiver: Any) -> None:
    # given
    start = engine.last_seq()
    engine.stock_set(sku="FO-1001", warehouse="AMS", on_hand=3)
    receiver.fail_first = 100
    sender = _sender(receiver, start)

    # when
    sender.drain()

    # then
    assert (receiver.calls, sender.sent, sender.failed) == (4, 0, 1)
    assert sender.cursor == engine.last_seq()


def test_the_sender_honours_the_duplicate_knob(erp: StubAdapter, receiver: Any) -> None:
    # given
    start = engine.last_seq()
    engine.stock_set(sku="FO-1001", warehouse="AMS", on_hand=3)
    faults.set(duplicate_rate=1.0)

    # when
    _sender(receiver, start).drain()

    # then
    ids = [headers["webhook-id"] for headers, _ in receiver.received]
    assert len(ids) == 2
    assert ids[0] == ids[1]


# --- Admin ----------------------------------------------------------------------------


def test_an_admin_can_change_the_knobs_but_not_the_erp_tables(
    client: Any, admin_user: Any, erp: StubAdapter
) -> None:
    # given
    client.force_login(admin_user)
    faults.current()
    url = reverse("admin:erp_simulator_simfaults_change", args=[1])

    # when
    page = client.get(url)
    saved = client.post(
        url,
        {"outage": "on", "latency_ms": "0", "error_rate": "0.2", "duplicate_rate": "0", "reorder_rate": "0"},
    )
    product_page = client.get(
        reverse("admin:erp_simulator_simproduct_change", args=[SimProduct.objects.first().pk])
    )

    # then
    assert page.status_code == 200
    assert saved.status_code == 302
    assert SimFaults.objects.get().outage is True
    assert SimFaults.objects.get().error_rate == 0.2
    assert product_page.status_code == 200
    assert b'name="name"' not in product_page.content
    assert Decimal(SimProduct.objects.get(sku="FO-1001").unit_price) == Decimal("245.65")
