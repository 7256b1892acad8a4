"""Reserving, shipping and invoicing: how confirmed orders draw on the warehouses' stock
and leave them (steps 2 to 4 of a tick, and cancelling)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from decimal import Decimal

from django.conf import settings
from django.db.models import F

from backoffice_sync.contracts import InvoiceIssuedData, ShipmentData, ShippedLine
from backoffice_sync.erp import EventType
from backoffice_sync.simulator import catalogue, dice
from backoffice_sync.simulator.engine.change_log import emit, order_changed, stock_changed
from backoffice_sync.simulator.engine.rules import (
    CARRIERS,
    CENT,
    OPEN_STATUSES,
    SPLIT_SHIPMENT_RATE,
    midnight,
    money,
    next_number,
)
from backoffice_sync.simulator.models import (
    SimInvoice,
    SimOrder,
    SimOrderLine,
    SimOrderStatus,
    SimReservation,
    SimShipment,
    SimState,
    SimStock,
)


def dispatch_after(moment: dt.datetime) -> dt.datetime:
    """When what is reserved on the day of `moment` ships: the ERP's dispatch days later,
    counted in days (midnight), so that the step a tick happens to end at does not move it."""
    return midnight(moment) + dt.timedelta(days=settings.ERP_DISPATCH_DAYS)


def take_reservations(
    lines: Sequence[SimOrderLine],
) -> tuple[list[SimReservation], dict[tuple[int, str], SimStock]]:
    """The lines' reservations, deleted, and their stock rows, locked (the caller gives
    the units back or ships them, and publishes the rows)."""
    reservations = list(
        SimReservation.objects.filter(line__in=lines).select_related("stock").order_by("line_id", "stock_id")
    )
    stocks = lock_stocks((r.stock.product_id, r.stock.warehouse) for r in reservations)
    SimReservation.objects.filter(pk__in=[r.pk for r in reservations]).delete()
    return reservations, stocks


def release(state: SimState, lines: Sequence[SimOrderLine]) -> None:
    reserved = [line for line in lines if line.reserved]
    reservations, stocks = take_reservations(reserved)
    for reservation in reservations:
        stocks[(reservation.stock.product_id, reservation.stock.warehouse)].reserved -= reservation.quantity
    for line in reserved:
        line.reserved = 0
        line.save(update_fields=["reserved", "updated_at"])
    publish_stocks(state, stocks.values())


def lock_stocks(keys: Iterable[tuple[int, str]]) -> dict[tuple[int, str], SimStock]:
    """Stock rows by (product id, warehouse), locked in a fixed order."""
    keys = set(keys)
    if not keys:
        return {}
    product_ids = {product_id for product_id, _ in keys}
    rows = (
        SimStock.objects.select_for_update()
        .select_related("product")
        .filter(product_id__in=product_ids)
        .order_by("product_id", "warehouse")
    )
    return {(row.product_id, row.warehouse): row for row in rows if (row.product_id, row.warehouse) in keys}


def order_lines(order: SimOrder) -> list[SimOrderLine]:
    return list(order.lines.select_related("product").order_by("line_no"))


def open_orders(*statuses: str) -> list[SimOrder]:
    return list(
        SimOrder.objects.select_for_update()
        .select_related("customer")
        .filter(status__in=statuses)
        .order_by("number")
    )


def _free(row: SimStock) -> int:
    return row.on_hand - row.reserved


def _draw(line: SimOrderLine, candidates: Sequence[SimStock], wanted: int) -> list[tuple[SimStock, int]]:
    """Where to reserve `wanted` units of a line: its own warehouse if that has enough,
    else the one with the most free stock if that has enough, else the warehouses from
    the most free stock down until the line is covered or nothing is free (the promise
    ATP made from the warehouses' combined free stock)."""
    if wanted <= 0:
        return []
    home = next((row for row in candidates if row.warehouse == line.warehouse), None)
    if home is not None and _free(home) >= wanted:
        return [(home, wanted)]
    plan = []
    # `sorted` is stable and the candidates come in WAREHOUSES order: the first wins ties.
    for row in sorted(candidates, key=lambda row: -_free(row)):
        take = min(wanted, _free(row))
        if take <= 0:
            break
        plan.append((row, take))
        wanted -= take
        if not wanted:
            break
    return plan


def _reserve(
    line: SimOrderLine, candidates: Sequence[SimStock], held: dict[tuple[int, int], SimReservation]
) -> list[SimStock]:
    """Reserve what the line still lacks in the free stock of `candidates` (its product's
    rows, locked, in WAREHOUSES order); `held` are the line's reservations so far, by
    (line id, stock id). Saves the line; returns the stock rows it reserved in."""
    placed = not line.warehouse and bool(candidates)
    if placed:
        line.warehouse = max(candidates, key=_free).warehouse  # the first warehouse wins ties
    plan = _draw(line, candidates, line.quantity - line.shipped - line.reserved)
    for row, take in plan:
        row.reserved += take
        line.reserved += take
        reservation = held.get((line.pk, row.pk))
        if reservation is None:
            held[(line.pk, row.pk)] = SimReservation.objects.create(line=line, stock=row, quantity=take)
        else:
            reservation.quantity += take
            reservation.save(update_fields=["quantity", "updated_at"])
    if placed or plan:
        line.save(update_fields=["reserved", "warehouse", "updated_at"])
    return [row for row, _ in plan]


def _candidates(line: SimOrderLine, stocks: dict[tuple[int, str], SimStock]) -> list[SimStock]:
    return [stocks[(line.product_id, w)] for w in catalogue.WAREHOUSES if (line.product_id, w) in stocks]


def _lock_product_stocks(lines: Iterable[SimOrderLine]) -> dict[tuple[int, str], SimStock]:
    return lock_stocks((line.product_id, w) for line in lines for w in catalogue.WAREHOUSES)


def publish_stocks(state: SimState, rows: Iterable[SimStock]) -> None:
    for row in sorted({row.pk: row for row in rows}.values(), key=lambda r: (r.product.sku, r.warehouse)):
        stock_changed(state, row)


def confirm_received(state: SimState) -> None:
    for order in open_orders(SimOrderStatus.RECEIVED):
        lines = order_lines(order)
        discontinued = sorted({line.product.sku for line in lines if not line.product.active})
        if discontinued:
            order.status = SimOrderStatus.REJECTED
            order.reason = f"discontinued: {', '.join(discontinued)}"
            order_changed(state, order, lines, EventType.ORDER_REJECTED, reason=order.reason)
            continue
        stocks = _lock_product_stocks(lines)
        held: dict[tuple[int, int], SimReservation] = {}
        touched = [row for line in lines for row in _reserve(line, _candidates(line, stocks), held)]
        order.status = SimOrderStatus.CONFIRMED
        order.confirmed_at = state.now
        # Counted from the day the ERP received the order: a real ERP confirms on receipt,
        # the simulator at its next step, which may be the next midnight.
        order.ship_after = dispatch_after(order.received_at)
        order_changed(state, order, lines, EventType.ORDER_CONFIRMED)
        publish_stocks(state, touched)


def allocate_backorders(state: SimState) -> None:
    short = list(
        SimOrderLine.objects.filter(
            order__status__in=OPEN_STATUSES, reserved__lt=F("quantity") - F("shipped")
        )
        .select_related("product", "order")
        .order_by("order__number", "line_no")
    )
    if not short:
        return
    stocks = _lock_product_stocks(short)
    held = {(r.line_id, r.stock_id): r for r in SimReservation.objects.filter(line__in=short)}
    touched = []
    supplied = set()
    for line in short:
        rows = _reserve(line, _candidates(line, stocks), held)
        if rows:
            touched.extend(rows)
            supplied.add(line.order_id)
    publish_stocks(state, touched)
    _dispatch_supplied(state, supplied)


def _dispatch_supplied(state: SimState, order_ids: set[int]) -> None:
    """Orders whose short lines got stock today ship it the ERP's dispatch days later (or
    when they were due to ship anyway, if that is later)."""
    if not order_ids:
        return
    due = dispatch_after(state.now)
    for order in SimOrder.objects.select_for_update().filter(pk__in=order_ids).order_by("number"):
        if order.ship_after is None or order.ship_after < due:
            order.ship_after = due
            order.save(update_fields=["ship_after", "updated_at"])


def ship_due(state: SimState) -> None:
    for order in open_orders(*OPEN_STATUSES):
        if order.ship_after is None or order.ship_after > state.now:
            continue
        lines = order_lines(order)
        ready = [line for line in lines if line.reserved > 0]
        if not ready:
            continue
        first_shipment = order.status == SimOrderStatus.CONFIRMED
        if (
            first_shipment
            and len(ready) > 1
            and dice.roll(state.seed, "split", order.number) < SPLIT_SHIPMENT_RATE
        ):
            ready = ready[: (len(ready) + 1) // 2]
        _ship(state, order, lines, ready)


def _ship(state: SimState, order: SimOrder, lines: list[SimOrderLine], ready: list[SimOrderLine]) -> None:
    number = next_number(state, "shipment", "SH")
    carrier = dice.choice(CARRIERS, state.seed, "carrier", number)
    tracking = f"{carrier}{dice.randint(10**9, 10**10 - 1, state.seed, 'tracking', number)}"
    reservations, stocks = take_reservations(ready)
    for reservation in reservations:
        stock_row = stocks[(reservation.stock.product_id, reservation.stock.warehouse)]
        stock_row.on_hand -= reservation.quantity
        stock_row.reserved -= reservation.quantity
    shipped_lines: list[ShippedLine] = []
    amount = Decimal("0.00")
    for line in ready:
        quantity = line.reserved
        line.reserved = 0
        line.shipped += quantity
        line.save(update_fields=["reserved", "shipped", "updated_at"])
        amount += (line.unit_price * quantity).quantize(CENT)
        shipped_lines.append({"line_no": line.line_no, "sku": line.product.sku, "quantity": quantity})
    shipment = SimShipment.objects.create(
        number=number,
        order=order,
        carrier=carrier,
        tracking_number=tracking,
        shipped_at=state.now,
        lines=shipped_lines,
    )
    complete = all(line.shipped == line.quantity for line in lines)
    order.status = SimOrderStatus.SHIPPED if complete else SimOrderStatus.PARTIALLY_SHIPPED
    order.last_shipped_at = state.now
    if not complete and any(line.reserved for line in lines):
        # The second parcel of a split shipment leaves a day later.
        order.ship_after = state.now + dt.timedelta(days=1)
    parcel: ShipmentData = {
        "shipment_number": number,
        "carrier": carrier,
        "tracking_number": tracking,
        "shipped_on": state.now.date().isoformat(),
        "shipped_lines": shipped_lines,
    }
    order_changed(
        state,
        order,
        lines,
        EventType.ORDER_SHIPPED if complete else EventType.ORDER_PARTIALLY_SHIPPED,
        **parcel,
    )
    publish_stocks(state, stocks.values())
    _invoice(state, order, shipment, amount)


def _invoice(state: SimState, order: SimOrder, shipment: SimShipment, amount: Decimal) -> None:
    customer = order.customer
    number = next_number(state, "invoice", "INV")
    issued_on = state.now.date()
    due_on = issued_on + dt.timedelta(days=customer.payment_terms_days)
    if customer.pays_late:
        pay_on = due_on + dt.timedelta(days=dice.randint(3, 30, state.seed, "late-by", number))
    else:
        early = dice.randint(0, min(customer.payment_terms_days - 1, 10), state.seed, "early-by", number)
        pay_on = due_on - dt.timedelta(days=early)
    invoice = SimInvoice.objects.create(
        number=number,
        order=order,
        shipment=shipment,
        customer=customer,
        amount=amount,
        currency=order.currency,
        issued_on=issued_on,
        due_on=due_on,
        pay_on=max(pay_on, issued_on + dt.timedelta(days=1)),
        version=1,
    )
    data: InvoiceIssuedData = {
        "number": number,
        "order_ref": order.order_ref,
        "erp_order_number": order.number,
        "shipment_number": shipment.number,
        "customer_ref": customer.customer_ref,
        "amount": money(amount),
        "currency": invoice.currency,
        "issued_on": issued_on.isoformat(),
        "due_on": due_on.isoformat(),
    }
    emit(
        state,
        type=EventType.INVOICE_ISSUED,
        aggregate=f"invoice:{number}",
        version=invoice.version,
        data=data,
    )
