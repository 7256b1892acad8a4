"""Product recommendations: "customers who bought X also bought Y".

`affinities_recompute()` (daily beat task) counts, in one SQL statement over the ERP
order mirror (orders neither cancelled nor rejected), the distinct customers who bought
each pair of SKUs, and rewrites `ProductAffinity` in one transaction, keeping the 10
best partners per SKU. confidence = customers who bought both / customers who bought X.

Selectors: `also_bought(skus)`, `recommended_for_quote()` for the quote builder (priced
from the quote's list), `recommended_for_customer()` for the 360 panel; one query each.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db import connection, transaction
from django.db.models import Exists, Max, OuterRef, Q, QuerySet, Subquery, Sum

from backoffice_sync.models import ErpOrder, ErpOrderLine, ErpOrderStatus, Product
from sales.models import OpportunityLine, PriceListItem, ProductAffinity

TOP_PER_SKU = 10
DEFAULT_LIMIT = 5
EXCLUDED_ORDER_STATUSES = (ErpOrderStatus.CANCELLED.value, ErpOrderStatus.REJECTED.value)


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


def affinities_recompute() -> int:
    """Replace every product affinity with fresh counts; returns how many rows were written."""
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


def _ranked(affinities: QuerySet[ProductAffinity], exclude: Any, limit: int) -> list[dict[str, Any]]:
    product = Product.objects.filter(sku=OuterRef("other_sku"))
    retired = Product.objects.filter(active=False).values("sku")
    rows = (
        affinities.exclude(other_sku__in=exclude)
        .exclude(other_sku__in=retired)  # no longer sold
        .values("other_sku")
        .annotate(
            confidence=Max("confidence"),
            customers=Sum("both_customers"),
            name=Subquery(product.values("name")[:1]),
        )
        .order_by("-confidence", "-customers", "other_sku")[:limit]
    )
    return [
        {
            "sku": r["other_sku"],
            "name": r["name"] or "",
            "confidence": r["confidence"],
            "customers": r["customers"],
        }
        for r in rows
    ]


def also_bought(skus: list[str] | tuple[str, ...], limit: int = DEFAULT_LIMIT) -> list[dict[str, Any]]:
    """Products bought by the customers who bought any of `skus`, best first, excluding
    `skus` themselves. `customers` sums over the given SKUs. One query."""
    skus = [s for s in dict.fromkeys(skus) if s]
    if not skus:
        return []
    return _ranked(ProductAffinity.objects.filter(sku__in=skus), skus, limit)


def recommended_for_customer(customer: Any, limit: int = DEFAULT_LIMIT) -> list[dict[str, Any]]:
    """Products that buyers of what this customer bought also bought, without what the
    customer already bought (in orders neither cancelled nor rejected). One query."""
    bought = (
        ErpOrderLine.objects.filter(order__customer=customer)
        .exclude(order__status__in=EXCLUDED_ORDER_STATUSES)
        .values("sku")
    )
    return _ranked(ProductAffinity.objects.filter(sku__in=bought), bought, limit)


def recommended_for_quote(
    *,
    skus: list[str] | tuple[str, ...],
    customer_id: Any,
    price_list_id: Any,
    opportunity_id: Any = None,
    limit: int = DEFAULT_LIMIT,
) -> list[dict[str, Any]]:
    """Products to offer on a quote: what the buyers of the quote's products (`skus`),
    of its opportunity's products and of what this customer bought before also bought;
    without what is on the quote or was bought already. Only products the quote can take
    (active, on its price list), each with the list's `unit_price`. One query."""
    skus = [s for s in dict.fromkeys(skus) if s]
    bought = (
        ErpOrderLine.objects.filter(order__customer_id=customer_id)
        .exclude(order__status__in=EXCLUDED_ORDER_STATUSES)
        .values("sku")
    )
    price = PriceListItem.objects.filter(
        price_list_id=price_list_id, product_id=OuterRef("other_sku"), product__active=True
    )
    source = Q(sku__in=bought)
    if skus:
        source |= Q(sku__in=skus)
    if opportunity_id is not None:
        source |= Q(sku__in=OpportunityLine.objects.filter(opportunity_id=opportunity_id).values("sku"))
    product = Product.objects.filter(sku=OuterRef("other_sku"))
    rows = (
        ProductAffinity.objects.filter(source)
        .filter(Exists(price))
        .exclude(other_sku__in=skus)
        .exclude(other_sku__in=bought)
        .values("other_sku")
        .annotate(
            confidence=Max("confidence"),
            customers=Sum("both_customers"),
            name=Subquery(product.values("name")[:1]),
            unit_price=Subquery(price.values("unit_price")[:1]),
        )
        .order_by("-confidence", "-customers", "other_sku")[:limit]
    )
    return [
        {
            "sku": r["other_sku"],
            "name": r["name"] or "",
            # SQLite hands aggregates and subqueries back without their column's scale.
            "confidence": Decimal(r["confidence"]).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP),
            "customers": r["customers"],
            "unit_price": Decimal(r["unit_price"]).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP),
        }
        for r in rows
    ]


def recommended_panel(*, customer: Any, actor: Any = None) -> list[dict[str, Any]]:
    """The 360 panel "Recommended products": one query."""
    return [
        {**row, "confidence": f"{row['confidence'] * 100:.0f}%"} for row in recommended_for_customer(customer)
    ]
