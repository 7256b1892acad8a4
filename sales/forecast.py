"""The sales forecast: the weighted pipeline, its weekly publication to the ERP, and its
accuracy against the orders the ERP received.

Weighted pipeline: for each open opportunity with an expected close date,
amount x stage probability / 100, grouped by (currency, close month); per product, each
opportunity line's quantity and amount (quantity x unit price) weighted the same way,
grouped by (currency, close month, SKU). Both are computed by the database (GROUP BY):
two queries whatever the number of opportunities.

Publication (`forecast_publish`): one `FORECAST_PUBLISH` outbox message per currency for
the ISO week, with the product lines of the current month onwards (an overdue open
opportunity is not demand the ERP can plan for). A `ForecastSnapshot` per (week,
currency) records what was sent; publishing the same week again sends nothing.

Accuracy (`forecast_accuracy`): for each past month and currency, the forecast is the
sum of the line amounts for that month in the latest snapshot taken before the month
began; the actual is the sum, over ERP orders created that month in that currency and
not cancelled or rejected, of quantity x unit price, both the order's own: the currency
and net prices the ERP reported for the order (mirrored on `ErpOrder`/`ErpOrderLine`),
else those of the front office's `SalesOrder` of the same order_ref (`_actual_orders`).
A GBP order counts towards the GBP forecast only, at its GBP prices.
accuracy = 1 - |actual - forecast| / max(forecast, actual), in [0, 1]; 1 when both are 0.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.db.models import Count, DecimalField, ExpressionWrapper, F, OuterRef, Subquery, Sum, Value
from django.db.models.functions import Cast, Coalesce, NullIf, TruncMonth
from django.utils import timezone

from backoffice_sync.contracts import ForecastLine, ForecastPublish
from backoffice_sync.erp import MessageKind
from backoffice_sync.models import ErpOrderLine, ErpOrderStatus
from backoffice_sync.outbox import outbox_enqueue
from sales.models import (
    ForecastSnapshot,
    Opportunity,
    OpportunityLine,
    OpportunityStatus,
    SalesOrder,
    SalesOrderLine,
)

PUBLISH_PERMISSION = "sales.add_forecastsnapshot"
CENT = Decimal("0.01")
HUNDRED = Decimal(100)
EXCLUDED_ORDER_STATUSES = (ErpOrderStatus.CANCELLED, ErpOrderStatus.REJECTED)
WIDE_MONEY = DecimalField(max_digits=24, decimal_places=6)


def month_key(day: dt.date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def month_start(key: str) -> dt.date:
    year, month = key.split("-")
    return dt.date(int(year), int(month), 1)


def next_month(day: dt.date) -> dt.date:
    return dt.date(day.year + (day.month == 12), day.month % 12 + 1, 1)


def _as_date(value: Any) -> dt.date:
    return value.date() if isinstance(value, dt.datetime) else value


def _money(value: Any) -> Decimal:
    return Decimal(value or 0).quantize(CENT, rounding=ROUND_HALF_UP)


def _weighted(value: Any) -> Decimal:
    """A SUM(x * probability) from the database, divided by 100 and rounded to cents."""
    return (Decimal(value or 0) / HUNDRED).quantize(CENT, rounding=ROUND_HALF_UP)


# --- weighted pipeline -------------------------------------------------------------------


def _open_opportunities(*, currency: str | None, month_from: dt.date | None, month_to: dt.date | None) -> Any:
    rows = Opportunity.objects.filter(status=OpportunityStatus.OPEN, expected_close_date__isnull=False)
    if currency:
        rows = rows.filter(currency=currency)
    if month_from:
        rows = rows.filter(expected_close_date__gte=month_from.replace(day=1))
    if month_to:
        rows = rows.filter(expected_close_date__lt=next_month(month_to))
    return rows


def weighted_pipeline(
    *,
    currency: str | None = None,
    month_from: dt.date | None = None,
    month_to: dt.date | None = None,
    month: dt.date | None = None,
) -> dict[str, Any]:
    """The weighted pipeline by (currency, month) and by (currency, month, SKU).

    `month_from`/`month_to` bound the close months (inclusive); `month` narrows the
    product rows to one month. Two queries.
    """
    opportunities = _open_opportunities(currency=currency, month_from=month_from, month_to=month_to)
    by_month = (
        opportunities.annotate(month=TruncMonth("expected_close_date"))
        .values("currency", "month")
        .annotate(
            total=Sum("amount"),
            weighted=Sum(ExpressionWrapper(F("amount") * F("stage__probability"), output_field=WIDE_MONEY)),
            opportunities=Count("id"),
        )
        .order_by("currency", "month")
    )
    lines = OpportunityLine.objects.filter(opportunity__in=opportunities.values("pk"))
    if month:
        start = month.replace(day=1)
        lines = lines.filter(
            opportunity__expected_close_date__gte=start,
            opportunity__expected_close_date__lt=next_month(start),
        )
    line_amount = ExpressionWrapper(F("quantity") * F("unit_price"), output_field=WIDE_MONEY)
    probability = F("opportunity__stage__probability")
    by_product = (
        lines.annotate(
            month=TruncMonth("opportunity__expected_close_date"), currency=F("opportunity__currency")
        )
        .values("currency", "month", "sku")
        .annotate(
            total_quantity=Sum("quantity"),
            weighted_quantity=Sum(ExpressionWrapper(F("quantity") * probability, output_field=WIDE_MONEY)),
            total_amount=Sum(line_amount),
            weighted_amount=Sum(
                ExpressionWrapper(F("quantity") * F("unit_price") * probability, output_field=WIDE_MONEY)
            ),
        )
        .order_by("currency", "month", "sku")
    )
    return {
        "months": [
            {
                "currency": row["currency"],
                "month": month_key(_as_date(row["month"])),
                "opportunities": row["opportunities"],
                "amount": _money(row["total"]),
                "weighted_amount": _weighted(row["weighted"]),
            }
            for row in by_month
        ],
        "products": [
            {
                "currency": row["currency"],
                "month": month_key(_as_date(row["month"])),
                "sku": row["sku"],
                "quantity": Decimal(row["total_quantity"]).quantize(Decimal("0.001")),
                "weighted_quantity": (Decimal(row["weighted_quantity"]) / HUNDRED).quantize(Decimal("0.001")),
                "amount": _money(row["total_amount"]),
                "weighted_amount": _weighted(row["weighted_amount"]),
            }
            for row in by_product
        ],
    }


# --- publication -------------------------------------------------------------------------


@dataclass(frozen=True)
class PublishResult:
    week: str
    published: list[ForecastSnapshot]
    already_published: list[ForecastSnapshot]


def iso_week(day: dt.date) -> tuple[str, dt.date]:
    year, week, weekday = day.isocalendar()
    return f"{year:04d}-W{week:02d}", day - dt.timedelta(days=weekday - 1)


def forecast_ref(week: str, currency: str) -> str:
    return f"FC-{week}-{currency}"


def _payload_lines(products: list[dict[str, Any]]) -> dict[str, list[ForecastLine]]:
    """Per currency, the ERP's lines: whole units (rounded half up) and cents."""
    per_currency: dict[str, list[ForecastLine]] = defaultdict(list)
    for row in products:
        per_currency[row["currency"]].append(
            {
                "month": row["month"],
                "sku": row["sku"],
                "quantity": int(row["weighted_quantity"].quantize(Decimal(1), rounding=ROUND_HALF_UP)),
                "amount": str(row["weighted_amount"]),
            }
        )
    return per_currency


def forecast_publish(*, actor: Any = None, today: dt.date | None = None) -> PublishResult:
    """Publish this ISO week's forecast to the ERP: one outbox message per currency.

    Idempotent per (week, currency): a currency already published this week is left as
    it is. `actor` None is the scheduler; a person needs `sales.add_forecastsnapshot`.
    """
    if actor is not None and not actor.has_perm(PUBLISH_PERMISSION):
        raise PermissionDenied("Only admins may publish the forecast.")
    today = today or timezone.localdate()
    week, week_start = iso_week(today)
    products = weighted_pipeline(month_from=today.replace(day=1))["products"]
    published: list[ForecastSnapshot] = []
    already: list[ForecastSnapshot] = []
    with transaction.atomic():
        existing = {s.currency: s for s in ForecastSnapshot.objects.filter(week=week)}
        for currency, lines in sorted(_payload_lines(products).items()):
            if currency in existing:
                already.append(existing[currency])
                continue
            ref = forecast_ref(week, currency)
            total = sum((Decimal(line["amount"]) for line in lines), Decimal(0))
            try:
                with transaction.atomic():  # a concurrent publish of the same week wins
                    snapshot = ForecastSnapshot.objects.create(
                        week=week,
                        week_start=week_start,
                        currency=currency,
                        forecast_ref=ref,
                        lines=lines,
                        total_amount=total,
                    )
            except IntegrityError:
                already.append(ForecastSnapshot.objects.get(week=week, currency=currency))
                continue
            message = outbox_enqueue(
                kind=MessageKind.FORECAST_PUBLISH,
                aggregate=f"forecast:{ref}",
                payload=ForecastPublish(forecast_ref=ref, currency=currency, lines=lines),
            )
            ForecastSnapshot.objects.filter(pk=snapshot.pk).update(outbox_message_id=message.pk)
            snapshot.outbox_message_id = message.pk
            published.append(snapshot)
    return PublishResult(week=week, published=published, already_published=already)


def recent_snapshots(limit: int = 10) -> list[ForecastSnapshot]:
    """The last published snapshots, newest first: one query."""
    return list(ForecastSnapshot.objects.order_by("-week_start", "currency")[:limit])


# --- accuracy ----------------------------------------------------------------------------


def accuracy_ratio(forecast: Decimal, actual: Decimal) -> Decimal:
    """1 - |actual - forecast| / max(forecast, actual); 1 when both are zero."""
    largest = max(forecast, actual)
    if largest <= 0:
        return Decimal(1)
    return (1 - abs(actual - forecast) / largest).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)


def _actual_orders(start: dt.date, end: dt.date, currency: str | None) -> dict[tuple[str, str], Decimal]:
    """Per (currency, month): sum of quantity x unit price of the lines of ERP orders
    created that month, in the order's currency. One query.

    Currency and price are the ERP's (mirrored from its order events); where the ERP did
    not say, the front office's own order (`SalesOrder`, same order_ref, its line of the
    same number and SKU, net of its discount) answers. A line neither knows is left out:
    the catalogue's price is in the catalogue's currency, not the order's.
    """
    tz = timezone.get_current_timezone()
    sales_order = SalesOrder.objects.filter(order_ref=OuterRef("order__order_ref"))
    sales_line = SalesOrderLine.objects.filter(
        order__order_ref=OuterRef("order__order_ref"), line_no=OuterRef("line_no"), product_id=OuterRef("sku")
    ).annotate(
        net=ExpressionWrapper(
            F("unit_price") * (HUNDRED - F("discount_percent")) / HUNDRED, output_field=WIDE_MONEY
        )
    )
    lines = ErpOrderLine.objects.filter(
        order__created_at__gte=dt.datetime.combine(start, dt.time.min, tzinfo=tz),
        order__created_at__lt=dt.datetime.combine(end, dt.time.min, tzinfo=tz),
    ).exclude(order__status__in=EXCLUDED_ORDER_STATUSES)
    rows = (
        lines.annotate(
            month=TruncMonth("order__created_at", tzinfo=tz),
            order_currency=Coalesce(
                NullIf(F("order__currency"), Value("")), Subquery(sales_order.values("currency")[:1])
            ),
            price=Coalesce(
                Cast("unit_price", WIDE_MONEY),
                Subquery(sales_line.values("net")[:1], output_field=WIDE_MONEY),
            ),
        )
        .filter(order_currency__isnull=False, price__isnull=False)
        .values("order_currency", "month")
        .annotate(actual=Sum(ExpressionWrapper(F("quantity") * F("price"), output_field=WIDE_MONEY)))
        .order_by()
    )
    if currency:
        rows = rows.filter(order_currency=currency)
    return {(row["order_currency"], month_key(_as_date(row["month"]))): _money(row["actual"]) for row in rows}


def forecast_accuracy(
    *, months: int = 6, currency: str | None = None, today: dt.date | None = None
) -> list[dict[str, Any]]:
    """Forecast versus actual orders for the `months` complete months before this one,
    newest first, per currency. Two queries; months without a snapshot taken before
    them have no forecast and no accuracy (None)."""
    today = today or timezone.localdate()
    end = today.replace(day=1)
    start = end
    for _ in range(months):
        start = (start - dt.timedelta(days=1)).replace(day=1)
    snapshots = ForecastSnapshot.objects.filter(week_start__lt=end).order_by("week_start")
    if currency:
        snapshots = snapshots.filter(currency=currency)
    # The latest snapshot before each month, per currency (snapshots are few: one a week).
    forecast: dict[tuple[str, str], Decimal] = {}
    month_keys = []
    cursor = start
    while cursor < end:
        month_keys.append(month_key(cursor))
        cursor = next_month(cursor)
    latest: dict[tuple[str, str], ForecastSnapshot] = {}
    for snapshot in snapshots.only("week_start", "currency", "lines"):
        for key in month_keys:
            if snapshot.week_start < month_start(key):
                latest[(snapshot.currency, key)] = snapshot
    for (cur, key), snapshot in latest.items():
        forecast[(cur, key)] = _money(
            sum((Decimal(line["amount"]) for line in snapshot.lines if line["month"] == key), Decimal(0))
        )
    actual = _actual_orders(start, end, currency)
    rows = []
    keys = sorted(set(forecast) | set(actual))  # by currency, then month
    for cur, key in sorted(keys, key=lambda k: k[1], reverse=True):  # newest month first
        predicted = forecast.get((cur, key))
        real = actual.get((cur, key), Decimal("0.00"))
        rows.append(
            {
                "month": key,
                "currency": cur,
                "forecast": predicted,
                "actual": real,
                "accuracy": None if predicted is None else accuracy_ratio(predicted, real),
            }
        )
    return rows
