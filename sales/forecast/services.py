"""Every write of the forecast: the weekly publication of the weighted pipeline to the
ERP, and the product affinities recomputed from the ERP's orders.

Publication (`forecast_publish`): one `FORECAST_PUBLISH` outbox message per currency for
the ISO week, with the product lines of the current month onwards (an overdue open
opportunity is not demand the ERP can plan for). A `ForecastSnapshot` per (week,
currency) records what was sent; publishing the same week again sends nothing.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from backoffice_sync.contracts import ForecastLine, ForecastPublish
from backoffice_sync.erp import MessageKind
from backoffice_sync.models import ErpOrder, ErpOrderLine
from backoffice_sync.outbox import outbox_enqueue
from frontoffice.actors import Actor
from frontoffice.write_path import authorize
from sales.forecast.models import ForecastSnapshot, ProductAffinity
from sales.forecast.selectors import weighted_pipeline
from sales.forecast.selectors_recommendations import EXCLUDED_ORDER_STATUSES

PUBLISH_PERMISSION = "sales.add_forecastsnapshot"
TOP_PER_SKU = 10


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


def forecast_publish(*, actor: Actor, today: dt.date | None = None) -> PublishResult:
    """Publish this ISO week's forecast to the ERP: one outbox message per currency.

    Idempotent per (week, currency): a currency already published this week is left as
    it is. A person needs `sales.add_forecastsnapshot`; beat's weekly task passes
    `frontoffice.actors.SCHEDULER`.
    """
    authorize(actor, PUBLISH_PERMISSION, message="Only admins may publish the forecast.")
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


# --- product affinities ------------------------------------------------------------------


def _co_occurrence_sql() -> str:
    orders = connection.ops.quote_name(ErpOrder._meta.db_table)
    lines = connection.ops.quote_name(ErpOrderLine._meta.db_table)
    # ROW_NUMBER() keeps the top N per SKU: SQLite (3.25+) and PostgreSQL both have it.
    # Table names come from _meta (quoted); every value is a bound parameter.
    return f"""
        WITH pairs AS (
            SELECT DISTINCT o.customer_id AS customer_id, l.sku AS sku
            FROM {lines} l JOIN {orders} o ON o.id = l.order_id
            WHERE o.status NOT IN (%s, %s)
        ),
        buyers AS (SELECT sku, COUNT(*) AS n FROM pairs GROUP BY sku),
        counted AS (
            SELECT a.sku AS sku, b.sku AS other_sku, COUNT(*) AS both_n, buyers.n AS sku_n
            FROM pairs a
            JOIN pairs b ON b.customer_id = a.customer_id AND b.sku <> a.sku
            JOIN buyers ON buyers.sku = a.sku
            GROUP BY a.sku, b.sku, buyers.n
        ),
        ranked AS (
            SELECT sku, other_sku, both_n, sku_n,
                   ROW_NUMBER() OVER (PARTITION BY sku ORDER BY both_n DESC, other_sku) AS rank_n
            FROM counted
        )
        SELECT sku, other_sku, both_n, sku_n FROM ranked WHERE rank_n <= %s ORDER BY sku, rank_n
    """  # noqa: S608


def affinities_recompute(*, actor: Actor) -> int:
    """Replace every product affinity with fresh counts ("customers who bought X also
    bought Y": in one SQL statement over the ERP order mirror, orders neither cancelled
    nor rejected, the 10 best partners per SKU); returns how many rows were written.
    Beat's daily task passes `frontoffice.actors.SCHEDULER`."""
    authorize(actor, "sales.add_productaffinity", "sales.delete_productaffinity")
    with connection.cursor() as cursor:
        cursor.execute(_co_occurrence_sql(), [*EXCLUDED_ORDER_STATUSES, TOP_PER_SKU])
        rows = cursor.fetchall()
    affinities = [
        ProductAffinity(
            sku=sku,
            other_sku=other_sku,
            both_customers=both,
            sku_customers=buyers,
            confidence=(Decimal(both) / Decimal(buyers)).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP),
        )
        for sku, other_sku, both, buyers in rows
    ]
    with transaction.atomic():
        ProductAffinity.objects.all().delete()
        ProductAffinity.objects.bulk_create(affinities, batch_size=500)
    return len(affinities)
