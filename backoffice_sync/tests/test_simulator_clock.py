"""The demo ERP's clock under `make run` (beat's `tick_simulator` every minute): it
follows the wall clock and never passes it, so no shipment, delivery, invoice or payment
is ever dated after now (issue #12: minutes into the demo, orders showed delivery dates
in the future and "Promise missed" for orders due today)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import time_machine
from django.conf import settings
from django.utils import timezone

from backoffice_sync import inbox, tasks
from backoffice_sync.adapters.stub import StubAdapter
from backoffice_sync.models import ErpOrder, ErpOrderStatusChange, Invoice, Payment, Shipment
from backoffice_sync.simulator import engine
from backoffice_sync.tests.inbox_helpers import a_customer
from customers.models import Activity

pytestmark = pytest.mark.django_db

STARTED = dt.datetime(2025, 3, 3, 9, 0, tzinfo=dt.UTC)  # `make run`, after the seed
ORDERS = 6


@pytest.fixture
def erp(monkeypatch: pytest.MonkeyPatch) -> StubAdapter:
    adapter = StubAdapter()
    adapter.reset(seed=7, start=STARTED)
    monkeypatch.setattr(inbox, "get_adapter", lambda: adapter)
    return adapter


def orders_placed(erp: StubAdapter) -> None:
    engine.stock_set(sku="FO-1001", warehouse="AMS", on_hand=100)
    customer = a_customer()
    engine.customer_update(customer_ref=str(customer.pk), payment_terms_days=14, pays_late=False)
    for n in range(ORDERS):
        erp.push_order(
            idempotency_key=f"order-{n}",
            order={
                "order_ref": f"FO-{n}",
                "customer_ref": str(customer.pk),
                "currency": "EUR",
                "requested_date": None,
                "lines": [{"line_no": 1, "sku": "FO-1001", "quantity": 2, "unit_price": "12.50"}],
                "ship_to": None,
            },
        )


def facts_dated_after_now() -> list[Any]:
    """Every mirrored ERP fact, and timeline entry, dated after now: what the pages would
    show as done."""
    now = timezone.now()
    today = now.date()  # the simulator dates its facts in UTC, the settings' default zone
    return [
        *Shipment.objects.filter(shipped_on__gt=today).values_list("number", "shipped_on"),
        *Shipment.objects.filter(delivered_on__gt=today).values_list("number", "delivered_on"),
        *Invoice.objects.filter(issued_on__gt=today).values_list("number", "issued_on"),
        *Payment.objects.filter(received_on__gt=today).values_list("reference", "received_on"),
        *ErpOrder.objects.filter(status_changed_at__gt=now).values_list("order_ref", "status_changed_at"),
        *ErpOrderStatusChange.objects.filter(occurred_at__gt=now).values_list("status", "occurred_at"),
        *Activity.objects.filter(occurred_at__gt=now).values_list("kind", "occurred_at"),
    ]


def beat_ticks(traveller: Any, *, times: int, every: dt.timedelta) -> list[Any]:
    """`tick_simulator` as beat runs it, `every` apart, each followed by a poll; what was
    dated after now along the way (the simulator's clock included)."""
    seen = []
    for _ in range(times):
        traveller.shift(every)
        tasks.tick_simulator(hours=settings.ERP_SIMULATOR_TICK_HOURS)
        while inbox.pull_changes_once().has_more:
            pass
        seen += facts_dated_after_now()
        if engine.now() > timezone.now():
            seen.append(("the simulator's clock", engine.now()))
    return seen


def test_an_hour_of_make_run_never_moves_the_erp_past_the_wall_clock(erp: StubAdapter) -> None:
    # given: orders just placed with the ERP
    with time_machine.travel(STARTED, tick=False) as traveller:
        orders_placed(erp)

        # when: beat ticks every minute for an hour
        seen = beat_ticks(traveller, times=60, every=dt.timedelta(minutes=1))

        # then: the ERP is at the wall clock, and nothing is dated later
        assert seen == []
        assert engine.now() == timezone.now()


def test_as_days_pass_orders_ship_are_delivered_invoiced_and_paid_never_after_now(erp: StubAdapter) -> None:
    # given
    with time_machine.travel(STARTED, tick=False) as traveller:
        orders_placed(erp)

        # when: three weeks pass, the machine asleep now and then (beat ticks hours apart)
        seen = beat_ticks(traveller, times=21 * 4, every=dt.timedelta(hours=6))

        # then: the ERP did its work, and none of it is dated after the moment it was seen
        assert seen == []
        assert Shipment.objects.filter(delivered_on__isnull=False).count() >= ORDERS
        assert Invoice.objects.count() >= ORDERS
        assert Payment.objects.count() >= ORDERS


def test_after_a_long_pause_the_erp_catches_up_at_most_the_setting_per_tick(erp: StubAdapter) -> None:
    # given: the machine slept for two days
    with time_machine.travel(STARTED, tick=False) as traveller:
        traveller.shift(dt.timedelta(days=2))

        # when
        tasks.tick_simulator(hours=settings.ERP_SIMULATOR_TICK_HOURS)

        # then
        assert engine.now() == STARTED + dt.timedelta(hours=settings.ERP_SIMULATOR_TICK_HOURS)
