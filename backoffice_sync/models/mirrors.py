"""Back-office sync: mirror tables, what the front office knows of the ERP.

Written only by `backoffice_sync.apply` (from inbox events), read through
`backoffice_sync.selectors_mirrors`. Each row keeps the ERP version of the event that
last wrote it (`erp_version`). Money is a Decimal with a currency code.
"""

from __future__ import annotations

from decimal import Decimal

from django.db import models
from django.db.models import F, Q

from frontoffice.models import TimeStamped

__all__ = [
    "CreditNote",
    "CustomerBalance",
    "ErpOrder",
    "ErpOrderLine",
    "ErpOrderStatus",
    "ErpOrderStatusChange",
    "IncomingStock",
    "Invoice",
    "InvoiceStatus",
    "Payment",
    "Product",
    "Shipment",
    "ShipmentLine",
    "StockLevel",
]

# Money: 14 digits, 2 decimals (spelt out per field, which the type checker follows).
CUSTOMER = "customers.Customer"


class ErpOrderStatus(models.TextChoices):
    CONFIRMED = "confirmed", "Confirmed"
    REJECTED = "rejected", "Rejected"
    PARTIALLY_SHIPPED = "partially_shipped", "Partially shipped"
    SHIPPED = "shipped", "Shipped"
    DELIVERED = "delivered", "Delivered"
    CANCELLED = "cancelled", "Cancelled"


class InvoiceStatus(models.TextChoices):
    OPEN = "open", "Open"
    PAID = "paid", "Paid"
    OVERDUE = "overdue", "Overdue"


class Product(TimeStamped):
    """A product of the ERP's catalogue."""

    sku = models.CharField(max_length=64, unique=True)
    name = models.CharField(max_length=200)
    unit_price = models.DecimalField(max_digits=14, decimal_places=2)
    currency = models.CharField(max_length=3)
    lead_time_days = models.PositiveIntegerField(default=0)
    active = models.BooleanField(default=True)
    erp_version = models.PositiveBigIntegerField(default=0)

    class Meta:
        ordering = ["sku"]
        constraints = [
            models.CheckConstraint(condition=Q(unit_price__gte=0), name="product_price_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.sku} {self.name}"


class StockLevel(TimeStamped):
    """Stock of one product in one warehouse: on hand, reserved, and incoming rows."""

    product = models.ForeignKey(
        Product, on_delete=models.CASCADE, related_name="stock_levels", db_index=False
    )
    warehouse = models.CharField(max_length=40)
    on_hand = models.IntegerField(default=0)
    reserved = models.IntegerField(default=0)
    erp_version = models.PositiveBigIntegerField(default=0)

    class Meta:
        ordering = ["product", "warehouse"]
        constraints = [
            models.UniqueConstraint(fields=["product", "warehouse"], name="stock_product_warehouse_unique"),
            models.CheckConstraint(condition=Q(on_hand__gte=0), name="stock_on_hand_not_negative"),
            models.CheckConstraint(condition=Q(reserved__gte=0), name="stock_reserved_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.product_id}@{self.warehouse}: {self.on_hand} on hand"

    @property
    def free(self) -> int:
        return max(self.on_hand - self.reserved, 0)


class IncomingStock(TimeStamped):
    """A quantity of a stock level expected on a date (replaced by each newer stock event)."""

    stock_level = models.ForeignKey(
        StockLevel, on_delete=models.CASCADE, related_name="incoming", db_index=False
    )
    quantity = models.PositiveIntegerField()
    expected_on = models.DateField()

    class Meta:
        ordering = ["stock_level", "expected_on", "id"]
        indexes = [models.Index(fields=["stock_level", "expected_on"], name="incoming_stock_date_idx")]
        constraints = [models.CheckConstraint(condition=Q(quantity__gt=0), name="incoming_quantity_positive")]

    def __str__(self) -> str:
        return f"{self.quantity} on {self.expected_on}"


class ErpOrder(TimeStamped):
    """The ERP's view of a front-office order, keyed by the front office's `order_ref`."""

    order_ref = models.CharField(max_length=40, unique=True)
    erp_order_number = models.CharField(max_length=40, null=True, blank=True)
    customer = models.ForeignKey(
        CUSTOMER, on_delete=models.CASCADE, related_name="erp_orders", db_index=False
    )
    status = models.CharField(max_length=20, choices=ErpOrderStatus.choices)
    status_changed_at = models.DateTimeField()
    currency = models.CharField(
        max_length=3,
        blank=True,
        default="",
        help_text="The order's currency; blank when the ERP did not say.",
    )
    delivered_on = models.DateField(
        null=True,
        blank=True,
        help_text="The day the ERP reported the order delivered (kept whatever order the events came in).",
    )
    promised_on = models.DateField(
        null=True,
        blank=True,
        help_text="The delivery date the ERP holds as promised (the order's requested date); "
        "empty when none was asked.",
    )
    erp_version = models.PositiveBigIntegerField(default=0)

    class Meta:
        ordering = ["-status_changed_at", "-id"]
        indexes = [
            models.Index(fields=["customer", "-status_changed_at", "-id"], name="erp_order_customer_idx")
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(currency="") | Q(currency__regex=r"^[A-Z]{3}$"), name="erp_order_currency_format"
            ),
            models.UniqueConstraint(
                fields=["erp_order_number"],
                condition=Q(erp_order_number__isnull=False),
                name="erp_order_number_unique",
            ),
            models.CheckConstraint(
                condition=Q(status__in=ErpOrderStatus.values), name="erp_order_status_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.order_ref} ({self.status})"


class ErpOrderLine(TimeStamped):
    """A line of an ERP order as last reported: ordered and shipped quantities, and the
    unit price in the order's currency (net of discounts; null when the ERP did not say)."""

    order = models.ForeignKey(ErpOrder, on_delete=models.CASCADE, related_name="lines", db_index=False)
    line_no = models.PositiveIntegerField()
    sku = models.CharField(max_length=64)
    quantity = models.PositiveIntegerField()
    shipped = models.PositiveIntegerField(default=0)
    unit_price = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)

    class Meta:
        ordering = ["order", "line_no"]
        constraints = [
            models.UniqueConstraint(fields=["order", "line_no"], name="erp_order_line_unique"),
            models.CheckConstraint(
                condition=Q(unit_price__isnull=True) | Q(unit_price__gte=0),
                name="erp_order_line_price_not_negative",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.sku} x{self.quantity} ({self.shipped} shipped)"


class ErpOrderStatusChange(TimeStamped):
    """One status the ERP reported for an order, with its version (the history)."""

    order = models.ForeignKey(
        ErpOrder, on_delete=models.CASCADE, related_name="status_history", db_index=False
    )
    status = models.CharField(max_length=20, choices=ErpOrderStatus.choices)
    erp_version = models.PositiveBigIntegerField()
    occurred_at = models.DateTimeField()

    class Meta:
        ordering = ["order", "erp_version"]
        constraints = [
            models.UniqueConstraint(fields=["order", "erp_version"], name="erp_order_status_version_unique")
        ]

    def __str__(self) -> str:
        return f"{self.order_id} {self.status} v{self.erp_version}"


class Shipment(TimeStamped):
    """A shipment of (part of) an order."""

    number = models.CharField(max_length=40, unique=True)
    order = models.ForeignKey(ErpOrder, on_delete=models.CASCADE, related_name="shipments", db_index=False)
    carrier = models.CharField(max_length=60, blank=True)
    tracking_number = models.CharField(max_length=100, blank=True)
    shipped_on = models.DateField()
    delivered_on = models.DateField(null=True, blank=True)
    erp_version = models.PositiveBigIntegerField(default=0)

    class Meta:
        ordering = ["order", "shipped_on", "id"]
        indexes = [models.Index(fields=["order", "shipped_on"], name="shipment_order_idx")]

    def __str__(self) -> str:
        return f"{self.number} ({self.carrier} {self.tracking_number})".strip()


class ShipmentLine(TimeStamped):
    """What one shipment carried."""

    shipment = models.ForeignKey(Shipment, on_delete=models.CASCADE, related_name="lines", db_index=False)
    line_no = models.PositiveIntegerField()
    sku = models.CharField(max_length=64)
    quantity = models.PositiveIntegerField()

    class Meta:
        ordering = ["shipment", "line_no"]
        constraints = [models.UniqueConstraint(fields=["shipment", "line_no"], name="shipment_line_unique")]

    def __str__(self) -> str:
        return f"{self.sku} x{self.quantity}"


class Invoice(TimeStamped):
    """An ERP invoice; `amount_paid` and `amount_credited` sum its payments and credit
    notes, `status` follows them (paid when covered) and the ERP's overdue notices."""

    number = models.CharField(max_length=40, unique=True)
    customer = models.ForeignKey(
        CUSTOMER, on_delete=models.CASCADE, related_name="erp_invoices", db_index=False
    )
    order_ref = models.CharField(max_length=40, blank=True, db_index=True)
    amount = models.DecimalField(max_digits=14, decimal_places=2)
    currency = models.CharField(max_length=3)
    issued_on = models.DateField()
    due_on = models.DateField()
    status = models.CharField(max_length=10, choices=InvoiceStatus.choices, default=InvoiceStatus.OPEN)
    amount_paid = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    amount_credited = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    erp_version = models.PositiveBigIntegerField(default=0)

    class Meta:
        ordering = ["-issued_on", "-id"]
        indexes = [
            models.Index(fields=["customer", "-issued_on", "-id"], name="invoice_customer_idx"),
            models.Index(fields=["customer", "currency", "status"], name="invoice_balance_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gte=0), name="invoice_amount_not_negative"),
            models.CheckConstraint(condition=Q(amount_paid__gte=0), name="invoice_paid_not_negative"),
            models.CheckConstraint(condition=Q(amount_credited__gte=0), name="invoice_credited_not_negative"),
            models.CheckConstraint(condition=Q(status__in=InvoiceStatus.values), name="invoice_status_valid"),
            models.CheckConstraint(condition=Q(due_on__gte=F("issued_on")), name="invoice_due_after_issue"),
        ]

    def __str__(self) -> str:
        return f"{self.number} {self.amount} {self.currency} ({self.status})"

    @property
    def amount_open(self) -> Decimal:
        if self.status == InvoiceStatus.PAID:
            return Decimal(0)
        return max(self.amount - self.amount_paid - self.amount_credited, Decimal(0))


class Payment(TimeStamped):
    """A payment the ERP received. `invoice` is filled once the invoice is known (a
    payment may arrive before its invoice); `invoice_number` is what the ERP said."""

    reference = models.CharField(max_length=60, unique=True)
    invoice = models.ForeignKey(
        Invoice, null=True, blank=True, on_delete=models.SET_NULL, related_name="payments"
    )
    invoice_number = models.CharField(max_length=40, db_index=True)
    customer = models.ForeignKey(
        CUSTOMER, on_delete=models.CASCADE, related_name="erp_payments", db_index=False
    )
    amount = models.DecimalField(max_digits=14, decimal_places=2)
    currency = models.CharField(max_length=3)
    received_on = models.DateField()
    erp_version = models.PositiveBigIntegerField(default=0)

    class Meta:
        ordering = ["-received_on", "-id"]
        indexes = [models.Index(fields=["customer", "-received_on", "-id"], name="payment_customer_idx")]
        constraints = [models.CheckConstraint(condition=Q(amount__gte=0), name="payment_amount_not_negative")]

    def __str__(self) -> str:
        return f"{self.reference} {self.amount} {self.currency}"


class CreditNote(TimeStamped):
    """A credit note the ERP issued, against an invoice (reducing what is open) or not."""

    number = models.CharField(max_length=40, unique=True)
    credit_ref = models.CharField(max_length=60, blank=True, help_text="The front office's reference.")
    customer = models.ForeignKey(
        CUSTOMER, on_delete=models.CASCADE, related_name="erp_credit_notes", db_index=False
    )
    invoice = models.ForeignKey(
        Invoice, null=True, blank=True, on_delete=models.SET_NULL, related_name="credit_notes"
    )
    invoice_number = models.CharField(max_length=40, blank=True, db_index=True)
    amount = models.DecimalField(max_digits=14, decimal_places=2)
    currency = models.CharField(max_length=3)
    issued_on = models.DateField()
    reason = models.CharField(max_length=500, blank=True)
    erp_version = models.PositiveBigIntegerField(default=0)

    class Meta:
        ordering = ["-issued_on", "-id"]
        indexes = [models.Index(fields=["customer", "-issued_on", "-id"], name="credit_note_customer_idx")]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gte=0), name="credit_note_amount_not_negative")
        ]

    def __str__(self) -> str:
        return f"{self.number} {self.amount} {self.currency}"


class CustomerBalance(TimeStamped):
    """What a customer owes in one currency, derived from invoices and payments and
    rewritten in the transaction that changes them.

    Deliberately no unique (customer, currency): a merge re-points rows with a plain
    UPDATE, after which the survivor may hold two rows per currency. Balances add up,
    so reads sum the rows (still right), and the next recompute folds them into one.
    """

    customer = models.ForeignKey(
        CUSTOMER, on_delete=models.CASCADE, related_name="erp_balances", db_index=False
    )
    currency = models.CharField(max_length=3)
    open_amount = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    overdue_amount = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    open_invoices = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["customer", "currency"]
        indexes = [models.Index(fields=["customer", "currency"], name="balance_customer_idx")]
        constraints = [
            models.CheckConstraint(condition=Q(open_amount__gte=0), name="balance_open_not_negative"),
            models.CheckConstraint(condition=Q(overdue_amount__gte=0), name="balance_overdue_not_negative"),
            models.CheckConstraint(
                condition=Q(overdue_amount__lte=F("open_amount")), name="balance_overdue_within_open"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.customer_id}: {self.open_amount} {self.currency} open"

    @property
    def is_overdue(self) -> bool:
        return self.overdue_amount > 0
