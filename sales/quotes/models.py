"""Sales: quotes (versioned) and their lines.

Money is a Decimal (14 digits, 2 places) in the quote's currency. Products come from
the ERP mirror (`backoffice_sync.Product`, read-only here), referenced by SKU. `version`
is the optimistic lock (ETag); `Quote.revision` is the business version a customer sees
("revision 2 of quote Q-000042").
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from frontoffice.models import TimeStamped, TimeStampedListed
from sales.pricing.models import CustomerTier, PriceList

__all__ = ["Quote", "QuoteEmailStatus", "QuoteLine", "QuoteStatus"]

PRODUCT = "backoffice_sync.Product"
MAX_LINE_QUANTITY = 1_000_000
CENT = Decimal("0.01")


class QuoteStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    PENDING_APPROVAL = "pending_approval", "Pending approval"
    APPROVED = "approved", "Approved"
    SENT = "sent", "Sent"
    # Accepting places the order (`sales.orders.services.quote_accept`).
    ACCEPTED = "accepted", "Accepted"
    REJECTED = "rejected", "Rejected"
    EXPIRED = "expired", "Expired"
    SUPERSEDED = "superseded", "Superseded"


class QuoteEmailStatus(models.TextChoices):
    """Where the e-mail of a sent quote is. Sending marks the quote sent at once and
    queues the e-mail; a worker renders and hands it to the mail server afterwards
    (`sales.quotes.tasks.send_quote_email`). Empty: no e-mail was asked for (a quote not
    sent, or sent before deliveries were recorded)."""

    NONE = "", "Not e-mailed"
    QUEUED = "queued", "E-mail queued"
    SENDING = "sending", "E-mail being sent"
    SENT = "sent", "E-mailed"
    FAILED = "failed", "E-mail failed"


EDITABLE_STATUSES = (QuoteStatus.DRAFT, QuoteStatus.PENDING_APPROVAL, QuoteStatus.APPROVED)
REVISABLE_STATUSES = (QuoteStatus.SENT, QuoteStatus.REJECTED, QuoteStatus.EXPIRED)


class Quote(TimeStampedListed):
    """An offer to a customer for an opportunity: priced lines, tax, validity, delivery.

    Revising a sent quote creates revision n+1 (`previous` points back) and marks the
    old one superseded; it stays readable. Totals are stored, recomputed by the service
    whenever lines or the tax rate change.
    """

    opportunity = models.ForeignKey(
        "sales.Opportunity", on_delete=models.PROTECT, related_name="quotes", db_index=False
    )
    reference = models.CharField(max_length=20, blank=True, help_text="Shared by every revision.")
    revision = models.PositiveIntegerField(default=1)
    previous = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="next_revision"
    )
    status = models.CharField(max_length=16, choices=QuoteStatus.choices, default=QuoteStatus.DRAFT)
    currency = models.CharField(max_length=3)
    tier = models.CharField(max_length=10, choices=CustomerTier.choices, default=CustomerTier.STANDARD)
    price_list = models.ForeignKey(PriceList, on_delete=models.PROTECT, related_name="quotes")
    tax_rate = models.DecimalField(
        max_digits=5,
        decimal_places=2,
        default=Decimal("0"),
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("100"))],
        help_text="Percent.",
    )
    valid_until = models.DateField()
    requested_delivery_on = models.DateField(null=True, blank=True)
    accept_later_delivery = models.BooleanField(
        default=False, help_text="The customer accepts the back office's earliest date when later."
    )
    promised_delivery_on = models.DateField(null=True, blank=True, help_text="Set when sent.")
    discount_limit_percent = models.DecimalField(
        max_digits=5,
        decimal_places=2,
        default=Decimal("0"),
        help_text="The limit of whoever last set the lines.",
    )
    # Four eyes: whoever set the discounts never approves them (see `quote_approve`).
    priced_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="Who last set the lines (and so the discounts).",
    )
    subtotal = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal("0"))
    discount_total = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal("0"))
    tax_total = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal("0"))
    total = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal("0"))
    notes = models.TextField(blank=True, max_length=5000)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    approved_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    sent_to = models.EmailField(blank=True)
    # The e-mail's delivery, written by the worker that sends it (not by the rep's
    # request): no `version` change, so that a rep's ETag stays good while it happens.
    email_status = models.CharField(
        max_length=8, choices=QuoteEmailStatus.choices, blank=True, default=QuoteEmailStatus.NONE
    )
    email_sent_at = models.DateTimeField(
        null=True, blank=True, help_text="When the mail server accepted the quote's e-mail."
    )
    email_error = models.CharField(max_length=300, blank=True, help_text="Why the last attempt failed.")
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["-created_at", "-id"]
        permissions = [
            ("approve_quote", "Can approve discounts above the limit"),
            ("change_any_quote", "Can change quotes of opportunities owned by anyone"),
        ]
        indexes = [
            models.Index(fields=["-created_at", "-id"], name="quote_created_idx"),
            models.Index(fields=["opportunity", "revision"], name="quote_opportunity_idx"),
            models.Index(fields=["status", "valid_until"], name="quote_status_idx"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["reference", "revision"], condition=~Q(reference=""), name="quote_reference_revision"
            ),
            models.CheckConstraint(condition=Q(status__in=QuoteStatus.values), name="quote_status_valid"),
            models.CheckConstraint(condition=Q(currency__regex=r"^[A-Z]{3}$"), name="quote_currency_format"),
            models.CheckConstraint(
                condition=Q(tax_rate__gte=0, tax_rate__lte=100), name="quote_tax_rate_range"
            ),
            models.CheckConstraint(
                condition=Q(subtotal__gte=0, discount_total__gte=0, tax_total__gte=0, total__gte=0),
                name="quote_totals_not_negative",
            ),
            models.CheckConstraint(
                condition=Q(revision=1, previous__isnull=True) | Q(revision__gt=1, previous__isnull=False),
                name="quote_revision_links_previous",
            ),
            models.CheckConstraint(
                condition=~Q(status=QuoteStatus.APPROVED)
                | Q(approved_by__isnull=False, approved_at__isnull=False),
                name="quote_approved_has_approver",
            ),
            models.CheckConstraint(
                condition=~Q(status=QuoteStatus.SENT) | Q(sent_at__isnull=False),
                name="quote_sent_has_date",
            ),
            models.CheckConstraint(condition=Q(version__gte=1), name="quote_version_positive"),
            models.CheckConstraint(
                condition=Q(email_status__in=QuoteEmailStatus.values), name="quote_email_status_valid"
            ),
            models.CheckConstraint(
                condition=~Q(email_status=QuoteEmailStatus.SENT) | Q(email_sent_at__isnull=False),
                name="quote_emailed_has_date",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.reference or 'Quote'} rev. {self.revision}"

    @property
    def owner(self) -> Any:
        """Quotes belong to whoever owns the opportunity (`can_edit_owned`)."""
        return self.opportunity.owner

    @property
    def is_editable(self) -> bool:
        return self.status in EDITABLE_STATUSES


class QuoteLine(TimeStamped):
    """One product on a quote: quantity (whole units), the price-list price, a discount."""

    quote = models.ForeignKey(Quote, on_delete=models.CASCADE, related_name="lines", db_index=False)
    position = models.PositiveIntegerField()
    product = models.ForeignKey(
        PRODUCT, to_field="sku", db_column="sku", on_delete=models.PROTECT, related_name="+"
    )
    description = models.CharField(max_length=200, blank=True)
    quantity = models.PositiveIntegerField(
        validators=[MinValueValidator(1), MaxValueValidator(MAX_LINE_QUANTITY)]
    )
    unit_price = models.DecimalField(max_digits=14, decimal_places=2)
    discount_percent = models.DecimalField(
        max_digits=5,
        decimal_places=2,
        default=Decimal("0"),
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("100"))],
    )
    net_amount = models.DecimalField(
        max_digits=14, decimal_places=2, help_text="Quantity x price less the discount, in cents."
    )

    class Meta:
        ordering = ["quote_id", "position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["quote", "position"], name="quoteline_position_unique"),
            models.CheckConstraint(
                condition=Q(quantity__gt=0, quantity__lte=MAX_LINE_QUANTITY), name="quoteline_quantity_range"
            ),
            models.CheckConstraint(condition=Q(unit_price__gte=0), name="quoteline_price_not_negative"),
            models.CheckConstraint(
                condition=Q(discount_percent__gte=0, discount_percent__lte=100),
                name="quoteline_discount_range",
            ),
            models.CheckConstraint(condition=Q(net_amount__gte=0), name="quoteline_net_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.product_id} x{self.quantity}"

    @property
    def gross_amount(self) -> Decimal:
        return (self.unit_price * self.quantity).quantize(CENT)

    @property
    def sku(self) -> str:
        return self.product_id
