"""Reads of prices: a customer's tier, the price list a quote takes, a user's discount
limit, and the catalogue with a list's prices. One query each."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import OuterRef, Prefetch, QuerySet, Subquery

from backoffice_sync.models import Product
from customers.models import Customer
from frontoffice.roles import user_roles
from sales.money import HUNDRED
from sales.pricing.models import CustomerTier, DiscountLimit, PriceList, PriceListItem


def customer_tier(customer: Customer) -> str:
    """The customer's price tier: custom attribute `tier` when it names one, else standard."""
    raw = (customer.attributes or {}).get("tier")
    value = raw.strip().lower() if isinstance(raw, str) else ""
    return value if value in CustomerTier.values else CustomerTier.STANDARD


def discount_limit_for(user: Any) -> Decimal:
    """The largest discount (percent) `user` may give without approval (0 without a limit;
    the system and superusers give any)."""
    if user is None or getattr(user, "is_superuser", False) or getattr(user, "is_system", False):
        return HUNDRED
    roles = user_roles(user)
    limits = DiscountLimit.objects.filter(role__in=roles).values_list("max_discount_percent", flat=True)
    return max(limits, default=Decimal("0"))


def price_list_for(*, currency: str, tier: str) -> PriceList:
    """The active list for the currency and tier; without one for the tier, the standard one."""
    lists = {p.tier: p for p in PriceList.objects.filter(currency=currency, active=True)}
    found = lists.get(tier) or lists.get(CustomerTier.STANDARD)
    if found is None:
        raise ValidationError(
            {"price_list": [f"There is no active price list for {currency} (tier {tier} or standard)."]}
        )
    return found


def price_list_queryset() -> QuerySet[PriceList]:
    """Price lists with their items in SKU order (two queries per page)."""
    return PriceList.objects.prefetch_related(
        Prefetch("items", queryset=PriceListItem.objects.order_by("product_id"))
    )


def products_priced(*, price_list_id: int | None) -> QuerySet[Product]:
    """The catalogue's active products, each with its price on `price_list_id` as `price`
    (None when not on the list, or without a list): one query per page."""
    items = PriceListItem.objects.filter(price_list_id=price_list_id, product_id=OuterRef("sku"))
    return Product.objects.filter(active=True).annotate(price=Subquery(items.values("unit_price")[:1]))
