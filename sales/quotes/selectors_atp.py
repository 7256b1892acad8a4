"""Available-to-promise for a quote's lines: the date the back office can deliver each
line by, and the quote's promised date (the latest). Read by the quote builder, by
sending (which promises that date) and by accepting (which checks it again, live)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.utils import timezone

from backoffice_sync.atp import AtpRequest, Promise, promise_many
from sales.quotes.models import Quote, QuoteLine


def line_needs_approval(line: QuoteLine, quote: Quote) -> bool:
    """A line discount above the limit of whoever set the lines needs a manager's approval."""
    return line.discount_percent > quote.discount_limit_percent


@dataclass(frozen=True)
class LineAtp:
    line: QuoteLine
    promise: Promise | None
    needs_approval: bool


@dataclass(frozen=True)
class QuoteDelivery:
    """Available-to-promise for a quote's lines (one `promise_many` call)."""

    lines: list[LineAtp]
    promised_on: dt.date | None  # the latest line date
    requested_on: dt.date | None
    requested_in_past: bool
    error: str  # the back office could not promise (a SKU left the catalogue)
    # One unit of each SKU asked for `also` (products offered to add), by SKU.
    also: dict[str, Promise] = field(default_factory=dict)

    @property
    def meets_request(self) -> bool | None:
        if self.requested_on is None or self.promised_on is None:
            return None
        return self.promised_on <= self.requested_on

    @property
    def needs_approval(self) -> bool:
        return any(line.needs_approval for line in self.lines)


def quote_delivery(
    *, quote: Quote, lines: Sequence[QuoteLine], today: dt.date | None = None, also: Sequence[str] = ()
) -> QuoteDelivery:
    """ATP per line and the promised date; 6 queries whatever the number of lines. `also`
    (SKUs not on the quote, e.g. recommended ones): one unit of each, in the same call,
    after the lines, so that they do not take stock from the lines."""
    today = today or timezone.localdate()
    requested = quote.requested_delivery_on
    in_past = requested is not None and requested < today
    asked = None if in_past else requested
    promises: list[Promise | None] = [None] * len(lines)
    extra = [sku for sku in dict.fromkeys(also) if sku]
    also_promises: dict[str, Promise] = {}
    error = ""
    requests = [AtpRequest(ln.product_id, ln.quantity, asked) for ln in lines]
    if requests or extra:
        try:
            found = list(
                promise_many([*requests, *(AtpRequest(sku, 1, asked) for sku in extra)], today=today)
            )
            promises = list(found[: len(lines)])
            also_promises = dict(zip(extra, found[len(lines) :], strict=True))
        except ValidationError as exc:
            if not extra or not requests:
                error = "; ".join(exc.messages) if requests else ""
            else:
                # An offered product may not spoil the lines' dates: ask again without them.
                try:
                    promises = list(promise_many(requests, today=today))
                except ValidationError as again:
                    error = "; ".join(again.messages)
    rows = [LineAtp(ln, p, line_needs_approval(ln, quote)) for ln, p in zip(lines, promises, strict=True)]
    dates = [p.earliest_on for p in promises if p is not None]
    return QuoteDelivery(
        lines=rows,
        promised_on=max(dates, default=None),
        requested_on=requested,
        requested_in_past=in_past,
        error=error,
        also=also_promises,
    )
