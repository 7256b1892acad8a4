"""Sales forecast snapshots published to the ERP, and product affinities ("customers who
bought X also bought Y") computed from the ERP order mirror.

Both tables are written only by `sales.forecast.services`.
"""

from __future__ import annotations

from django.db import models
from django.db.models import F, Q

from frontoffice.models import TimeStamped

__all__ = ["ForecastSnapshot", "ProductAffinity"]


class ForecastSnapshot(TimeStamped):
    """The weighted pipeline of one currency as published to the ERP for one ISO week.

    One row per (week, currency): publishing a week again finds the row and sends
    nothing. `lines` is exactly what was sent: [{"month", "sku", "quantity", "amount"}].
    """

    week = models.CharField(max_length=8, help_text="ISO week, e.g. 2026-W48.")
    week_start = models.DateField(help_text="The Monday of the ISO week.")
    currency = models.CharField(max_length=3)
    forecast_ref = models.CharField(max_length=40, unique=True)
    lines = models.JSONField(default=list)
    total_amount = models.DecimalField(max_digits=16, decimal_places=2, default=0)
    outbox_message_id = models.PositiveBigIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["-week_start", "currency"]
        indexes = [models.Index(fields=["currency", "-week_start"], name="forecast_currency_week_idx")]
        constraints = [
            models.UniqueConstraint(fields=["week", "currency"], name="forecast_week_currency_unique"),
            models.CheckConstraint(
                condition=Q(currency__regex=r"^[A-Z]{3}$"), name="forecast_currency_format"
            ),
            models.CheckConstraint(
                condition=Q(week__regex=r"^[0-9]{4}-W[0-9]{2}$"), name="forecast_week_format"
            ),
        ]

    def __str__(self) -> str:
        return self.forecast_ref


class ProductAffinity(TimeStamped):
    """Of the customers who bought `sku`, how many also bought `other_sku`.

    confidence = customers who bought both / customers who bought `sku` (0..1).
    Rewritten as a whole by `sales.forecast.services.affinities_recompute` (top 10 per sku).
    """

    sku = models.CharField(max_length=64)
    other_sku = models.CharField(max_length=64)
    both_customers = models.PositiveIntegerField()
    sku_customers = models.PositiveIntegerField()
    confidence = models.DecimalField(max_digits=5, decimal_places=4)

    class Meta:
        ordering = ["sku", "-confidence", "-both_customers", "other_sku"]
        verbose_name_plural = "product affinities"
        indexes = [
            models.Index(
                fields=["sku", "-confidence", "-both_customers", "other_sku"], name="affinity_top_idx"
            )
        ]
        constraints = [
            models.UniqueConstraint(fields=["sku", "other_sku"], name="affinity_pair_unique"),
            models.CheckConstraint(condition=~Q(sku=F("other_sku")), name="affinity_distinct_skus"),
            models.CheckConstraint(
                condition=Q(confidence__gte=0, confidence__lte=1), name="affinity_confidence_range"
            ),
            models.CheckConstraint(
                condition=Q(both_customers__lte=F("sku_customers")), name="affinity_both_within_buyers"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.sku} -> {self.other_sku} ({self.confidence})"
