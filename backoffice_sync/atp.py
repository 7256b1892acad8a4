"""Available-to-promise: the earliest day the back office can deliver a quantity of a SKU.

Read from the mirrors (stock per warehouse with incoming deliveries, the product's lead
time) and from the outbox: orders the front office has committed but the ERP has not
acknowledged yet hold stock too, or two reps could promise the same last units while the
ERP is down. The goods are available (`source`), in order:

1. free stock now (on hand - reserved by the ERP - held by orders still in the outbox)
   covers the quantity: today;
2. else the day cumulative incoming deliveries cover it;
3. else the product's lead time from today (the ERP reorders).

The promise (`earliest_on`) is the *delivery* date: that day plus the ERP's fulfilment
times, `ERP_DISPATCH_DAYS` (to shipping) and `ERP_TRANSIT_DAYS` (to the customer), the
same settings the ERP simulator keeps.

Bounded: `promise_many` runs 6 queries whatever the number of lines.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal, get_args

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models import Sum
from django.utils import timezone

from backoffice_sync.erp import MessageKind
from backoffice_sync.models import OutboxMessage, OutboxStatus, Product, StockLevel
from backoffice_sync.selectors_mirrors import available_to_promise

Source = Literal["stock", "incoming", "lead_time"]
SOURCES: tuple[Source, ...] = get_args(Source)  # for choice fields
MAX_QUANTITY = 1_000_000


@dataclass(frozen=True)
class AtpRequest:
    sku: str
    quantity: int
    requested_on: dt.date | None = None


@dataclass(frozen=True)
class Promise:
    sku: str
    quantity: int
    requested_on: dt.date | None
    earliest_on: dt.date  # the delivery date: available, dispatched, in transit
    source: Source  # where the goods come from, which sets the day they are available
    free_now: int  # after the ERP's reservations and the outbox's holds
    reserved_by_erp: int  # held by open orders the ERP knows
    held_by_outbox: int  # held by orders committed here, not yet acknowledged by the ERP
    lead_time_days: int
    incoming: list[tuple[dt.date, int]] = field(default_factory=list)

    @property
    def meets_request(self) -> bool | None:
        """None when no date was requested."""
        return None if self.requested_on is None else self.earliest_on <= self.requested_on


def _held_by_outbox(skus: Iterable[str]) -> dict[str, int]:
    """Quantities of orders committed but not yet delivered to the ERP (1 query)."""
    wanted = set(skus)
    held: dict[str, int] = defaultdict(int)
    payloads = OutboxMessage.objects.filter(
        kind=MessageKind.ORDER_SUBMIT, status=OutboxStatus.PENDING
    ).values_list("payload", flat=True)
    for payload in payloads.iterator(chunk_size=500):
        for line in payload.get("lines", ()) if isinstance(payload, dict) else ():
            sku = line.get("sku") if isinstance(line, dict) else None
            if sku in wanted:
                try:
                    held[sku] += max(int(line.get("quantity", 0)), 0)
                except (TypeError, ValueError):
                    continue
    return held


def fulfilment_days() -> int:
    """Days from the goods being available to their delivery: the ERP's dispatch and
    transit times."""
    return settings.ERP_DISPATCH_DAYS + settings.ERP_TRANSIT_DAYS


def validate(requests: Sequence[AtpRequest], *, today: dt.date) -> dict[str, Product]:
    """Field errors for bad input (ValidationError keyed like the API's fields), else the
    products by SKU (1 query)."""
    errors: dict[str, list[str]] = defaultdict(list)
    for request in requests:
        if not 1 <= request.quantity <= MAX_QUANTITY:
            errors["quantity"].append(f"Quantity must be between 1 and {MAX_QUANTITY:,}.")
        if request.requested_on is not None and request.requested_on < today:
            errors["requested_date"].append("The requested date is in the past.")
    products = {p.sku: p for p in Product.objects.filter(sku__in={r.sku for r in requests})}
    for request in requests:
        product = products.get(request.sku)
        if product is None:
            errors["sku"].append(f"Unknown SKU {request.sku!r}: the ERP's catalogue does not have it.")
        elif not product.active:
            errors["sku"].append(f"SKU {request.sku!r} is no longer sold.")
    if errors:
        raise ValidationError({name: sorted(set(messages)) for name, messages in errors.items()})
    return products


def promise_many(requests: Sequence[AtpRequest], *, today: dt.date | None = None) -> list[Promise]:
    """One promise per request, in order. Lines of the same SKU draw on the same stock one
    after the other, as a quote's lines would. Raises ValidationError on bad input."""
    today = today or timezone.localdate()
    products = validate(requests, today=today)
    skus = sorted({r.sku for r in requests})
    availability = available_to_promise(skus=skus)
    held = _held_by_outbox(skus)
    reserved = _reserved_by_erp(skus)
    drawn: dict[str, int] = defaultdict(int)
    fulfilment = dt.timedelta(days=fulfilment_days())
    promises = []
    for request in requests:
        product = products[request.sku]
        stock = availability[request.sku]
        free = max(stock.free_now - held.get(request.sku, 0), 0)
        needed = drawn[request.sku] + request.quantity
        drawn[request.sku] = needed
        source: Source
        if needed <= free:
            earliest, source = today, "stock"
        else:
            earliest, source = today + dt.timedelta(days=product.lead_time_days), "lead_time"
            running = free
            for expected_on, quantity in stock.incoming:
                running += quantity
                if running >= needed:
                    earliest, source = max(expected_on, today), "incoming"
                    break
            # Incoming stock later than a fresh reorder would be a worse promise.
            lead_time_on = today + dt.timedelta(days=product.lead_time_days)
            if source == "incoming" and earliest > lead_time_on:
                earliest, source = lead_time_on, "lead_time"
        promises.append(
            Promise(
                sku=request.sku,
                quantity=request.quantity,
                requested_on=request.requested_on,
                earliest_on=earliest + fulfilment,
                source=source,
                free_now=free,
                reserved_by_erp=reserved.get(request.sku, 0),
                held_by_outbox=held.get(request.sku, 0),
                lead_time_days=product.lead_time_days,
                incoming=list(stock.incoming),
            )
        )
    return promises


def promise(
    *, sku: str, quantity: int, requested_on: dt.date | None = None, today: dt.date | None = None
) -> Promise:
    (result,) = promise_many([AtpRequest(sku, quantity, requested_on)], today=today)
    return result


def _reserved_by_erp(skus: Sequence[str]) -> dict[str, int]:
    rows = (
        StockLevel.objects.filter(product__sku__in=skus)
        .values("product__sku")
        .annotate(reserved=Sum("reserved"))
        .values_list("product__sku", "reserved")
    )
    return {sku: reserved or 0 for sku, reserved in rows}
