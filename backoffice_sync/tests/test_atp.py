"""Available-to-promise: free stock now, else incoming stock, else lead time, plus the ERP's
dispatch and transit days; what the ERP reserves and what the outbox holds count against it."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction

from backoffice_sync import atp
from backoffice_sync.adapters.stub import StubAdapter
from backoffice_sync.erp import MessageKind
from backoffice_sync.inbox import pull_changes_once
from backoffice_sync.models import ErpOrder, StockLevel
from backoffice_sync.outbox import outbox_enqueue
from backoffice_sync.simulator import engine
from backoffice_sync.tests.inbox_helpers import a_customer, product_event, receive_and_apply, stock_event

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 11, 23)


def stocked(sku: str = "SKU-1", *, on_hand: int, reserved: int = 0, incoming=(), lead_time_days=5) -> None:
    receive_and_apply(product_event(sku, lead_time_days=lead_time_days))
    receive_and_apply(
        stock_event(
            sku,
            on_hand=on_hand,
            reserved=reserved,
            incoming=[{"quantity": q, "expected_on": d.isoformat()} for d, q in incoming],
        )
    )


def delivered(available_on: dt.date) -> dt.date:
    """The delivery date for goods available that day: the ERP's dispatch and transit days later."""
    return available_on + dt.timedelta(days=settings.ERP_DISPATCH_DAYS + settings.ERP_TRANSIT_DAYS)


def pull_everything() -> None:
    while pull_changes_once().has_more:
        pass


def test_free_stock_promises_today() -> None:
    # given
    stocked(on_hand=10, reserved=4)
    # when
    promise = atp.promise(sku="SKU-1", quantity=6, today=TODAY)
    # then
    assert (promise.earliest_on, promise.source) == (delivered(TODAY), "stock")
    assert (promise.free_now, promise.reserved_by_erp) == (6, 4)


def test_beyond_free_stock_the_incoming_delivery_that_covers_it_sets_the_date() -> None:
    # given: 6 free, 5 arriving on the 1st, 10 more on the 10th
    first, second = dt.date(2026, 12, 1), dt.date(2026, 12, 10)
    stocked(on_hand=10, reserved=4, incoming=[(first, 5), (second, 10)], lead_time_days=60)
    # when
    within_first = atp.promise(sku="SKU-1", quantity=11, today=TODAY)
    needs_second = atp.promise(sku="SKU-1", quantity=12, today=TODAY)
    # then
    assert (within_first.earliest_on, within_first.source) == (delivered(first), "incoming")
    assert (needs_second.earliest_on, needs_second.source) == (delivered(second), "incoming")


def test_more_than_stock_and_incoming_falls_back_to_the_lead_time() -> None:
    # given
    stocked(on_hand=2, incoming=[(dt.date(2026, 11, 25), 3)], lead_time_days=14)
    # when
    promise = atp.promise(sku="SKU-1", quantity=50, today=TODAY)
    # then
    assert (promise.earliest_on, promise.source) == (delivered(TODAY + dt.timedelta(days=14)), "lead_time")


@pytest.mark.parametrize(("dispatch", "transit"), [(0, 0), (3, 4)])
def test_every_source_promises_delivery_after_the_erps_dispatch_and_transit_days(
    settings: Any, dispatch: int, transit: int
) -> None:
    # given: 5 free, 5 more arriving on the 1st, a 14-day lead time; the ERP ships goods
    # `dispatch` days after they are available and they travel `transit` days
    settings.ERP_DISPATCH_DAYS, settings.ERP_TRANSIT_DAYS = dispatch, transit
    arrival, lead_time = dt.date(2026, 12, 1), dt.timedelta(days=14)
    stocked(on_hand=5, incoming=[(arrival, 5)], lead_time_days=14)
    # when
    promises = [atp.promise(sku="SKU-1", quantity=quantity, today=TODAY) for quantity in (5, 10, 11)]
    # then: the source still says where the goods come from; the date is their delivery
    fulfilment = dt.timedelta(days=dispatch + transit)
    assert [(p.source, p.earliest_on) for p in promises] == [
        ("stock", TODAY + fulfilment),
        ("incoming", arrival + fulfilment),
        ("lead_time", TODAY + lead_time + fulfilment),
    ]


def test_orders_not_yet_acknowledged_by_the_erp_hold_stock() -> None:
    # given: 10 free in the ERP, but an order for 8 is still in the outbox (ERP down)
    stocked(on_hand=10, lead_time_days=7)
    with transaction.atomic():
        outbox_enqueue(
            kind=MessageKind.ORDER_SUBMIT,
            aggregate="order:FO-1",
            payload={"order_ref": "FO-1", "lines": [{"line_no": 1, "sku": "SKU-1", "quantity": 8}]},
        )
    # when
    promise = atp.promise(sku="SKU-1", quantity=5, today=TODAY)
    # then
    assert promise.held_by_outbox == 8
    assert (promise.free_now, promise.source) == (2, "lead_time")


def test_a_requested_date_is_flagged_when_it_cannot_be_met() -> None:
    # given
    stocked(on_hand=0, lead_time_days=10)
    # when
    late = atp.promise(sku="SKU-1", quantity=1, requested_on=TODAY + dt.timedelta(days=3), today=TODAY)
    fine = atp.promise(sku="SKU-1", quantity=1, requested_on=TODAY + dt.timedelta(days=30), today=TODAY)
    # then
    assert late.meets_request is False
    assert late.earliest_on == delivered(TODAY + dt.timedelta(days=10))
    assert fine.meets_request is True


def test_lines_of_one_sku_draw_on_the_same_stock(django_assert_max_num_queries: Any) -> None:
    # given
    stocked(on_hand=5, lead_time_days=9)
    stocked("SKU-2", on_hand=100)
    requests = [atp.AtpRequest("SKU-1", 3), atp.AtpRequest("SKU-2", 1), atp.AtpRequest("SKU-1", 3)] * 50
    # when
    with django_assert_max_num_queries(6):
        promises = atp.promise_many(requests, today=TODAY)
    # then: the first 3 fit, the second 3 do not (5 free)
    assert [p.source for p in promises[:3]] == ["stock", "stock", "lead_time"]


@pytest.mark.parametrize(
    ("sku", "quantity", "requested_on", "field", "message"),
    [
        ("NOPE", 1, None, "sku", "Unknown SKU 'NOPE'"),
        ("SKU-1", 0, None, "quantity", "between 1 and"),
        ("SKU-1", 1, TODAY - dt.timedelta(days=1), "requested_date", "in the past"),
        ("OLD-1", 1, None, "sku", "no longer sold"),
    ],
)
def test_bad_requests_are_refused_with_a_field_message(sku, quantity, requested_on, field, message) -> None:
    # given
    stocked(on_hand=5)
    receive_and_apply(product_event("OLD-1", active=False))
    # when
    with pytest.raises(ValidationError) as caught:
        atp.promise(sku=sku, quantity=quantity, requested_on=requested_on, today=TODAY)
    # then
    assert message in " ".join(caught.value.message_dict[field])


def test_a_promise_from_stock_in_two_warehouses_is_delivered_complete_on_the_day_promised() -> None:
    # given: the ERP has 3 of FO-1001 (lead time 5 days) in AMS and 3 in LYS, mirrored here
    erp = StubAdapter()
    erp.reset(seed=7, start=dt.datetime(2026, 11, 23, tzinfo=dt.UTC))
    engine.product_update(sku="FO-1001", reorder_point=0)  # no purchase muddles the count
    for warehouse, on_hand in (("AMS", 3), ("LYS", 3), ("MUC", 0)):
        engine.stock_set(sku="FO-1001", warehouse=warehouse, on_hand=on_hand)
    pull_everything()
    today = erp.clock().date()
    promised = atp.promise(sku="FO-1001", quantity=5, today=today)
    assert (promised.earliest_on, promised.source, promised.free_now) == (delivered(today), "stock", 6)
    # when: the order of 5 reaches the ERP, which works until the promised day
    customer = a_customer()
    erp.push_order(
        idempotency_key="o-1",
        order={
            "order_ref": "FO-ATP-1",
            "customer_ref": str(customer.pk),
            "currency": "EUR",
            "requested_date": today.isoformat(),
            "lines": [{"line_no": 1, "sku": "FO-1001", "quantity": 5, "unit_price": "289.00"}],
            "ship_to": None,
        },
    )
    erp.tick(12)  # confirmed (reserved), not yet dispatched
    pull_everything()
    reserved_after_confirming = atp.promise(sku="FO-1001", quantity=1, today=today)
    while erp.clock().date() < promised.earliest_on:
        erp.tick(24)
    pull_everything()
    # then: confirmed, then shipped complete in one shipment (never in parts), delivered
    # on the day promised
    order = ErpOrder.objects.get(order_ref="FO-ATP-1")
    assert list(order.status_history.values_list("status", flat=True)) == [
        "confirmed",
        "shipped",
        "delivered",
    ]
    (shipment,) = order.shipments.all()
    assert list(shipment.lines.values_list("sku", "quantity")) == [("FO-1001", 5)]
    assert shipment.delivered_on == promised.earliest_on
    assert (reserved_after_confirming.reserved_by_erp, reserved_after_confirming.free_now) == (5, 1)
    # and the mirrored stock is the ERP's, warehouse by warehouse: 6 - 5 left, nothing held
    mirrored = {
        row.warehouse: (row.on_hand, row.reserved)
        for row in StockLevel.objects.filter(product__sku="FO-1001")
    }
    assert mirrored == {level.warehouse: (level.on_hand, level.reserved) for level in erp.stock(["FO-1001"])}
    assert (sum(on_hand for on_hand, _ in mirrored.values()), sum(r for _, r in mirrored.values())) == (1, 0)
