"""What the ERP answers without changing anything: its change log, stock, catalogue and
daily totals."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from decimal import Decimal

from backoffice_sync.erp import (
    ChangeBatch,
    DailyTotals,
    ErpBadRequest,
    ErpEvent,
    EventType,
    IncomingStock,
    Product,
    StockLevel,
)
from backoffice_sync.simulator import faults
from backoffice_sync.simulator.engine.lifecycle import current_seed
from backoffice_sync.simulator.engine.rules import MAX_BATCH, MAX_PULL_LIMIT
from backoffice_sync.simulator.models import SimEvent, SimIncoming, SimProduct, SimStock


def to_erp_event(row: SimEvent) -> ErpEvent:
    return ErpEvent(
        id=row.event_id,
        type=EventType(row.type),
        aggregate=row.aggregate,
        version=row.version,
        occurred_at=row.occurred_at,
        data=row.data,
    )


def events_after(*, seq: int, limit: int) -> list[tuple[int, ErpEvent]]:
    """The change log after `seq`, faults ignored (the webhook sender reads it this way)."""
    return [
        (row.seq, to_erp_event(row)) for row in SimEvent.objects.filter(seq__gt=seq).order_by("seq")[:limit]
    ]


def last_seq() -> int:
    row = SimEvent.objects.order_by("-seq").only("seq").first()
    return row.seq if row else 0


def pull_changes(*, cursor: str | None, limit: int = 500) -> ChangeBatch:
    """Events after the cursor, oldest first (unless the reorder knob shuffles them).

    The cursor is the last sequence number returned, as a string; it stays the same when
    nothing is new. Raises ErpBadRequest on a malformed cursor or limit.
    """
    if cursor in (None, ""):
        after = 0
    elif isinstance(cursor, str) and cursor.isdigit() and len(cursor) < 19:
        after = int(cursor)
    else:
        raise ErpBadRequest(f"malformed cursor {cursor!r}")
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_PULL_LIMIT:
        raise ErpBadRequest(f"limit must be between 1 and {MAX_PULL_LIMIT}")
    seed = current_seed()
    faults.plan_call(seed=seed, operation="pull_changes", applies=False)
    rows = list(SimEvent.objects.filter(seq__gt=after).order_by("seq")[: limit + 1])
    has_more = len(rows) > limit
    rows = rows[:limit]
    new_cursor = str(rows[-1].seq) if rows else str(after)
    events = faults.scramble([to_erp_event(row) for row in rows], seed=seed)
    return ChangeBatch(events=events, cursor=new_cursor, has_more=has_more)


def daily_totals(*, since: dt.date, until: dt.date) -> list[DailyTotals]:
    """Per day of the simulator's clock (UTC) from `since` to `until`: orders first
    reported (confirmed or rejected) and invoices issued per currency, read from the
    change log, i.e. what the ERP told the front office (1 query per call)."""
    if not isinstance(since, dt.date) or not isinstance(until, dt.date) or since > until:
        raise ErpBadRequest("since and until must be dates, since <= until")
    if (until - since).days > 800:
        raise ErpBadRequest("at most 800 days per call")
    faults.plan_call(seed=current_seed(), operation="daily_totals", applies=False)
    start = dt.datetime.combine(since, dt.time.min, tzinfo=dt.UTC)
    end = dt.datetime.combine(until + dt.timedelta(days=1), dt.time.min, tzinfo=dt.UTC)
    orders: dict[dt.date, int] = {}
    invoiced: dict[dt.date, dict[str, Decimal]] = {}
    rows = SimEvent.objects.filter(
        occurred_at__gte=start,
        occurred_at__lt=end,
        type__in=[EventType.ORDER_CONFIRMED, EventType.ORDER_REJECTED, EventType.INVOICE_ISSUED],
    ).values_list("type", "aggregate", "occurred_at", "data")
    first_report: dict[str, dt.date] = {}
    for type_, aggregate, occurred_at, data in rows:
        day = occurred_at.astimezone(dt.UTC).date()
        if type_ == EventType.INVOICE_ISSUED:
            by_currency = invoiced.setdefault(day, {})
            by_currency[data["currency"]] = by_currency.get(data["currency"], Decimal(0)) + Decimal(
                data["amount"]
            )
        elif aggregate not in first_report or day < first_report[aggregate]:
            first_report[aggregate] = day
    for day in first_report.values():
        orders[day] = orders.get(day, 0) + 1
    return [
        DailyTotals(day=day, orders=orders.get(day, 0), invoiced=invoiced.get(day, {}))
        for day in sorted(set(orders) | set(invoiced))
    ]


def _incoming_of(stock: SimStock, incoming: Iterable[SimIncoming]) -> tuple[IncomingStock, ...]:
    return tuple(IncomingStock(quantity=i.quantity, expected_on=i.expected_on) for i in incoming)


def stock(skus: Sequence[str]) -> list[StockLevel]:
    """Stock of these SKUs in every warehouse, by SKU then warehouse; unknown SKUs are left out."""
    if isinstance(skus, str) or not all(isinstance(sku, str) for sku in skus):
        raise ErpBadRequest("skus must be a list of strings")
    if len(skus) > MAX_BATCH:
        raise ErpBadRequest(f"at most {MAX_BATCH} SKUs per call")
    faults.plan_call(seed=current_seed(), operation="stock", applies=False)
    rows = (
        SimStock.objects.filter(product__sku__in=list(skus))
        .select_related("product")
        .prefetch_related("incoming")
        .order_by("product__sku", "warehouse")
    )
    return [
        StockLevel(
            sku=row.product.sku,
            warehouse=row.warehouse,
            on_hand=row.on_hand,
            reserved=row.reserved,
            incoming=_incoming_of(row, row.incoming.all()),
            version=row.version,
        )
        for row in rows
    ]


def catalogue_products() -> list[Product]:
    """Every product, discontinued ones included (`active` False), by SKU."""
    faults.plan_call(seed=current_seed(), operation="catalogue", applies=False)
    return [
        Product(
            sku=row.sku,
            name=row.name,
            unit_price=row.unit_price,
            currency=row.currency,
            lead_time_days=row.lead_time_days,
            active=row.active,
            version=row.version,
        )
        for row in SimProduct.objects.order_by("sku")
    ]
