"""The ERP simulator's own tables (prefixed sim_); nothing in the app reads them directly.

They stand for the back office's database: the front office only ever sees them through
an ERP adapter (`backoffice_sync.erp`). Every write goes through `engine/`, which
serialises writers on the `SimState` row and appends one `SimEvent` per state change.
"""

from __future__ import annotations

from decimal import Decimal

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from frontoffice.models import TimeStamped


class SimState(TimeStamped):
    """The simulator's single state row: its seed, its clock and its document counters.

    Also the simulator's global lock: every engine write takes `select_for_update()` on
    it first, so concurrent relay workers and the ticker never interleave half-applied
    batches or deadlock on rows taken in different orders.
    """

    seed = models.BigIntegerField()
    now = models.DateTimeField(help_text="The simulator's clock; only ticks move it.")
    counters = models.JSONField(default=dict, blank=True, help_text="Last number issued per document kind.")

    class Meta:
        db_table = "sim_state"
        ordering = ["id"]

    def __str__(self) -> str:
        return f"ERP simulator (seed {self.seed}, clock {self.now:%Y-%m-%d %H:%M})"


class SimFaults(TimeStamped):
    """The fault knobs (one row): what could go wrong between the front office and the ERP."""

    latency_ms = models.PositiveIntegerField(default=0, help_text="Sleep this long on every call.")
    error_rate = models.FloatField(
        default=0.0,
        validators=[MinValueValidator(0.0), MaxValueValidator(1.0)],
        help_text="Share of calls failing with 'unavailable'; about half of them after applying the batch.",
    )
    outage = models.BooleanField(default=False, help_text="Every call fails; nothing is applied.")
    duplicate_rate = models.FloatField(
        default=0.0,
        validators=[MinValueValidator(0.0), MaxValueValidator(1.0)],
        help_text="Share of events delivered twice (pull and webhooks).",
    )
    reorder_rate = models.FloatField(
        default=0.0,
        validators=[MinValueValidator(0.0), MaxValueValidator(1.0)],
        help_text="Share of event batches delivered shuffled (pull and webhooks).",
    )
    draws = models.BigIntegerField(default=0, help_text="Random draws so far (keeps faults reproducible).")

    class Meta:
        db_table = "sim_faults"
        ordering = ["id"]
        verbose_name_plural = "sim faults"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(error_rate__gte=0, error_rate__lte=1)
                & models.Q(duplicate_rate__gte=0, duplicate_rate__lte=1)
                & models.Q(reorder_rate__gte=0, reorder_rate__lte=1),
                name="sim_faults_rates_between_0_and_1",
            )
        ]

    def __str__(self) -> str:
        return "ERP simulator faults"


class SimEvent(TimeStamped):
    """One row of the change log: an `ErpEvent` as pull and webhooks publish it."""

    seq = models.BigAutoField(primary_key=True)
    event_id = models.CharField(max_length=200, unique=True)
    type = models.CharField(max_length=40)
    aggregate = models.CharField(max_length=200)
    version = models.PositiveIntegerField()
    occurred_at = models.DateTimeField()
    data = models.JSONField(default=dict)

    class Meta:
        db_table = "sim_event"
        ordering = ["seq"]
        constraints = [
            models.UniqueConstraint(
                fields=["aggregate", "version"], name="sim_event_one_version_per_aggregate"
            )
        ]

    def __str__(self) -> str:
        return f"#{self.seq} {self.type} {self.aggregate} v{self.version}"


class SimDelivery(TimeStamped):
    """An idempotency key seen by `deliver()`, with the answer given for it.

    The unique key is what makes "applied exactly once" hold when two relay workers
    deliver the same message at the same time.
    """

    idempotency_key = models.CharField(max_length=200, unique=True)
    kind = models.CharField(max_length=40)
    aggregate = models.CharField(max_length=200, blank=True)
    status = models.CharField(max_length=20)
    error = models.TextField(blank=True)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        db_table = "sim_delivery"
        ordering = ["created_at"]

    def __str__(self) -> str:
        return f"{self.idempotency_key}: {self.status}"


class SimProduct(TimeStamped):
    """A catalogue item as the ERP masters it."""

    sku = models.CharField(max_length=64, unique=True)
    name = models.CharField(max_length=200)
    unit_price = models.DecimalField(max_digits=12, decimal_places=2)
    currency = models.CharField(max_length=3)
    lead_time_days = models.PositiveIntegerField(
        help_text="Days from confirmation to shipping, and to restock."
    )
    active = models.BooleanField(default=True)
    reorder_point = models.PositiveIntegerField(default=10)
    reorder_quantity = models.PositiveIntegerField(default=50)
    version = models.PositiveIntegerField(default=0)

    class Meta:
        db_table = "sim_product"
        ordering = ["sku"]

    def __str__(self) -> str:
        return f"{self.sku} {self.name}"


class SimStock(TimeStamped):
    """Stock of one product in one warehouse."""

    product = models.ForeignKey(SimProduct, on_delete=models.CASCADE, related_name="stock", db_index=False)
    warehouse = models.CharField(max_length=16)
    on_hand = models.PositiveIntegerField(default=0)
    reserved = models.PositiveIntegerField(default=0)
    version = models.PositiveIntegerField(default=0)

    class Meta:
        db_table = "sim_stock"
        ordering = ["product", "warehouse"]
        constraints = [
            models.UniqueConstraint(fields=["product", "warehouse"], name="sim_stock_one_row_per_warehouse"),
            models.CheckConstraint(
                condition=models.Q(reserved__lte=models.F("on_hand")),
                name="sim_stock_reserved_within_on_hand",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.product_id}@{self.warehouse}"


class SimIncoming(TimeStamped):
    """A purchase on its way to a warehouse; it becomes stock on its date."""

    stock = models.ForeignKey(SimStock, on_delete=models.CASCADE, related_name="incoming")
    quantity = models.PositiveIntegerField(validators=[MinValueValidator(1)])
    expected_on = models.DateField()

    class Meta:
        db_table = "sim_incoming"
        ordering = ["expected_on", "id"]
        indexes = [models.Index(fields=["expected_on", "id"], name="sim_incoming_due")]

    def __str__(self) -> str:
        return f"{self.quantity} on {self.expected_on}"


class SimCustomer(TimeStamped):
    """A customer account in the ERP (from customer.upsert, or minimal from a first order)."""

    customer_ref = models.CharField(max_length=100, unique=True)
    number = models.CharField(max_length=20, unique=True)
    name = models.CharField(max_length=300, blank=True)
    email = models.CharField(max_length=300, blank=True)
    phone = models.CharField(max_length=100, blank=True)
    billing_address = models.JSONField(null=True, blank=True)
    shipping_address = models.JSONField(null=True, blank=True)
    payment_terms_days = models.PositiveIntegerField(default=30)
    pays_late = models.BooleanField(default=False)
    version = models.PositiveIntegerField(default=0)
    # Set by customer.merge: this account is closed, its customer lives on in that one.
    merged_into = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="merged_accounts"
    )

    class Meta:
        db_table = "sim_customer"
        ordering = ["number"]

    def __str__(self) -> str:
        return f"{self.number} {self.name}"


class SimOrderStatus(models.TextChoices):
    RECEIVED = "received"
    CONFIRMED = "confirmed"
    PARTIALLY_SHIPPED = "partially_shipped"
    SHIPPED = "shipped"
    DELIVERED = "delivered"
    CANCELLED = "cancelled"
    REJECTED = "rejected"


class SimOrder(TimeStamped):
    """A sales order, from receipt through confirmation, shipping and delivery."""

    order_ref = models.CharField(max_length=100, unique=True)
    number = models.CharField(max_length=20, unique=True)
    customer = models.ForeignKey(SimCustomer, on_delete=models.PROTECT, related_name="orders")
    currency = models.CharField(max_length=3)
    requested_date = models.DateField(null=True, blank=True)
    ship_to = models.JSONField(null=True, blank=True)
    status = models.CharField(max_length=20, choices=SimOrderStatus.choices, default=SimOrderStatus.RECEIVED)
    received_at = models.DateTimeField()
    confirmed_at = models.DateTimeField(null=True, blank=True)
    ship_after = models.DateTimeField(null=True, blank=True)
    last_shipped_at = models.DateTimeField(null=True, blank=True)
    reason = models.TextField(blank=True)
    version = models.PositiveIntegerField(default=0)

    class Meta:
        db_table = "sim_order"
        ordering = ["number"]
        indexes = [models.Index(fields=["status", "number"], name="sim_order_status")]

    def __str__(self) -> str:
        return f"{self.number} ({self.order_ref})"


class SimOrderLine(TimeStamped):
    """One line of an order. `warehouse` is the one chosen at confirmation (the most free
    stock), where a backorder is replenished; `reserved` is the sum of its reservations,
    in one warehouse or, when none alone had enough, in several (`SimReservation`)."""

    order = models.ForeignKey(SimOrder, on_delete=models.CASCADE, related_name="lines", db_index=False)
    line_no = models.PositiveIntegerField()
    product = models.ForeignKey(SimProduct, on_delete=models.PROTECT, related_name="+")
    warehouse = models.CharField(max_length=16, blank=True)
    quantity = models.PositiveIntegerField()
    unit_price = models.DecimalField(max_digits=12, decimal_places=2)
    reserved = models.PositiveIntegerField(default=0)
    shipped = models.PositiveIntegerField(default=0)

    class Meta:
        db_table = "sim_order_line"
        ordering = ["order", "line_no"]
        constraints = [
            models.UniqueConstraint(fields=["order", "line_no"], name="sim_order_line_unique_no"),
            models.CheckConstraint(
                condition=models.Q(shipped__lte=models.F("quantity")),
                name="sim_order_line_ships_at_most_ordered",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.order_id}/{self.line_no}"


class SimReservation(TimeStamped):
    """Units of an order line held in one warehouse's stock until they ship."""

    line = models.ForeignKey(
        SimOrderLine, on_delete=models.CASCADE, related_name="reservations", db_index=False
    )
    stock = models.ForeignKey(SimStock, on_delete=models.PROTECT, related_name="reservations")
    quantity = models.PositiveIntegerField(validators=[MinValueValidator(1)])

    class Meta:
        db_table = "sim_reservation"
        ordering = ["line", "stock"]
        constraints = [
            models.UniqueConstraint(fields=["line", "stock"], name="sim_reservation_one_per_warehouse"),
            models.CheckConstraint(
                condition=models.Q(quantity__gt=0), name="sim_reservation_quantity_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.line_id}: {self.quantity} @ {self.stock_id}"


class SimShipment(TimeStamped):
    """A parcel leaving a warehouse for an order (several when it ships in parts)."""

    number = models.CharField(max_length=20, unique=True)
    order = models.ForeignKey(SimOrder, on_delete=models.CASCADE, related_name="shipments")
    carrier = models.CharField(max_length=40)
    tracking_number = models.CharField(max_length=40)
    shipped_at = models.DateTimeField()
    lines = models.JSONField(default=list)

    class Meta:
        db_table = "sim_shipment"
        ordering = ["number"]

    def __str__(self) -> str:
        return self.number


class SimInvoiceStatus(models.TextChoices):
    OPEN = "open"
    PAID = "paid"
    SETTLED = "settled"  # fully covered by credit notes


class SimInvoice(TimeStamped):
    """The invoice of one shipment; paid on `pay_on`, which is after `due_on` for late payers."""

    number = models.CharField(max_length=20, unique=True)
    order = models.ForeignKey(SimOrder, on_delete=models.CASCADE, related_name="invoices")
    shipment = models.OneToOneField(SimShipment, on_delete=models.CASCADE, related_name="invoice")
    customer = models.ForeignKey(SimCustomer, on_delete=models.PROTECT, related_name="invoices")
    amount = models.DecimalField(max_digits=14, decimal_places=2)
    credited = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal("0.00"))
    currency = models.CharField(max_length=3)
    issued_on = models.DateField()
    due_on = models.DateField()
    pay_on = models.DateField()
    status = models.CharField(max_length=10, choices=SimInvoiceStatus.choices, default=SimInvoiceStatus.OPEN)
    overdue_notified = models.BooleanField(default=False)
    version = models.PositiveIntegerField(default=0)

    class Meta:
        db_table = "sim_invoice"
        ordering = ["number"]
        indexes = [models.Index(fields=["status", "number"], name="sim_invoice_status")]

    def __str__(self) -> str:
        return self.number


class SimPayment(TimeStamped):
    """Money received against an invoice."""

    reference = models.CharField(max_length=20, unique=True)
    invoice = models.ForeignKey(SimInvoice, on_delete=models.CASCADE, related_name="payments")
    amount = models.DecimalField(max_digits=14, decimal_places=2)
    currency = models.CharField(max_length=3)
    received_on = models.DateField()

    class Meta:
        db_table = "sim_payment"
        ordering = ["reference"]

    def __str__(self) -> str:
        return self.reference


class SimCreditNote(TimeStamped):
    """A credit note issued at the front office's request."""

    credit_ref = models.CharField(max_length=100, unique=True)
    number = models.CharField(max_length=20, unique=True)
    customer = models.ForeignKey(SimCustomer, on_delete=models.PROTECT, related_name="credit_notes")
    invoice = models.ForeignKey(
        SimInvoice, null=True, blank=True, on_delete=models.PROTECT, related_name="credit_notes"
    )
    amount = models.DecimalField(max_digits=14, decimal_places=2)
    currency = models.CharField(max_length=3)
    reason = models.TextField(blank=True)
    issued_on = models.DateField()

    class Meta:
        db_table = "sim_credit_note"
        ordering = ["number"]

    def __str__(self) -> str:
        return self.number


class SimForecast(TimeStamped):
    """A sales forecast published by the front office (the ERP plans purchases with it)."""

    forecast_ref = models.CharField(max_length=100, unique=True)
    currency = models.CharField(max_length=3)
    lines = models.JSONField(default=list)

    class Meta:
        db_table = "sim_forecast"
        ordering = ["forecast_ref"]

    def __str__(self) -> str:
        return self.forecast_ref
