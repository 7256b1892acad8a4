"""Time: a tick moves the ERP's clock in steps of at most a day, and each step lets the
ERP work (see the package docstring for the order of the steps)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from backoffice_sync.contracts import PaymentOverdueData, PaymentReceivedData
from backoffice_sync.erp import EventType
from backoffice_sync.simulator import dice
from backoffice_sync.simulator.engine.change_log import emit, order_changed, stock_changed
from backoffice_sync.simulator.engine.fulfilment import (
    allocate_backorders,
    confirm_received,
    lock_stocks,
    open_orders,
    order_lines,
    ship_due,
)
from backoffice_sync.simulator.engine.lifecycle import lock_state
from backoffice_sync.simulator.engine.reads import last_seq
from backoffice_sync.simulator.engine.rules import (
    MAX_TICK_HOURS,
    OPEN_STATUSES,
    SUPPLIER_SLIP_DAYS,
    SUPPLIER_SLIP_RATE,
    midnight,
    money,
    next_number,
)
from backoffice_sync.simulator.models import (
    SimEvent,
    SimIncoming,
    SimInvoice,
    SimInvoiceStatus,
    SimOrderLine,
    SimOrderStatus,
    SimPayment,
    SimState,
    SimStock,
)


@dataclass(frozen=True)
class TickResult:
    now: dt.datetime
    events: int  # appended to the change log by this tick


def _check_hours(hours: float) -> None:
    if isinstance(hours, bool) or not isinstance(hours, int | float) or not 0 < hours <= MAX_TICK_HOURS:
        raise ValueError(f"hours must be a number above 0 and at most {MAX_TICK_HOURS}")


def tick(*, hours: float) -> TickResult:
    """Move the clock forward and let the ERP work (see the package docstring, `engine/__init__.py`)."""
    _check_hours(hours)
    return _move_clock(lambda now: now + dt.timedelta(hours=hours))


def catch_up(*, until: dt.datetime, max_hours: float) -> TickResult:
    """Move the clock towards `until` (the wall clock), by at most `max_hours`, never past
    it: what the demo's periodic tick does, so that the ERP works as real time passes and
    never records a shipment, delivery, invoice or payment dated after now. The target is
    taken under the state's lock, so overlapping or redelivered calls cannot overshoot;
    one that finds the clock already there changes nothing."""
    if timezone.is_naive(until):
        raise ValueError("until must be timezone-aware")
    _check_hours(max_hours)
    return _move_clock(lambda now: min(until, now + dt.timedelta(hours=max_hours)))


def _move_clock(end_from: Callable[[dt.datetime], dt.datetime]) -> TickResult:
    with transaction.atomic():
        state = lock_state()
        end = end_from(state.now)
        if end <= state.now:
            return TickResult(now=state.now, events=0)
        before = last_seq()
        while state.now < end:
            state.now = min(end, midnight(state.now) + dt.timedelta(days=1))
            _step(state)
        state.save(update_fields=["now", "counters", "updated_at"])
        added = SimEvent.objects.filter(seq__gt=before).count()
    return TickResult(now=state.now, events=added)


def _step(state: SimState) -> None:
    _receive_incoming(state)
    confirm_received(state)
    allocate_backorders(state)
    ship_due(state)
    _mark_delivered(state)
    _collect_payments(state)
    _flag_overdue(state)
    _replenish(state)


def supplier_slip(seed: int, *, sku: str, warehouse: str, due_on: dt.date, quantity: int) -> int:
    """How many days a purchase due on `due_on` slips on that day: 0 mostly, 3 to 8 days
    for `SUPPLIER_SLIP_RATE` of them (the same seed and purchase give the same answer; a
    purchase that slipped is due again on its new date, and may slip again)."""
    labels = (sku, warehouse, due_on, quantity)
    if dice.roll(seed, "supplier-slip", *labels) >= SUPPLIER_SLIP_RATE:
        return 0
    return dice.randint(*SUPPLIER_SLIP_DAYS, seed, "supplier-slip-days", *labels)


def _receive_incoming(state: SimState) -> None:
    """Purchases due today arrive, except those whose supplier slips: those are due later
    (the stock.changed tells available-to-promise the new date)."""
    today = state.now.date()
    due = list(SimIncoming.objects.filter(expected_on__lte=today).order_by("expected_on", "id"))
    if not due:
        return
    stocks = lock_stocks(
        SimStock.objects.filter(pk__in={i.stock_id for i in due}).values_list("product_id", "warehouse")
    )
    by_pk = {row.pk: row for row in stocks.values()}
    arrived = []
    for incoming in due:
        row = by_pk[incoming.stock_id]
        late = supplier_slip(
            state.seed,
            sku=row.product.sku,
            warehouse=row.warehouse,
            due_on=incoming.expected_on,
            quantity=incoming.quantity,
        )
        if late:
            incoming.expected_on = today + dt.timedelta(days=late)
            incoming.save(update_fields=["expected_on", "updated_at"])
        else:
            row.on_hand += incoming.quantity
            arrived.append(incoming.pk)
    SimIncoming.objects.filter(pk__in=arrived).delete()
    for row in sorted(by_pk.values(), key=lambda r: (r.product.sku, r.warehouse)):
        stock_changed(state, row)


def _mark_delivered(state: SimState) -> None:
    for order in open_orders(SimOrderStatus.SHIPPED):
        if (
            order.last_shipped_at
            and order.last_shipped_at + dt.timedelta(days=settings.ERP_TRANSIT_DAYS) <= state.now
        ):
            order.status = SimOrderStatus.DELIVERED
            order_changed(
                state,
                order,
                order_lines(order),
                EventType.ORDER_DELIVERED,
                delivered_on=state.now.date().isoformat(),
            )


def _open_invoices() -> list[SimInvoice]:
    return list(
        SimInvoice.objects.select_for_update()
        .select_related("customer")
        .filter(status=SimInvoiceStatus.OPEN)
        .order_by("number")
    )


def _invoice_event(
    state: SimState, invoice: SimInvoice, type: EventType, data: PaymentReceivedData | PaymentOverdueData
) -> None:
    invoice.version += 1
    invoice.save()
    emit(state, type=type, aggregate=f"invoice:{invoice.number}", version=invoice.version, data=data)


def _collect_payments(state: SimState) -> None:
    today = state.now.date()
    for invoice in _open_invoices():
        if invoice.pay_on > today:
            continue
        due = invoice.amount - invoice.credited
        payment = SimPayment.objects.create(
            reference=next_number(state, "payment", "PAY"),
            invoice=invoice,
            amount=due,
            currency=invoice.currency,
            received_on=today,
        )
        invoice.status = SimInvoiceStatus.PAID
        _invoice_event(
            state,
            invoice,
            EventType.PAYMENT_RECEIVED,
            {
                "payment_ref": payment.reference,
                "invoice_number": invoice.number,
                "customer_ref": invoice.customer.customer_ref,
                "amount": money(due),
                "currency": invoice.currency,
                "received_on": today.isoformat(),
            },
        )


def _flag_overdue(state: SimState) -> None:
    today = state.now.date()
    for invoice in _open_invoices():
        if invoice.overdue_notified or invoice.due_on >= today:
            continue
        invoice.overdue_notified = True
        _invoice_event(
            state,
            invoice,
            EventType.PAYMENT_OVERDUE,
            {
                "invoice_number": invoice.number,
                "customer_ref": invoice.customer.customer_ref,
                "amount_due": money(invoice.amount - invoice.credited),
                "currency": invoice.currency,
                "due_on": invoice.due_on.isoformat(),
                "days_overdue": (today - invoice.due_on).days,
            },
        )


def _replenish(state: SimState) -> None:
    """Order more where free stock, incoming and unreserved demand leave too little."""
    incoming: dict[int, int] = defaultdict(int)
    for stock_id, quantity in SimIncoming.objects.values_list("stock_id").annotate(total=Sum("quantity")):
        incoming[stock_id] = quantity
    demand: dict[tuple[int, str], int] = defaultdict(int)
    for product_id, warehouse, quantity, shipped, reserved in SimOrderLine.objects.filter(
        order__status__in=OPEN_STATUSES
    ).values_list("product_id", "warehouse", "quantity", "shipped", "reserved"):
        demand[(product_id, warehouse)] += quantity - shipped - reserved
    low = []
    for row in (
        SimStock.objects.select_related("product")
        .filter(product__active=True)
        .order_by("product__sku", "warehouse")
    ):
        position = row.on_hand - row.reserved + incoming[row.pk] - demand[(row.product_id, row.warehouse)]
        if position < row.product.reorder_point:
            low.append((row, row.product.reorder_quantity + max(0, -position)))
    if not low:
        return
    stocks = lock_stocks((row.product_id, row.warehouse) for row, _ in low)
    today = state.now.date()
    for row, quantity in low:
        locked = stocks[(row.product_id, row.warehouse)]
        # Suppliers take longer than the ERP's own lead time, so a backorder outlasts it
        # and the order ships in parts.
        delay = dice.randint(2, 7, state.seed, "supplier-delay", row.product.sku, row.warehouse, today)
        SimIncoming.objects.create(
            stock=locked,
            quantity=quantity,
            expected_on=today + dt.timedelta(days=row.product.lead_time_days + delay),
        )
        stock_changed(state, locked)
