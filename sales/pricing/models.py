"""Sales: price lists per currency and customer tier, and discount limits per role.

Money is a Decimal (14 digits, 2 places) in the price list's currency. Products come
from the ERP mirror (`backoffice_sync.Product`, read-only here), referenced by SKU.
`version` (price lists, discount limits) is the optimistic lock (ETag).
"""

from __future__ import annotations

from decimal import Decimal

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from frontoffice.models import TimeStamped
from frontoffice.roles import Role

__all__ = ["CustomerTier", "DiscountLimit", "PriceList", "PriceListItem"]

PRODUCT = "backoffice_sync.Product"


class CustomerTier(models.TextChoices):
    """A customer's price tier, read from the customer's custom attribute `tier`
    (see `sales.pricing.selectors.customer_tier`); customers without one are `standard`."""

    STANDARD = "standard", "Standard"
    SILVER = "silver", "Silver"
    GOLD = "gold", "Gold"


class PriceList(TimeStamped):
    """Prices per currency and customer tier; at most one active list per (currency, tier).
    Configured by admins. `version` covers the items too: any change to them moves it on."""

    name = models.CharField(max_length=100)
    currency = models.CharField(max_length=3)
    tier = models.CharField(max_length=10, choices=CustomerTier.choices, default=CustomerTier.STANDARD)
    active = models.BooleanField(default=True)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["currency", "tier", "name", "id"]
        indexes = [models.Index(fields=["currency", "tier", "name", "id"], name="pricelist_order_idx")]
        constraints = [
            models.UniqueConstraint(
                fields=["currency", "tier"], condition=Q(active=True), name="pricelist_one_active_per_tier"
            ),
            models.CheckConstraint(
                condition=Q(currency__regex=r"^[A-Z]{3}$"), name="pricelist_currency_format"
            ),
            models.CheckConstraint(condition=Q(tier__in=CustomerTier.values), name="pricelist_tier_valid"),
            models.CheckConstraint(condition=~Q(name=""), name="pricelist_has_name"),
            models.CheckConstraint(condition=Q(version__gte=1), name="pricelist_version_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.currency}, {self.get_tier_display()})"


class PriceListItem(TimeStamped):
    """The unit price of one product (by SKU) on one price list."""

    price_list = models.ForeignKey(PriceList, on_delete=models.CASCADE, related_name="items", db_index=False)
    # The mirror keeps retired products (active=False) rather than deleting them.
    product = models.ForeignKey(
        PRODUCT, to_field="sku", db_column="sku", on_delete=models.PROTECT, related_name="+"
    )
    unit_price = models.DecimalField(
        max_digits=14, decimal_places=2, validators=[MinValueValidator(Decimal("0"))]
    )

    class Meta:
        ordering = ["price_list_id", "product_id", "id"]
        indexes = [models.Index(fields=["price_list", "product", "id"], name="pricelistitem_order_idx")]
        constraints = [
            models.UniqueConstraint(fields=["price_list", "product"], name="pricelistitem_one_per_sku"),
            models.CheckConstraint(condition=Q(unit_price__gte=0), name="pricelistitem_price_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.product_id} {self.unit_price}"


class DiscountLimit(TimeStamped):
    """The largest line discount (percent) a role may give without a manager's approval.
    A user's limit is the largest over their roles; a role without a row may give none."""

    role = models.CharField(max_length=40, unique=True, choices=[(r, r) for r in Role.ALL])
    max_discount_percent = models.DecimalField(
        max_digits=5,
        decimal_places=2,
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("100"))],
    )
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["role"]
        constraints = [
            models.CheckConstraint(condition=Q(role__in=list(Role.ALL)), name="discountlimit_role_valid"),
            models.CheckConstraint(
                condition=Q(max_discount_percent__gte=0, max_discount_percent__lte=100),
                name="discountlimit_percent_range",
            ),
            models.CheckConstraint(condition=Q(version__gte=1), name="discountlimit_version_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.role}: {self.max_discount_percent}%"
