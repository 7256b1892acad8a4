"""Sales: pipelines and their stages, opportunities and their product lines.

Money is a Decimal (14 digits, 2 places) with a 3-letter upper-case currency code.
`version` on pipelines and opportunities is the optimistic lock (ETag).
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower

from frontoffice.models import TimeStamped, TimeStampedListed

__all__ = [
    "Opportunity",
    "OpportunityLine",
    "OpportunityStatus",
    "Pipeline",
    "Stage",
    "StageKind",
]

CUSTOMER = "customers.Customer"
currency_validator = RegexValidator(r"^[A-Z]{3}$", "Use a 3-letter ISO currency code in capitals, e.g. EUR.")


class StageKind(models.TextChoices):
    OPEN = "open", "Open"
    WON = "won", "Won"
    LOST = "lost", "Lost"


class OpportunityStatus(models.TextChoices):
    OPEN = "open", "Open"
    WON = "won", "Won"
    LOST = "lost", "Lost"


class Pipeline(TimeStamped):
    """A sales process: an ordered list of stages. Configured by admins. `version` covers
    the stages too: any change to them moves it on."""

    name = models.CharField(max_length=100)
    is_default = models.BooleanField(default=False)
    active = models.BooleanField(default=True)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["-is_default", "name", "id"]
        constraints = [
            models.UniqueConstraint(Lower("name"), name="pipeline_name_ci_unique"),
            models.UniqueConstraint(
                fields=["is_default"], condition=Q(is_default=True), name="pipeline_one_default"
            ),
            models.CheckConstraint(condition=~Q(name=""), name="pipeline_has_name"),
            models.CheckConstraint(condition=Q(version__gte=1), name="pipeline_version_positive"),
        ]

    def __str__(self) -> str:
        return self.name


class Stage(TimeStamped):
    """A step of a pipeline with its default win probability (0-100) and its kind."""

    pipeline = models.ForeignKey(Pipeline, on_delete=models.CASCADE, related_name="stages", db_index=False)
    name = models.CharField(max_length=100)
    order = models.PositiveSmallIntegerField()
    probability = models.PositiveSmallIntegerField(validators=[MinValueValidator(0), MaxValueValidator(100)])
    kind = models.CharField(max_length=4, choices=StageKind.choices, default=StageKind.OPEN)

    class Meta:
        ordering = ["pipeline_id", "order", "id"]
        constraints = [
            models.UniqueConstraint(fields=["pipeline", "order"], name="stage_order_unique"),
            models.UniqueConstraint("pipeline", Lower("name"), name="stage_name_ci_unique"),
            models.CheckConstraint(
                condition=Q(probability__gte=0, probability__lte=100), name="stage_probability_range"
            ),
            models.CheckConstraint(condition=Q(kind__in=StageKind.values), name="stage_kind_valid"),
            models.CheckConstraint(condition=~Q(name=""), name="stage_has_name"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.probability}%)"


class Opportunity(TimeStampedListed):
    """A sale in progress for a customer, moving through the stages of a pipeline."""

    # CASCADE like the ERP mirrors: deleting a customer (an admin's erasure) removes the
    # personal data held about them; merges re-point instead (see the merge registry).
    customer = models.ForeignKey(
        CUSTOMER, on_delete=models.CASCADE, related_name="opportunities", db_index=False
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="opportunities",
        db_index=False,
    )
    name = models.CharField(max_length=200)
    amount = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal("0"))
    currency = models.CharField(max_length=3, validators=[currency_validator])
    pipeline = models.ForeignKey(
        Pipeline, on_delete=models.PROTECT, related_name="opportunities", db_index=False
    )
    stage = models.ForeignKey(Stage, on_delete=models.PROTECT, related_name="opportunities")
    expected_close_date = models.DateField(null=True, blank=True)
    source_lead = models.ForeignKey(
        "sales.Lead", null=True, blank=True, on_delete=models.SET_NULL, related_name="opportunities"
    )
    # A reference to a marketing campaign. No foreign key yet: `sales` must not import
    # `marketing`, and the campaign model belongs to the marketing issue.
    campaign_id = models.PositiveIntegerField(null=True, blank=True)
    next_step = models.CharField(max_length=300, blank=True)
    status = models.CharField(max_length=4, choices=OpportunityStatus.choices, default=OpportunityStatus.OPEN)
    lost_reason = models.CharField(max_length=300, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "opportunities"
        permissions = [("change_any_opportunity", "Can change opportunities owned by anyone")]
        indexes = [
            models.Index(fields=["-created_at", "-id"], name="opp_created_idx"),
            models.Index(fields=["pipeline", "stage", "status"], name="opp_board_idx"),
            models.Index(fields=["owner", "status"], name="opp_owner_idx"),
            models.Index(fields=["customer", "status"], name="opp_customer_idx"),
            models.Index(fields=["expected_close_date"], name="opp_close_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gte=0), name="opp_amount_not_negative"),
            models.CheckConstraint(condition=Q(currency__regex=r"^[A-Z]{3}$"), name="opp_currency_format"),
            models.CheckConstraint(condition=Q(status__in=OpportunityStatus.values), name="opp_status_valid"),
            models.CheckConstraint(condition=~Q(name=""), name="opp_has_name"),
            models.CheckConstraint(
                condition=~Q(status=OpportunityStatus.LOST) | ~Q(lost_reason=""), name="opp_lost_has_reason"
            ),
            models.CheckConstraint(
                condition=Q(status=OpportunityStatus.OPEN, closed_at__isnull=True)
                | (~Q(status=OpportunityStatus.OPEN) & Q(closed_at__isnull=False)),
                name="opp_closed_at_matches_status",
            ),
            models.CheckConstraint(condition=Q(version__gte=1), name="opp_version_positive"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def weighted_amount(self) -> Decimal:
        return (self.amount * self.stage.probability / 100).quantize(Decimal("0.01"))


class OpportunityLine(TimeStamped):
    """A product of the ERP catalogue (by SKU, see `backoffice_sync.Product`) on an opportunity.

    The SKU is text rather than a foreign key: the mirror is rewritten by the sync and a
    product leaving the catalogue must not break past opportunities. The service checks
    the SKU exists in the mirror when the line is written.
    """

    opportunity = models.ForeignKey(Opportunity, on_delete=models.CASCADE, related_name="lines")
    sku = models.CharField(max_length=64)
    description = models.CharField(max_length=200, blank=True)
    quantity = models.DecimalField(max_digits=12, decimal_places=3)
    unit_price = models.DecimalField(max_digits=14, decimal_places=2)

    class Meta:
        ordering = ["opportunity_id", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="oppline_quantity_positive"),
            models.CheckConstraint(condition=Q(unit_price__gte=0), name="oppline_price_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.sku} x{self.quantity}"

    @property
    def total(self) -> Decimal:
        return (self.quantity * self.unit_price).quantize(Decimal("0.01"))
