"""Where each line of an order stands: ordered, shipped, outstanding, and whether stock
is there for what is outstanding (available-to-promise). The order page shows it; the
service console reads the same (an agent answers "where is the rest of my order?").

    lines = order_lines_fulfilment(lines=order_lines, shipments=shipments)

A fixed number of queries whatever the number of lines (the ATP read: 4), none when
nothing is outstanding.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.core.exceptions import ValidationError

from backoffice_sync import atp
from backoffice_sync.models import Invoice, Shipment
from sales.orders.models import SalesOrder, SalesOrderLine


@dataclass(frozen=True)
class LineFulfilment:
    line: SalesOrderLine
    ordered: int
    shipped: int
    outstanding: int
    free_now: int | None  # stock free for the SKU now; None when nothing is outstanding
    available_on: dt.date | None  # earliest delivery of the outstanding quantity

    @property
    def covered_by_stock(self) -> bool | None:
        return None if self.free_now is None else self.free_now >= self.outstanding


def order_lines_fulfilment(
    *, lines: Sequence[SalesOrderLine], shipments: Sequence[Shipment], today: dt.date | None = None
) -> list[LineFulfilment]:
    """Per line, what shipped (the shipments' lines, matched by line number, else by
    SKU) and what is outstanding, with the ATP answer for the outstanding quantity.
    `shipments` come with their lines prefetched."""
    by_line_no: dict[int, int] = defaultdict(int)
    for shipment in shipments:
        for shipped_line in shipment.lines.all():
            by_line_no[shipped_line.line_no] += shipped_line.quantity
    rows = []
    for line in lines:
        ordered = int(line.quantity)
        shipped = min(by_line_no.get(line.line_no, 0), ordered)
        rows.append((line, ordered, shipped, ordered - shipped))
    wanted = [atp.AtpRequest(line.product_id, outstanding) for line, _, _, outstanding in rows if outstanding]
    promises: dict[int, atp.Promise] = {}
    if wanted:
        try:
            answered = iter(atp.promise_many(wanted, today=today))
        except ValidationError:  # a product the mirror no longer has: no answer
            answered = iter(())
        for index, (_, _, _, outstanding) in enumerate(rows):
            if outstanding:
                found = next(answered, None)
                if found is not None:
                    promises[index] = found
    return [
        LineFulfilment(
            line=line,
            ordered=ordered,
            shipped=shipped,
            outstanding=outstanding,
            free_now=promises[i].free_now if i in promises else None,
            available_on=promises[i].earliest_on if i in promises else None,
        )
        for i, (line, ordered, shipped, outstanding) in enumerate(rows)
    ]


@dataclass(frozen=True)
class InvoicingState:
    invoiced: Decimal
    ordered: Decimal
    currency: str

    @property
    def partial(self) -> bool:
        return Decimal(0) < self.invoiced < self.ordered

    @property
    def not_invoiced(self) -> Decimal:
        return max(self.ordered - self.invoiced, Decimal(0))


def invoicing_state(*, order: SalesOrder, invoices: Sequence[Invoice]) -> InvoicingState:
    """How much of the order is invoiced (invoices in the order's currency): the ERP
    invoices what it ships, so a partly shipped order is partly invoiced."""
    invoiced = sum((i.amount for i in invoices if i.currency == order.currency), Decimal(0))
    return InvoicingState(invoiced=invoiced, ordered=order.total, currency=order.currency)
