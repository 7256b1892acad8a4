"""Starting, resetting and reading the simulated ERP's state (its clock, seed and counters)."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from backoffice_sync.simulator import catalogue, faults
from backoffice_sync.simulator.engine.change_log import product_changed, stock_changed
from backoffice_sync.simulator.engine.rules import midnight
from backoffice_sync.simulator.models import (
    SimCreditNote,
    SimCustomer,
    SimDelivery,
    SimEvent,
    SimFaults,
    SimForecast,
    SimIncoming,
    SimInvoice,
    SimOrder,
    SimOrderLine,
    SimPayment,
    SimProduct,
    SimReservation,
    SimShipment,
    SimState,
    SimStock,
)


def start_erp(*, seed: int, start: dt.datetime) -> SimState:
    """A fresh ERP: the demo catalogue, its opening stock, and their events."""
    state = SimState.objects.create(pk=1, seed=seed, now=start, counters={})
    today = start.date()
    products = SimProduct.objects.bulk_create(
        SimProduct(
            sku=item.sku,
            name=item.name,
            unit_price=item.unit_price,
            currency=catalogue.CURRENCY,
            lead_time_days=item.lead_time_days,
            active=item.active,
        )
        for item in catalogue.items()
    )
    by_sku = {product.sku: product for product in SimProduct.objects.filter(pk__in=[p.pk for p in products])}
    for product in sorted(by_sku.values(), key=lambda p: p.sku):
        product_changed(state, product)
    for opening in catalogue.opening_stock(seed=seed, today=today):
        stock = SimStock.objects.create(
            product=by_sku[opening.sku], warehouse=opening.warehouse, on_hand=opening.on_hand
        )
        for quantity, expected_on in opening.incoming:
            SimIncoming.objects.create(stock=stock, quantity=quantity, expected_on=expected_on)
        stock_changed(state, stock)
    return state


def lock_state() -> SimState:
    """The state row, locked (every writer's first lock); starts the ERP on first use."""
    state = SimState.objects.select_for_update().filter(pk=1).first()
    if state is not None:
        return state
    try:
        with transaction.atomic():
            return start_erp(seed=settings.ERP_SIMULATOR_SEED, start=midnight(timezone.now()))
    except IntegrityError:
        # Another caller started it meanwhile (PostgreSQL made us wait for its commit).
        return SimState.objects.select_for_update().get(pk=1)


def current_seed() -> int:
    state = SimState.objects.filter(pk=1).only("seed").first()
    if state is not None:
        return state.seed
    with transaction.atomic():
        return lock_state().seed


def reset(*, seed: int | None = None, start: dt.datetime | None = None) -> None:
    """Forget everything and start a fresh ERP (tests, demos); knobs go back to the settings.

    Event ids restart too, so a front office that already consumed the old events must
    forget them as well.
    """
    if start is not None and timezone.is_naive(start):
        raise ValueError("start must be timezone-aware")
    with transaction.atomic():
        for model in (
            SimPayment,
            SimCreditNote,
            SimInvoice,
            SimShipment,
            SimReservation,
            SimOrderLine,
            SimOrder,
            SimCustomer,
            SimForecast,
            SimIncoming,
            SimStock,
            SimProduct,
            SimDelivery,
            SimEvent,
            SimFaults,
            SimState,
        ):
            model.objects.all().delete()
        start_erp(
            seed=settings.ERP_SIMULATOR_SEED if seed is None else seed,
            start=midnight(timezone.now()) if start is None else start,
        )
        faults.restore_settings()


def now() -> dt.datetime:
    """The simulator's clock (read without the lock: health probes must not queue behind a tick)."""
    state = SimState.objects.filter(pk=1).only("now").first()
    if state is not None:
        return state.now
    with transaction.atomic():
        return lock_state().now
