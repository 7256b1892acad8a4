"""Back-office sync: inbox tables.

Every event the ERP sends (webhook or poll) is stored first under its unique external
id, then applied once; the per-aggregate version register makes sure an older update
never overwrites a newer one, and the cursor says where polling resumes.
"""

from __future__ import annotations

from django.db import models

from backoffice_sync.erp import ErpEvent, EventType
from frontoffice.models import TimeStamped

__all__ = ["InboxAggregate", "InboxEvent", "InboxStatus", "InboxVia", "SyncCursor"]


class InboxStatus(models.TextChoices):
    RECEIVED = "received", "Received"  # stored, not applied yet
    APPLIED = "applied", "Applied"
    STALE = "stale", "Stale (a newer version was applied first)"
    REJECTED = "rejected", "Rejected (kept for inspection)"


class InboxVia(models.TextChoices):
    WEBHOOK = "webhook", "Webhook"
    POLL = "poll", "Polling"


class InboxEvent(TimeStamped):
    """One event from the ERP, stored before anything is applied.

    `external_id` is the ERP's event id (the webhook-id header): a redelivery finds the
    row and is not applied again. A malformed but authentic message is kept with
    status `rejected`, its `error`, and the body it came with (`raw_body`).
    """

    external_id = models.CharField(max_length=200, unique=True)
    type = models.CharField(max_length=40, blank=True)
    aggregate = models.CharField(max_length=200, blank=True)
    version = models.PositiveBigIntegerField(null=True, blank=True)
    occurred_at = models.DateTimeField(null=True, blank=True)
    data = models.JSONField(default=dict, blank=True)
    raw_body = models.TextField(blank=True, help_text="The body of a message that could not be read.")
    via = models.CharField(max_length=10, choices=InboxVia.choices)
    status = models.CharField(max_length=10, choices=InboxStatus.choices, default=InboxStatus.RECEIVED)
    applied_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)
    apply_attempts = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["-id"]
        indexes = [
            # the sweep of events stored but not applied yet
            models.Index(fields=["status", "id"], name="inbox_status_idx"),
            models.Index(fields=["aggregate", "version"], name="inbox_aggregate_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=InboxStatus.values), name="inbox_status_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(status=InboxStatus.RECEIVED) | models.Q(applied_at__isnull=False),
                name="inbox_processed_has_time",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.type or 'malformed'} {self.external_id} ({self.status})"

    def as_erp_event(self) -> ErpEvent:
        """The event as the ERP sent it (only for a row that was well-formed)."""
        if self.version is None or self.occurred_at is None or not self.type:
            raise ValueError(f"Inbox event {self.external_id} was never a well-formed event.")
        return ErpEvent(
            id=self.external_id,
            type=EventType(self.type),
            aggregate=self.aggregate,
            version=self.version,
            occurred_at=self.occurred_at,
            data=self.data,
        )


class InboxAggregate(TimeStamped):
    """The newest version applied per ERP aggregate ("order:FO-12", "stock:SKU:WH1").

    Locked while an event of the aggregate is applied, so that two deliveries of the
    same aggregate (webhook and poll at once) apply one after the other; an event
    whose version is not above `version` is stale.
    """

    aggregate = models.CharField(max_length=200, unique=True)
    version = models.PositiveBigIntegerField(default=0)

    class Meta:
        ordering = ["aggregate"]

    def __str__(self) -> str:
        return f"{self.aggregate} v{self.version}"


class SyncCursor(TimeStamped):
    """Where polling the ERP resumes. Advanced only after the page's events are stored."""

    name = models.CharField(max_length=40, unique=True)
    cursor = models.CharField(max_length=500, blank=True)
    last_pulled_at = models.DateTimeField(null=True, blank=True, help_text="Last attempt.")
    last_success_at = models.DateTimeField(null=True, blank=True, help_text="Last successful pull.")
    last_error = models.TextField(blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name}: {self.cursor or '(start)'}"
