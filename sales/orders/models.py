"""Sales orders: what an accepted quote becomes, submitted to the ERP through the outbox.

The front office owns the order as it was placed (lines at their quoted prices, the
promised date); what happened to it afterwards (confirmed, shipped, delivered,
cancelled, invoiced) lives in the ERP mirrors (`backoffice_sync.ErpOrder` / `Invoice`,
keyed by `order_ref`) and is read through `sales.orders.selectors`.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q

from frontoffice.models import TimeStamped, TimeStampedListed

__all__ = ["SalesOrder", "SalesOrderLine"]

CUSTOMER = "customers.Customer"
PRODUCT = "backoffice_sync.Product"


class SalesOrder(TimeStampedListed):
    """An order placed by accepting a quote: one per quote (OneToOne, so two reps
    accepting at once make one order), submitted to the ERP in the same transaction."""

    order_ref = models.CharField(max_length=40, blank=True, help_text='"SO-000123", the ERP\'s key.')
    quote = models.OneToOneField("sales.Quote", on_delete=models.PROTECT, related_name="order")
    opportunity = models.ForeignKey("sales.Opportunity", on_delete=models.PROTECT, related_name="orders")
    # CASCADE like the ERP mirrors: an admin's erasure of the customer removes its orders.
    customer = models.ForeignKey(
        CUSTOMER, on_delete=models.CASCADE, related_name="sales_orders", db_index=False
    )
    currency = models.CharField(max_length=3)
    requested_delivery_on = models.DateField(null=True, blank=True)
    promised_delivery_on = models.DateField(null=True, blank=True)
    ship_to = models.JSONField(null=True, blank=True, help_text="The shipping address sent to the ERP.")
    subtotal = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal("0"))
    tax_total = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal("0"))
    total = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal("0"))
    placed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    cancel_requested_at = models.DateTimeField(null=True, blank=True)
    cancel_requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    cancel_reason = models.CharField(max_length=500, blank=True)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["-created_at", "-id"], name="salesorder_created_idx"),
            models.Index(fields=["customer", "-created_at", "-id"], name="salesorder_customer_idx"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["order_ref"], condition=~Q(order_ref=""), name="salesorder_order_ref_unique"
            ),
            models.CheckConstraint(
                condition=Q(currency__regex=r"^[A-Z]{3}$"), name="salesorder_currency_format"
            ),
            models.CheckConstraint(
                condition=Q(subtotal__gte=0, tax_total__gte=0, total__gte=0),
                name="salesorder_totals_not_negative",
            ),
            models.CheckConstraint(
                condition=Q(cancel_requested_at__isnull=True) | ~Q(cancel_reason=""),
                name="salesorder_cancel_has_reason",
            ),
            models.CheckConstraint(condition=Q(version__gte=1), name="salesorder_version_positive"),
        ]

    def __str__(self) -> str:
        return self.order_ref or "Order"

    @property
    def owner(self) -> Any:
        return self.opportunity.owner


class SalesOrderLine(TimeStamped):
    """One line of an order, copied from the quote line at its quoted price."""

    order = models.ForeignKey(SalesOrder, on_delete=models.CASCADE, related_name="lines", db_index=False)
    line_no = models.PositiveIntegerField()
    product = models.ForeignKey(
        PRODUCT, to_field="sku", db_column="sku", on_delete=models.PROTECT, related_name="+"
    )
    description = models.CharField(max_length=200, blank=True)
    quantity = models.PositiveIntegerField(validators=[MinValueValidator(1)])
    unit_price = models.DecimalField(max_digits=14, decimal_places=2)
    discount_percent = models.DecimalField(max_digits=5, decimal_places=2, default=Decimal("0"))
    net_amount = models.DecimalField(max_digits=14, decimal_places=2)

    class Meta:
        ordering = ["order_id", "line_no", "id"]
        constraints = [
            models.UniqueConstraint(fields=["order", "line_no"], name="salesorderline_line_no_unique"),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="salesorderline_quantity_positive"),
            models.CheckConstraint(
                condition=Q(unit_price__gte=0, net_amount__gte=0), name="salesorderline_money_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(discount_percent__gte=0, discount_percent__lte=100),
                name="salesorderline_discount_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.product_id} x{self.quantity}"

    @property
    def sku(self) -> str:
        return self.product_id
