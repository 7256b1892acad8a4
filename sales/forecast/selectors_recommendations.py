"""Product recommendations: "customers who bought X also bought Y", read from the
affinities `services.affinities_recompute` (daily beat task) writes. confidence =
customers who bought both / customers who bought X.

Selectors: `also_bought(skus)`, `recommended_for_quote()` for the quote builder (priced
from the quote's list), `recommended_for_customer()` for the 360 panel; one query each.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db.models import Exists, Max, OuterRef, Q, QuerySet, Subquery, Sum

from backoffice_sync.models import ErpOrderLine, ErpOrderStatus, Product
from customers.models import Customer
from sales.forecast.models import ProductAffinity
from sales.pipeline.models import OpportunityLine
from sales.pricing.models import PriceListItem

DEFAULT_LIMIT = 5
EXCLUDED_ORDER_STATUSES = (ErpOrderStatus.CANCELLED.value, ErpOrderStatus.REJECTED.value)


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


def recommended_panel(*, customer: Customer, actor: Any) -> list[dict[str, Any]]:
    """The 360 panel "Recommended products": one query."""
    return [
        {**row, "confidence": f"{row['confidence'] * 100:.0f}%"} for row in recommended_for_customer(customer)
    ]
