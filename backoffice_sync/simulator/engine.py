"""The ERP simulator: an ERP with its own tables and clock, behind both adapters.

The `stub` adapter calls these functions in-process; `manage.py run_erp_simulator` serves
the same functions over HTTP for the `http` adapter. Both therefore behave alike, faults
included (`faults.py`).

Time only moves on `tick(hours=...)`, or on `catch_up(until=..., max_hours=...)`, which
moves it towards the wall clock and never past it (the demo's periodic tick). A tick runs in steps of at most one day (ending at
midnight, so date-based rules see every date); each step, in this order:

1. purchases due that day arrive (stock.changed);
2. received orders are confirmed, or rejected when a product was discontinued since;
   confirming reserves each line in the warehouse with the most free stock when that one
   has enough, else across the warehouses, from the most free stock down, so that a line
   the warehouses' combined free stock covers ships complete (as available-to-promise
   promised); the line's `warehouse` is the one with the most free stock (order.confirmed,
   stock.changed);
3. lines still short reserve stock that has become free, in their own warehouse when it
   has enough, else the same way across the warehouses (stock.changed);
4. orders due to ship ship what is reserved: `ERP_DISPATCH_DAYS` after the day the order
   was received, and a line that was short `ERP_DISPATCH_DAYS` after the day its stock
   was reserved (the same fulfilment times available-to-promise adds to its promise);
   one shipment with a carrier and tracking number (order.shipped, or
   order.partially_shipped when something is still missing; multi-line orders sometimes
   ship in two parcels a day apart), stock leaves (stock.changed), and the shipment is
   invoiced at the order's prices, due after the customer's payment terms
   (invoice.issued);
5. orders fully shipped `ERP_TRANSIT_DAYS` ago are delivered (order.delivered);
6. invoices are paid on their payment date: on or before the due date, or 3 to 30 days
   late for customers who pay late (payment.received);
7. an open invoice past its due date is flagged once (payment.overdue);
8. stock whose free quantity plus incoming, less unreserved demand, is below the
   product's reorder point gets a purchase, due after the product's lead time plus a
   supplier delay of 2 to 7 days (stock.changed).

Every roll of the dice hashes the seed with what is decided (`dice.py`), and every table
is walked in a fixed order: the same seed, inputs and ticks give the same events.

An order for a customer_ref the ERP does not know creates a minimal customer (just the
ref, payment terms from the dice) rather than being rejected: the outbox delivers each
aggregate in order but not across aggregates, so an order can overtake its customer's
customer.upsert; the upsert then fills the customer in. The order's
erp_customer_number, when it carries one that no other customer holds, numbers that
customer, so that the upsert arriving later names the same number. A customer.upsert for a
customer_ref the ERP does not know creates the customer too: under the
erp_customer_number it carries (numbered elsewhere: an import, the demo data), or under
the next number of the ERP's own series (C-000001, ...) when it carries none. A number
already held by another customer, or a number other than the one the ERP keeps for that
customer_ref, is rejected.

Events (`SimEvent` rows, published as `ErpEvent`s): the id is "<aggregate>@<version>",
stable across redeliveries; `occurred_at` is on the simulator clock. `data` per type:

- order.confirmed, order.rejected, order.cancelled, order.partially_shipped,
  order.shipped, order.delivered (aggregate "order:<order_ref>"):
  {"order_ref", "erp_order_number", "customer_ref", "status" (received | confirmed |
  partially_shipped | shipped | delivered | cancelled | rejected), "currency",
  "requested_date" (ISO date | None), "lines": [{"line_no", "sku", "quantity",
  "reserved", "shipped", "unit_price" (string decimal), "warehouse" (the line's own;
  what is reserved may be held in several)}]}, plus
  - order.rejected, order.cancelled: "reason";
  - order.partially_shipped, order.shipped: "shipment_number", "carrier",
    "tracking_number", "shipped_on" (ISO date), "shipped_lines": [{"line_no", "sku",
    "quantity"}] (what this shipment carries);
  - order.delivered: "delivered_on".
- invoice.issued (aggregate "invoice:<number>"): {"number", "order_ref",
  "erp_order_number", "shipment_number", "customer_ref", "amount" (string decimal),
  "currency", "issued_on", "due_on"}.
- payment.received (aggregate "invoice:<number>"): {"payment_ref", "invoice_number",
  "customer_ref", "amount", "currency", "received_on"}.
- payment.overdue (aggregate "invoice:<number>"): {"invoice_number", "customer_ref",
  "amount_due", "currency", "due_on", "days_overdue"}.
- credit_note.issued (aggregate "credit_note:<number>"): {"number", "credit_ref",
  "customer_ref", "invoice_number" (or None), "amount", "currency", "reason",
  "issued_on"}.
- stock.changed (aggregate "stock:<sku>:<warehouse>"): {"sku", "warehouse", "on_hand",
  "reserved", "incoming": [{"quantity", "expected_on"}]}.
- product.changed (aggregate "product:<sku>"): {"sku", "name", "unit_price",
  "currency", "lead_time_days", "active"}.
- customer.changed (aggregate "customer:<customer_ref>"): {"customer_ref",
  "erp_customer_number", "name", "email", "phone", "billing_address",
  "shipping_address", "payment_terms_days"}.

Amounts are strings with two decimals; dates are ISO strings.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Sum
from django.utils import timezone

from backoffice_sync.erp import (
    ChangeBatch,
    DailyTotals,
    DeliveryResult,
    DeliveryStatus,
    ErpBadRequest,
    ErpEvent,
    ErpUnavailable,
    EventType,
    IncomingStock,
    MessageKind,
    OutboundMessage,
    Product,
    StockLevel,
)
from backoffice_sync.simulator import catalogue, dice, faults
from backoffice_sync.simulator.models import (
    SimCreditNote,
    SimCustomer,
    SimDelivery,
    SimEvent,
    SimFaults,
    SimForecast,
    SimIncoming,
    SimInvoice,
    SimInvoiceStatus,
    SimOrder,
    SimOrderLine,
    SimOrderStatus,
    SimPayment,
    SimProduct,
    SimReservation,
    SimShipment,
    SimState,
    SimStock,
)

logger = logging.getLogger(__name__)

MAX_BATCH = 1000
MAX_PULL_LIMIT = 1000
MAX_TICK_HOURS = 24 * 366
SPLIT_SHIPMENT_RATE = 0.3
LATE_PAYER_RATE = 0.25
PAYMENT_TERMS_DAYS = (14, 30, 30, 45, 60)
CARRIERS = ("DHL", "UPS", "DPD", "GLS")
_SHIPPED = (SimOrderStatus.PARTIALLY_SHIPPED, SimOrderStatus.SHIPPED, SimOrderStatus.DELIVERED)
_OPEN = (SimOrderStatus.CONFIRMED, SimOrderStatus.PARTIALLY_SHIPPED)
_CURRENCY = re.compile(r"[A-Z]{3}")
_MONTH = re.compile(r"\d{4}-(0[1-9]|1[0-2])")
_CENT = Decimal("0.01")
_OWN_CUSTOMER_NUMBER = re.compile(r"C-(\d{1,12})")


class Rejected(Exception):
    """A message the ERP will never apply; the text is the reason given back."""


# --- Lifecycle -----------------------------------------------------------------


def _midnight(moment: dt.datetime) -> dt.datetime:
    return moment.astimezone(dt.UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def _start(*, seed: int, start: dt.datetime) -> SimState:
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
        _product_changed(state, product)
    for opening in catalogue.opening_stock(seed=seed, today=today):
        stock = SimStock.objects.create(
            product=by_sku[opening.sku], warehouse=opening.warehouse, on_hand=opening.on_hand
        )
        for quantity, expected_on in opening.incoming:
            SimIncoming.objects.create(stock=stock, quantity=quantity, expected_on=expected_on)
        _stock_changed(state, stock)
    return state


def _lock_state() -> SimState:
    """The state row, locked (every writer's first lock); starts the ERP on first use."""
    state = SimState.objects.select_for_update().filter(pk=1).first()
    if state is not None:
        return state
    try:
        with transaction.atomic():
            return _start(seed=settings.ERP_SIMULATOR_SEED, start=_midnight(timezone.now()))
    except IntegrityError:
        # Another caller started it meanwhile (PostgreSQL made us wait for its commit).
        return SimState.objects.select_for_update().get(pk=1)


def current_seed() -> int:
    state = SimState.objects.filter(pk=1).only("seed").first()
    if state is not None:
        return state.seed
    with transaction.atomic():
        return _lock_state().seed


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
        _start(
            seed=settings.ERP_SIMULATOR_SEED if seed is None else seed,
            start=_midnight(timezone.now()) if start is None else start,
        )
        faults.restore_settings()


def now() -> dt.datetime:
    """The simulator's clock (read without the lock: health probes must not queue behind a tick)."""
    state = SimState.objects.filter(pk=1).only("now").first()
    if state is not None:
        return state.now
    with transaction.atomic():
        return _lock_state().now


# --- Reads -----------------------------------------------------------------------


def _to_erp_event(row: SimEvent) -> ErpEvent:
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
        (row.seq, _to_erp_event(row)) for row in SimEvent.objects.filter(seq__gt=seq).order_by("seq")[:limit]
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
    events = faults.scramble([_to_erp_event(row) for row in rows], seed=seed)
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


# --- Events ----------------------------------------------------------------------


def _event_row(
    state: SimState, *, type: EventType, aggregate: str, version: int, data: dict[str, Any]
) -> SimEvent:
    """An unsaved change-log row (`_emit` saves it; a batch bulk-creates them)."""
    return SimEvent(
        event_id=f"{aggregate}@{version}",
        type=type,
        aggregate=aggregate,
        version=version,
        occurred_at=state.now,
        data=data,
    )


def _emit(state: SimState, *, type: EventType, aggregate: str, version: int, data: dict[str, Any]) -> None:
    _event_row(state, type=type, aggregate=aggregate, version=version, data=data).save(force_insert=True)


def _money(amount: Decimal) -> str:
    return str(amount.quantize(_CENT))


def _product_changed(state: SimState, product: SimProduct) -> None:
    product.version += 1
    product.save(update_fields=["version", "updated_at"])
    _emit(
        state,
        type=EventType.PRODUCT_CHANGED,
        aggregate=f"product:{product.sku}",
        version=product.version,
        data={
            "sku": product.sku,
            "name": product.name,
            "unit_price": _money(product.unit_price),
            "currency": product.currency,
            "lead_time_days": product.lead_time_days,
            "active": product.active,
        },
    )


def _stock_changed(state: SimState, stock: SimStock) -> None:
    """Save the stock row and publish it, incoming purchases included."""
    stock.version += 1
    stock.save(update_fields=["on_hand", "reserved", "version", "updated_at"])
    _emit(
        state,
        type=EventType.STOCK_CHANGED,
        aggregate=f"stock:{stock.product.sku}:{stock.warehouse}",
        version=stock.version,
        data={
            "sku": stock.product.sku,
            "warehouse": stock.warehouse,
            "on_hand": stock.on_hand,
            "reserved": stock.reserved,
            "incoming": [
                {"quantity": i.quantity, "expected_on": i.expected_on.isoformat()}
                for i in SimIncoming.objects.filter(stock=stock).order_by("expected_on", "id")
            ],
        },
    )


def _customer_event(state: SimState, customer: SimCustomer) -> SimEvent:
    """The customer.changed row for the customer's current version (unsaved)."""
    return _event_row(
        state,
        type=EventType.CUSTOMER_CHANGED,
        aggregate=f"customer:{customer.customer_ref}",
        version=customer.version,
        data={
            "customer_ref": customer.customer_ref,
            "erp_customer_number": customer.number,
            "name": customer.name,
            "email": customer.email or None,
            "phone": customer.phone or None,
            "billing_address": customer.billing_address,
            "shipping_address": customer.shipping_address,
            "payment_terms_days": customer.payment_terms_days,
        },
    )


def _customer_changed(state: SimState, customer: SimCustomer) -> None:
    customer.version += 1
    customer.save()
    _customer_event(state, customer).save(force_insert=True)


def _order_changed(
    state: SimState, order: SimOrder, lines: Sequence[SimOrderLine], type: EventType, **extra: Any
) -> None:
    order.version += 1
    order.save()
    _emit(
        state,
        type=type,
        aggregate=f"order:{order.order_ref}",
        version=order.version,
        data={
            "order_ref": order.order_ref,
            "erp_order_number": order.number,
            "customer_ref": order.customer.customer_ref,
            "status": order.status,
            "currency": order.currency,
            "requested_date": order.requested_date.isoformat() if order.requested_date else None,
            "lines": [
                {
                    "line_no": line.line_no,
                    "sku": line.product.sku,
                    "quantity": line.quantity,
                    "reserved": line.reserved,
                    "shipped": line.shipped,
                    "unit_price": _money(line.unit_price),
                    "warehouse": line.warehouse,
                }
                for line in lines
            ],
            **extra,
        },
    )


def _next_number(state: SimState, kind: str, prefix: str) -> str:
    counters = dict(state.counters)
    counters[kind] = counters.get(kind, 0) + 1
    state.counters = counters
    return f"{prefix}-{counters[kind]:06d}"


# --- Payload checks --------------------------------------------------------------


def _text(payload: dict[str, Any], key: str, *, max_length: int = 100, required: bool = True) -> str:
    value = payload.get(key)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value.strip()):
        raise Rejected(f"{key} must be a non-empty string")
    if len(value) > max_length:
        raise Rejected(f"{key} must be at most {max_length} characters")
    return value


def _currency(payload: dict[str, Any]) -> str:
    value = payload.get("currency")
    if not isinstance(value, str) or not _CURRENCY.fullmatch(value):
        raise Rejected("currency must be a three-letter ISO code such as EUR")
    return value


def _decimal(value: Any, key: str, *, positive: bool) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise Rejected(f"{key} must be a decimal number")
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        raise Rejected(f"{key} must be a decimal number") from None
    if not amount.is_finite() or amount < 0 or (positive and amount == 0) or amount >= Decimal("1e11"):
        raise Rejected(f"{key} must be {'positive' if positive else 'zero or more'} (got {value})")
    return amount.quantize(_CENT)


def _quantity(value: Any, key: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise Rejected(f"{key} must be an integer")
    if value <= 0:
        raise Rejected(f"{key} must be positive (got {value})")
    if value > 1_000_000:
        raise Rejected(f"{key} is too large (got {value})")
    return value


def _optional_date(payload: dict[str, Any], key: str) -> dt.date | None:
    value = payload.get(key)
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except (TypeError, ValueError):
        raise Rejected(f"{key} must be an ISO date (YYYY-MM-DD) or null") from None


def _optional_object(payload: dict[str, Any], key: str) -> dict[str, Any] | None:
    value = payload.get(key)
    if value is not None and not isinstance(value, dict):
        raise Rejected(f"{key} must be an object or null")
    return value


def _lines(payload: dict[str, Any]) -> list[dict[str, Any]]:
    lines = payload.get("lines")
    if not isinstance(lines, list) or not lines:
        raise Rejected("lines must be a non-empty list")
    if len(lines) > MAX_BATCH:
        raise Rejected(f"at most {MAX_BATCH} lines")
    if not all(isinstance(line, dict) for line in lines):
        raise Rejected("every line must be an object")
    return lines


def _check_active(skus: Iterable[str], products: dict[str, SimProduct]) -> None:
    """Rejects the first unknown or discontinued SKU, in SKU order."""
    for sku in sorted(set(skus)):
        if sku not in products:
            raise Rejected(f"unknown SKU {sku}")
        if not products[sku].active:
            raise Rejected(f"SKU {sku} is discontinued")


def _active_products(skus: Iterable[str]) -> dict[str, SimProduct]:
    wanted = sorted(set(skus))
    products = {p.sku: p for p in SimProduct.objects.filter(sku__in=wanted)}
    _check_active(wanted, products)
    return products


def _new_customer(state: SimState, customer_ref: str, *, number: str = "") -> SimCustomer:
    """A minimal customer for a ref the ERP does not know (unsaved, version 0), under
    `number` when one is given, else the next number of the ERP's own series."""
    if number:
        _skip_customer_number(state, number)
    return SimCustomer(
        customer_ref=customer_ref,
        number=number or _next_number(state, "customer", "C"),
        payment_terms_days=dice.choice(PAYMENT_TERMS_DAYS, state.seed, "terms", customer_ref),
        pays_late=dice.roll(state.seed, "pays-late", customer_ref) < LATE_PAYER_RATE,
    )


def _skip_customer_number(state: SimState, number: str) -> None:
    """A number of the ERP's own series (C-000042) given from outside moves the series
    past it, so that no customer created later is numbered the same."""
    own = _OWN_CUSTOMER_NUMBER.fullmatch(number)
    if own is not None and int(own[1]) > state.counters.get("customer", 0):
        state.counters = {**state.counters, "customer": int(own[1])}


CUSTOMER_NUMBER_LENGTH = 20  # SimCustomer.number


def _customer_for(state: SimState, customer_ref: str, *, number: str = "") -> SimCustomer:
    """The ERP customer of this ref, created minimal when the ERP does not know it yet:
    under `number` unless another customer holds it (an order is not refused for that)."""
    customer = SimCustomer.objects.select_for_update().filter(customer_ref=customer_ref).first()
    if customer is not None:
        return customer
    if number and SimCustomer.objects.filter(number=number).exists():
        number = ""
    customer = _new_customer(state, customer_ref, number=number)
    _customer_changed(state, customer)
    return customer


# --- Messages --------------------------------------------------------------------


@dataclass(frozen=True)
class _Submit:
    """An order.submit payload that passed the checks needing no database."""

    order_ref: str
    customer_ref: str
    currency: str
    requested_date: dt.date | None
    ship_to: dict[str, Any] | None
    lines: tuple[tuple[int, str, int, Decimal], ...]  # (line_no, sku, quantity, unit_price)
    erp_customer_number: str = ""  # numbers the customer if the ERP does not know it yet

    @property
    def skus(self) -> set[str]:
        return {sku for _, sku, _, _ in self.lines}


def _parse_submit(payload: dict[str, Any]) -> _Submit:
    """Checks an order.submit payload's shape; raises Rejected with the reason."""
    order_ref = _text(payload, "order_ref")
    customer_ref = _text(payload, "customer_ref")
    erp_customer_number = _text(payload, "erp_customer_number", max_length=40, required=False)
    if len(erp_customer_number) > CUSTOMER_NUMBER_LENGTH:
        erp_customer_number = ""  # not one of this ERP's numbers: it numbers the account itself
    currency = _currency(payload)
    requested_date = _optional_date(payload, "requested_date")
    ship_to = _optional_object(payload, "ship_to")
    parsed = []
    seen: set[int] = set()
    for index, line in enumerate(_lines(payload), start=1):
        line_no = line.get("line_no", index)
        if isinstance(line_no, bool) or not isinstance(line_no, int) or line_no <= 0 or line_no in seen:
            raise Rejected(f"line {index}: line_no must be a positive integer, unique in the order")
        seen.add(line_no)
        sku = _text(line, "sku", max_length=64)
        parsed.append(
            (
                line_no,
                sku,
                _quantity(line.get("quantity"), f"line {line_no}: quantity"),
                _decimal(line.get("unit_price"), f"line {line_no}: unit_price", positive=False),
            )
        )
    return _Submit(
        order_ref, customer_ref, currency, requested_date, ship_to, tuple(parsed), erp_customer_number
    )


def _dispatch_after(moment: dt.datetime) -> dt.datetime:
    """When what is reserved on the day of `moment` ships: the ERP's dispatch days later,
    counted in days (midnight), so that the step a tick happens to end at does not move it."""
    return _midnight(moment) + dt.timedelta(days=settings.ERP_DISPATCH_DAYS)


def _already_submitted(order_ref: str, number: str) -> Rejected:
    return Rejected(f"order {order_ref} was already submitted (ERP order {number})")


def _new_order(state: SimState, submit: _Submit, customer: SimCustomer) -> SimOrder:
    return SimOrder(
        order_ref=submit.order_ref,
        number=_next_number(state, "order", "SO"),
        customer=customer,
        currency=submit.currency,
        requested_date=submit.requested_date,
        ship_to=submit.ship_to,
        received_at=state.now,
    )


def _new_lines(order: SimOrder, submit: _Submit, products: dict[str, SimProduct]) -> list[SimOrderLine]:
    return [
        SimOrderLine(order=order, line_no=line_no, product=products[sku], quantity=quantity, unit_price=price)
        for line_no, sku, quantity, price in submit.lines
    ]


def _submitted(order: SimOrder) -> dict[str, Any]:
    return {"erp_order_number": order.number, "status": str(order.status)}


def _order_submit(state: SimState, payload: dict[str, Any]) -> dict[str, Any]:
    submit = _parse_submit(payload)
    existing = SimOrder.objects.filter(order_ref=submit.order_ref).first()
    if existing is not None:
        raise _already_submitted(submit.order_ref, existing.number)
    products = _active_products(submit.skus)
    customer = _customer_for(state, submit.customer_ref, number=submit.erp_customer_number)
    order = _new_order(state, submit, customer)
    order.save(force_insert=True)
    SimOrderLine.objects.bulk_create(_new_lines(order, submit, products))
    return _submitted(order)


def _take_reservations(
    lines: Sequence[SimOrderLine],
) -> tuple[list[SimReservation], dict[tuple[int, str], SimStock]]:
    """The lines' reservations, deleted, and their stock rows, locked (the caller gives
    the units back or ships them, and publishes the rows)."""
    reservations = list(
        SimReservation.objects.filter(line__in=lines).select_related("stock").order_by("line_id", "stock_id")
    )
    stocks = _lock_stocks((r.stock.product_id, r.stock.warehouse) for r in reservations)
    SimReservation.objects.filter(pk__in=[r.pk for r in reservations]).delete()
    return reservations, stocks


def _release(state: SimState, lines: Sequence[SimOrderLine]) -> None:
    reserved = [line for line in lines if line.reserved]
    reservations, stocks = _take_reservations(reserved)
    for reservation in reservations:
        stocks[(reservation.stock.product_id, reservation.stock.warehouse)].reserved -= reservation.quantity
    for line in reserved:
        line.reserved = 0
        line.save(update_fields=["reserved", "updated_at"])
    _publish_stocks(state, stocks.values())


def _order_cancel(state: SimState, payload: dict[str, Any]) -> dict[str, Any]:
    order_ref = _text(payload, "order_ref")
    reason = _text(payload, "reason", max_length=2000, required=False)
    order = (
        SimOrder.objects.select_for_update().select_related("customer").filter(order_ref=order_ref).first()
    )
    if order is None:
        raise Rejected(f"order {order_ref} was never submitted: nothing to cancel")
    if order.status in _SHIPPED:
        raise Rejected(f"order {order_ref} is already shipped ({order.status}): it cannot be cancelled")
    if order.status == SimOrderStatus.REJECTED:
        raise Rejected(f"order {order_ref} was rejected by the ERP: nothing to cancel")
    if order.status != SimOrderStatus.CANCELLED:
        lines = _order_lines(order)
        _release(state, lines)
        order.status = SimOrderStatus.CANCELLED
        order.reason = reason
        _order_changed(state, order, lines, EventType.ORDER_CANCELLED, reason=reason)
    return {"erp_order_number": order.number, "status": str(order.status)}


def _credit_note_issue(state: SimState, payload: dict[str, Any]) -> dict[str, Any]:
    credit_ref = _text(payload, "credit_ref")
    customer_ref = _text(payload, "customer_ref")
    invoice_number = _text(payload, "invoice_number", max_length=20, required=False)
    amount = _decimal(payload.get("amount"), "amount", positive=True)
    currency = _currency(payload)
    reason = _text(payload, "reason", max_length=2000, required=False)
    existing = SimCreditNote.objects.filter(credit_ref=credit_ref).first()
    if existing is not None:
        raise Rejected(f"credit {credit_ref} was already issued as {existing.number}")
    invoice = None
    if invoice_number:
        invoice = (
            SimInvoice.objects.select_for_update()
            .select_related("customer")
            .filter(number=invoice_number)
            .first()
        )
        if invoice is None:
            raise Rejected(f"unknown invoice {invoice_number}")
        if invoice.customer.customer_ref != customer_ref:
            raise Rejected(f"invoice {invoice_number} belongs to another customer")
        if invoice.currency != currency:
            raise Rejected(f"invoice {invoice_number} is in {invoice.currency}, not {currency}")
        if invoice.credited + amount > invoice.amount:
            raise Rejected(
                f"credits would exceed invoice {invoice_number}'s amount of {_money(invoice.amount)}"
            )
    customer = _customer_for(state, customer_ref)
    note = SimCreditNote.objects.create(
        credit_ref=credit_ref,
        number=_next_number(state, "credit_note", "CN"),
        customer=customer,
        invoice=invoice,
        amount=amount,
        currency=currency,
        reason=reason,
        issued_on=state.now.date(),
    )
    if invoice is not None:
        invoice.credited += amount
        if invoice.status == SimInvoiceStatus.OPEN and invoice.credited >= invoice.amount:
            invoice.status = SimInvoiceStatus.SETTLED
        invoice.save(update_fields=["credited", "status", "updated_at"])
    _emit(
        state,
        type=EventType.CREDIT_NOTE_ISSUED,
        aggregate=f"credit_note:{note.number}",
        version=1,
        data={
            "number": note.number,
            "credit_ref": credit_ref,
            "customer_ref": customer_ref,
            "invoice_number": invoice_number or None,
            "amount": _money(amount),
            "currency": currency,
            "reason": reason,
            "issued_on": note.issued_on.isoformat(),
        },
    )
    return {"credit_note_number": note.number}


def _customer_upsert(state: SimState, payload: dict[str, Any]) -> dict[str, Any]:
    customer_ref = _text(payload, "customer_ref")
    number = _text(payload, "erp_customer_number", max_length=20, required=False)
    fields = {
        "name": _text(payload, "name", max_length=300),
        "email": _text(payload, "email", max_length=300, required=False),
        "phone": _text(payload, "phone", max_length=100, required=False),
        "billing_address": _optional_object(payload, "billing_address"),
        "shipping_address": _optional_object(payload, "shipping_address"),
    }
    customer = SimCustomer.objects.select_for_update().filter(customer_ref=customer_ref).first()
    if customer is not None and number and customer.number != number:
        raise Rejected(f"ERP customer number {number} is not the number of customer {customer_ref}")
    if customer is None and number:
        # An upsert creates the account under the number it names (numbered by another
        # system: an import, the demo data, the old ERP), as master data keyed by number
        # is created in a real ERP; a number is never given to two customers.
        owner = SimCustomer.objects.filter(number=number).values_list("customer_ref", flat=True).first()
        if owner is not None:
            raise Rejected(f"ERP customer number {number} belongs to another customer ({owner})")
        customer = _new_customer(state, customer_ref, number=number)
    if customer is None:
        customer = _customer_for(state, customer_ref)
    if customer.version == 0 or any(getattr(customer, name) != value for name, value in fields.items()):
        for name, value in fields.items():
            setattr(customer, name, value)
        _customer_changed(state, customer)
    return {"erp_customer_number": customer.number}


def _forecast_publish(state: SimState, payload: dict[str, Any]) -> dict[str, Any]:
    forecast_ref = _text(payload, "forecast_ref")
    currency = _currency(payload)
    lines = payload.get("lines")
    if (
        not isinstance(lines, list)
        or len(lines) > 10_000
        or not all(isinstance(line, dict) for line in lines)
    ):
        raise Rejected("lines must be a list of objects")
    clean = []
    for index, line in enumerate(lines, start=1):
        month = line.get("month")
        if not isinstance(month, str) or not _MONTH.fullmatch(month):
            raise Rejected(f"line {index}: month must be YYYY-MM")
        quantity = line.get("quantity")
        if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 0:
            raise Rejected(f"line {index}: quantity must be an integer, zero or more")
        clean.append(
            {
                "month": month,
                "sku": _text(line, "sku", max_length=64),
                "quantity": quantity,
                "amount": _money(_decimal(line.get("amount"), f"line {index}: amount", positive=False)),
            }
        )
    known = set(
        SimProduct.objects.filter(sku__in={line["sku"] for line in clean}).values_list("sku", flat=True)
    )
    for line in clean:
        if line["sku"] not in known:
            raise Rejected(f"unknown SKU {line['sku']}")
    SimForecast.objects.update_or_create(
        forecast_ref=forecast_ref, defaults={"currency": currency, "lines": clean}
    )
    return {"lines": len(clean)}


_HANDLERS: dict[MessageKind, Callable[[SimState, dict[str, Any]], dict[str, Any]]] = {
    MessageKind.ORDER_SUBMIT: _order_submit,
    MessageKind.ORDER_CANCEL: _order_cancel,
    MessageKind.CREDIT_NOTE_ISSUE: _credit_note_issue,
    MessageKind.CUSTOMER_UPSERT: _customer_upsert,
    MessageKind.FORECAST_PUBLISH: _forecast_publish,
}


def _answer(row: SimDelivery, *, again: bool) -> DeliveryResult:
    """The result for a remembered key: DUPLICATE when it was applied, the same rejection when not."""
    if row.status == DeliveryStatus.ACCEPTED:
        status = DeliveryStatus.DUPLICATE if again else DeliveryStatus.ACCEPTED
        return DeliveryResult(row.idempotency_key, status, data=row.data)
    return DeliveryResult(row.idempotency_key, DeliveryStatus.REJECTED, error=row.error)


def _valid_key(key: Any) -> bool:
    return isinstance(key, str) and 0 < len(key) <= 200


def _bad_key(key: Any) -> DeliveryResult:
    return DeliveryResult(
        str(key)[:200], DeliveryStatus.REJECTED, error="idempotency_key must be 1-200 characters"
    )


def _deliver_one(state: SimState, message: OutboundMessage) -> DeliveryResult:
    key = message.idempotency_key
    if not _valid_key(key):
        return _bad_key(key)
    existing = SimDelivery.objects.filter(idempotency_key=key).first()
    if existing is not None:
        return _answer(existing, again=True)
    try:
        with transaction.atomic():
            row = SimDelivery.objects.create(
                idempotency_key=key,
                kind=str(message.kind)[:40],
                aggregate=str(message.aggregate)[:200],
                status="pending",
            )
    except IntegrityError:
        # A concurrent caller claimed this key first and has committed: it was applied there.
        return _answer(SimDelivery.objects.get(idempotency_key=key), again=True)
    counters = dict(state.counters)
    try:
        try:
            kind = MessageKind(message.kind)
        except ValueError:
            raise Rejected(f"unknown message kind {message.kind!r}") from None
        if not isinstance(message.payload, dict):
            raise Rejected("payload must be an object")
        with transaction.atomic():
            row.data = _HANDLERS[kind](state, message.payload)
        row.status = DeliveryStatus.ACCEPTED
    except Rejected as exc:
        state.counters = counters
        row.status, row.error, row.data = DeliveryStatus.REJECTED, str(exc), {}
    row.save(update_fields=["status", "error", "data", "updated_at"])
    return _answer(row, again=False)


# A batch is applied in runs: consecutive order.submit messages (what the relay mostly
# sends) set-based, any other kind one by one in between, so that every message sees
# what the ones before it did, as if the batch were delivered a message at a time.

_IN_CHUNK = 500  # values per `IN (...)`: SQLite allows 999 parameters a query
_LINES_PER_INSERT = 2000


def _is_submit(message: OutboundMessage) -> bool:
    return isinstance(message.kind, str) and message.kind == MessageKind.ORDER_SUBMIT


def _chunks(values: Iterable[str]) -> Iterator[list[str]]:
    ordered = sorted(set(values))
    for start in range(0, len(ordered), _IN_CHUNK):
        yield ordered[start : start + _IN_CHUNK]


def _deliver_submits(state: SimState, messages: Sequence[OutboundMessage]) -> list[DeliveryResult]:
    """A run of order.submit messages in a constant number of queries (`_apply_submits`).

    Same results, rows, numbers and events as `_deliver_one` per message. Should a key
    or an order_ref be taken by someone else meanwhile (the state lock rules that out,
    the unique constraints guarantee it), the run is redone one message at a time, which
    answers such a key as `_deliver_one` always has.
    """
    if not connection.features.can_return_rows_from_bulk_insert:
        return [_deliver_one(state, message) for message in messages]
    counters = dict(state.counters)
    try:
        with transaction.atomic():
            return _apply_submits(state, messages)
    except IntegrityError:
        state.counters = counters
        return [_deliver_one(state, message) for message in messages]


def _apply_submits(state: SimState, messages: Sequence[OutboundMessage]) -> list[DeliveryResult]:
    # 1. What needs no database: keys and payload shapes.
    parsed: list[_Submit | Rejected | None] = []  # None: a malformed key (no row, no answer kept)
    for message in messages:
        if not _valid_key(message.idempotency_key):
            parsed.append(None)
        elif not isinstance(message.payload, dict):
            parsed.append(Rejected("payload must be an object"))
        else:
            try:
                parsed.append(_parse_submit(message.payload))
            except Rejected as exc:
                parsed.append(exc)

    # 2. Read what the run needs: its keys' earlier answers, then, for the messages that
    # will be applied or checked, the orders, products and customers they name.
    keys = [m.idempotency_key for m, entry in zip(messages, parsed, strict=True) if entry is not None]
    deliveries: dict[str, SimDelivery] = {}
    for chunk in _chunks(keys):
        deliveries.update(
            (row.idempotency_key, row) for row in SimDelivery.objects.filter(idempotency_key__in=chunk)
        )
    fresh: list[_Submit] = []
    seen_keys: set[str] = set()
    for message, entry in zip(messages, parsed, strict=True):
        key = message.idempotency_key
        if isinstance(entry, _Submit) and key not in deliveries and key not in seen_keys:
            fresh.append(entry)
        if entry is not None:
            seen_keys.add(key)
    orders: dict[str, str] = {}  # order_ref -> ERP order number
    for chunk in _chunks(submit.order_ref for submit in fresh):
        orders.update(SimOrder.objects.filter(order_ref__in=chunk).values_list("order_ref", "number"))
    products: dict[str, SimProduct] = {}
    for chunk in _chunks(sku for submit in fresh for sku in submit.skus):
        products.update((p.sku, p) for p in SimProduct.objects.filter(sku__in=chunk))
    customers: dict[str, SimCustomer] = {}
    for chunk in _chunks(submit.customer_ref for submit in fresh):
        customers.update(
            (c.customer_ref, c)
            for c in SimCustomer.objects.select_for_update().filter(customer_ref__in=chunk)
        )
    numbers_held: set[str] = set()  # numbers a customer already holds, or takes in this run
    for chunk in _chunks(submit.erp_customer_number for submit in fresh if submit.erp_customer_number):
        numbers_held.update(SimCustomer.objects.filter(number__in=chunk).values_list("number", flat=True))

    # 3. Decide each message in order, as `_deliver_one` would, on the rows read and
    # those the run has made so far.
    results: list[DeliveryResult] = []
    new_deliveries: list[SimDelivery] = []
    new_customers: list[SimCustomer] = []
    new_events: list[SimEvent] = []
    new_orders: list[SimOrder] = []
    new_lines: list[SimOrderLine] = []
    for message, entry in zip(messages, parsed, strict=True):
        key = message.idempotency_key
        if entry is None:
            results.append(_bad_key(key))
            continue
        row = deliveries.get(key)
        if row is not None:
            results.append(_answer(row, again=True))
            continue
        row = SimDelivery(
            idempotency_key=key, kind=str(message.kind)[:40], aggregate=str(message.aggregate)[:200]
        )
        deliveries[key] = row
        new_deliveries.append(row)
        try:
            if isinstance(entry, Rejected):
                raise entry
            if entry.order_ref in orders:
                raise _already_submitted(entry.order_ref, orders[entry.order_ref])
            _check_active(entry.skus, products)
        except Rejected as exc:
            row.status, row.error, row.data = DeliveryStatus.REJECTED, str(exc), {}
            results.append(_answer(row, again=False))
            continue
        customer = customers.get(entry.customer_ref)
        if customer is None:
            number = "" if entry.erp_customer_number in numbers_held else entry.erp_customer_number
            customer = customers[entry.customer_ref] = _new_customer(state, entry.customer_ref, number=number)
            numbers_held.add(customer.number)
            customer.version = 1
            new_customers.append(customer)
            new_events.append(_customer_event(state, customer))
        order = _new_order(state, entry, customer)
        orders[order.order_ref] = order.number
        new_orders.append(order)
        new_lines.extend(_new_lines(order, entry, products))
        row.status, row.data = DeliveryStatus.ACCEPTED, _submitted(order)
        results.append(_answer(row, again=False))

    # 4. Write it all, each table in message order (so ids and sequence numbers come
    # out as they would one message at a time).
    SimCustomer.objects.bulk_create(new_customers)
    SimEvent.objects.bulk_create(new_events)
    SimOrder.objects.bulk_create(new_orders)
    SimOrderLine.objects.bulk_create(new_lines, batch_size=_LINES_PER_INSERT)
    SimDelivery.objects.bulk_create(new_deliveries)
    return results


def deliver(messages: Sequence[OutboundMessage]) -> list[DeliveryResult]:
    """Apply a batch in one transaction; one result per message, in order.

    Runs of consecutive order.submit messages are applied set-based (a constant number
    of queries per run, `_deliver_submits`), other kinds one at a time in between: the
    outcome is that of delivering the messages one after the other.

    Raises ErpUnavailable on an outage or an injected error, before applying anything
    or, for about half of the injected errors, after committing the batch.
    """
    messages = list(messages)
    if len(messages) > MAX_BATCH:
        raise ErpBadRequest(f"at most {MAX_BATCH} messages per batch")
    plan = faults.plan_call(seed=current_seed(), operation="deliver", applies=True)
    with transaction.atomic():
        state = _lock_state()
        results: list[DeliveryResult] = []
        run: list[OutboundMessage] = []
        for message in messages:
            if _is_submit(message):
                run.append(message)
                continue
            if run:
                results.extend(_deliver_submits(state, run))
                run = []
            results.append(_deliver_one(state, message))
        if run:
            results.extend(_deliver_submits(state, run))
        state.save(update_fields=["counters", "updated_at"])
    if plan.fail_after_apply:
        raise ErpUnavailable("ERP simulator: injected error after the batch was applied (answer lost)")
    return results


# --- Time ------------------------------------------------------------------------


@dataclass(frozen=True)
class TickResult:
    now: dt.datetime
    events: int  # appended to the change log by this tick


def _check_hours(hours: float) -> None:
    if isinstance(hours, bool) or not isinstance(hours, int | float) or not 0 < hours <= MAX_TICK_HOURS:
        raise ValueError(f"hours must be a number above 0 and at most {MAX_TICK_HOURS}")


def tick(*, hours: float) -> TickResult:
    """Move the clock forward and let the ERP work (see the module docstring)."""
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
        state = _lock_state()
        end = end_from(state.now)
        if end <= state.now:
            return TickResult(now=state.now, events=0)
        before = last_seq()
        while state.now < end:
            state.now = min(end, _midnight(state.now) + dt.timedelta(days=1))
            _step(state)
        state.save(update_fields=["now", "counters", "updated_at"])
        added = SimEvent.objects.filter(seq__gt=before).count()
    return TickResult(now=state.now, events=added)


def _step(state: SimState) -> None:
    _receive_incoming(state)
    _confirm_received(state)
    _allocate_backorders(state)
    _ship_due(state)
    _mark_delivered(state)
    _collect_payments(state)
    _flag_overdue(state)
    _replenish(state)


def _lock_stocks(keys: Iterable[tuple[int, str]]) -> dict[tuple[int, str], SimStock]:
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


def _order_lines(order: SimOrder) -> list[SimOrderLine]:
    return list(order.lines.select_related("product").order_by("line_no"))


def _open_orders(*statuses: str) -> list[SimOrder]:
    return list(
        SimOrder.objects.select_for_update()
        .select_related("customer")
        .filter(status__in=statuses)
        .order_by("number")
    )


def _receive_incoming(state: SimState) -> None:
    due = list(SimIncoming.objects.filter(expected_on__lte=state.now.date()).order_by("expected_on", "id"))
    if not due:
        return
    stocks = _lock_stocks(
        SimStock.objects.filter(pk__in={i.stock_id for i in due}).values_list("product_id", "warehouse")
    )
    by_pk = {row.pk: row for row in stocks.values()}
    for incoming in due:
        by_pk[incoming.stock_id].on_hand += incoming.quantity
    SimIncoming.objects.filter(pk__in=[i.pk for i in due]).delete()
    for row in sorted(by_pk.values(), key=lambda r: (r.product.sku, r.warehouse)):
        _stock_changed(state, row)


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
    line: SimOrderLine,
    candidates: Sequence[SimStock],
    held: dict[tuple[int, int], SimReservation],
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
    return _lock_stocks((line.product_id, w) for line in lines for w in catalogue.WAREHOUSES)


def _publish_stocks(state: SimState, rows: Iterable[SimStock]) -> None:
    for row in sorted({row.pk: row for row in rows}.values(), key=lambda r: (r.product.sku, r.warehouse)):
        _stock_changed(state, row)


def _confirm_received(state: SimState) -> None:
    for order in _open_orders(SimOrderStatus.RECEIVED):
        lines = _order_lines(order)
        discontinued = sorted({line.product.sku for line in lines if not line.product.active})
        if discontinued:
            order.status = SimOrderStatus.REJECTED
            order.reason = f"discontinued: {', '.join(discontinued)}"
            _order_changed(state, order, lines, EventType.ORDER_REJECTED, reason=order.reason)
            continue
        stocks = _lock_product_stocks(lines)
        held: dict[tuple[int, int], SimReservation] = {}
        touched = [row for line in lines for row in _reserve(line, _candidates(line, stocks), held)]
        order.status = SimOrderStatus.CONFIRMED
        order.confirmed_at = state.now
        # Counted from the day the ERP received the order: a real ERP confirms on receipt,
        # the simulator at its next step, which may be the next midnight.
        order.ship_after = _dispatch_after(order.received_at)
        _order_changed(state, order, lines, EventType.ORDER_CONFIRMED)
        _publish_stocks(state, touched)


def _allocate_backorders(state: SimState) -> None:
    short = list(
        SimOrderLine.objects.filter(order__status__in=_OPEN, reserved__lt=F("quantity") - F("shipped"))
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
    _publish_stocks(state, touched)
    _dispatch_supplied(state, supplied)


def _dispatch_supplied(state: SimState, order_ids: set[int]) -> None:
    """Orders whose short lines got stock today ship it the ERP's dispatch days later (or
    when they were due to ship anyway, if that is later)."""
    if not order_ids:
        return
    due = _dispatch_after(state.now)
    for order in SimOrder.objects.select_for_update().filter(pk__in=order_ids).order_by("number"):
        if order.ship_after is None or order.ship_after < due:
            order.ship_after = due
            order.save(update_fields=["ship_after", "updated_at"])


def _ship_due(state: SimState) -> None:
    for order in _open_orders(*_OPEN):
        if order.ship_after is None or order.ship_after > state.now:
            continue
        lines = _order_lines(order)
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
    number = _next_number(state, "shipment", "SH")
    carrier = dice.choice(CARRIERS, state.seed, "carrier", number)
    tracking = f"{carrier}{dice.randint(10**9, 10**10 - 1, state.seed, 'tracking', number)}"
    reservations, stocks = _take_reservations(ready)
    for reservation in reservations:
        stock_row = stocks[(reservation.stock.product_id, reservation.stock.warehouse)]
        stock_row.on_hand -= reservation.quantity
        stock_row.reserved -= reservation.quantity
    shipped_lines = []
    amount = Decimal("0.00")
    for line in ready:
        quantity = line.reserved
        line.reserved = 0
        line.shipped += quantity
        line.save(update_fields=["reserved", "shipped", "updated_at"])
        amount += (line.unit_price * quantity).quantize(_CENT)
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
    _order_changed(
        state,
        order,
        lines,
        EventType.ORDER_SHIPPED if complete else EventType.ORDER_PARTIALLY_SHIPPED,
        shipment_number=number,
        carrier=carrier,
        tracking_number=tracking,
        shipped_on=state.now.date().isoformat(),
        shipped_lines=shipped_lines,
    )
    _publish_stocks(state, stocks.values())
    _invoice(state, order, shipment, amount)


def _invoice(state: SimState, order: SimOrder, shipment: SimShipment, amount: Decimal) -> None:
    customer = order.customer
    number = _next_number(state, "invoice", "INV")
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
    _emit(
        state,
        type=EventType.INVOICE_ISSUED,
        aggregate=f"invoice:{number}",
        version=invoice.version,
        data={
            "number": number,
            "order_ref": order.order_ref,
            "erp_order_number": order.number,
            "shipment_number": shipment.number,
            "customer_ref": customer.customer_ref,
            "amount": _money(amount),
            "currency": invoice.currency,
            "issued_on": issued_on.isoformat(),
            "due_on": due_on.isoformat(),
        },
    )


def _mark_delivered(state: SimState) -> None:
    for order in _open_orders(SimOrderStatus.SHIPPED):
        if (
            order.last_shipped_at
            and order.last_shipped_at + dt.timedelta(days=settings.ERP_TRANSIT_DAYS) <= state.now
        ):
            order.status = SimOrderStatus.DELIVERED
            _order_changed(
                state,
                order,
                _order_lines(order),
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


def _invoice_event(state: SimState, invoice: SimInvoice, type: EventType, data: dict[str, Any]) -> None:
    invoice.version += 1
    invoice.save()
    _emit(state, type=type, aggregate=f"invoice:{invoice.number}", version=invoice.version, data=data)


def _collect_payments(state: SimState) -> None:
    today = state.now.date()
    for invoice in _open_invoices():
        if invoice.pay_on > today:
            continue
        due = invoice.amount - invoice.credited
        payment = SimPayment.objects.create(
            reference=_next_number(state, "payment", "PAY"),
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
                "amount": _money(due),
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
                "amount_due": _money(invoice.amount - invoice.credited),
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
        order__status__in=_OPEN
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
    stocks = _lock_stocks((row.product_id, row.warehouse) for row, _ in low)
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
        _stock_changed(state, locked)


# --- ERP-side edits (what the back office's own users do; demos and tests) -------------


def product_update(*, sku: str, **changes: Any) -> Product:
    """Change a product as the ERP's product manager would (name, unit_price, lead_time_days, active)."""
    allowed = {"name", "unit_price", "lead_time_days", "active", "reorder_point", "reorder_quantity"}
    if not set(changes) <= allowed:
        raise ValueError(f"unknown product fields: {sorted(set(changes) - allowed)}")
    with transaction.atomic():
        state = _lock_state()
        product = SimProduct.objects.select_for_update().get(sku=sku)
        for name, value in changes.items():
            setattr(product, name, value)
        product.full_clean()
        product.save()
        _product_changed(state, product)
    return Product(
        sku=product.sku,
        name=product.name,
        unit_price=Decimal(product.unit_price),
        currency=product.currency,
        lead_time_days=product.lead_time_days,
        active=product.active,
        version=product.version,
    )


def stock_set(
    *, sku: str, warehouse: str, on_hand: int, incoming: Sequence[tuple[int, dt.date]] = ()
) -> None:
    """Count stock as a warehouse inventory would; replaces the incoming purchases too."""
    with transaction.atomic():
        state = _lock_state()
        row = (
            SimStock.objects.select_for_update()
            .select_related("product")
            .get(product__sku=sku, warehouse=warehouse)
        )
        if on_hand < row.reserved:
            raise ValueError(f"{row.reserved} are reserved: on_hand cannot go below that")
        row.on_hand = on_hand
        SimIncoming.objects.filter(stock=row).delete()
        for quantity, expected_on in incoming:
            SimIncoming.objects.create(stock=row, quantity=quantity, expected_on=expected_on)
        _stock_changed(state, row)


def customer_update(
    *, customer_ref: str, payment_terms_days: int | None = None, pays_late: bool | None = None
) -> None:
    """Set a customer's payment behaviour as credit control would (the customer is created if new)."""
    with transaction.atomic():
        state = _lock_state()
        customer = _customer_for(state, customer_ref)
        if payment_terms_days is not None:
            customer.payment_terms_days = payment_terms_days
        if pays_late is not None:
            customer.pays_late = pays_late
        _customer_changed(state, customer)
        state.save(update_fields=["counters", "updated_at"])
