"""The service desk: cases that customers raise with us, by any channel."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from simple_history.models import HistoricalRecords

from frontoffice.models import TimeStamped
from service.choices import CaseChannel, CaseKind, CasePriority, CaseStatus

CUSTOMER = "customers.Customer"


class Case(TimeStamped):
    """A customer's enquiry, request, complaint or incident, from its opening to its
    closure. `version` is the optimistic lock (ETag)."""

    customer = models.ForeignKey(CUSTOMER, on_delete=models.CASCADE, related_name="service_cases")
    kind = models.CharField(max_length=10, choices=CaseKind.choices)
    channel = models.CharField(max_length=10, choices=CaseChannel.choices)
    subject = models.CharField(max_length=200)
    description = models.TextField(blank=True, max_length=20000)
    priority = models.CharField(max_length=8, choices=CasePriority.choices, default=CasePriority.NORMAL)
    status = models.CharField(max_length=10, choices=CaseStatus.choices, default=CaseStatus.NEW)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="service_cases",
    )
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    version = models.PositiveIntegerField(default=1)

    history = HistoricalRecords(excluded_fields=["updated_at"])

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["-created_at", "-id"], name="case_created_idx"),
            models.Index(fields=["customer", "status", "-created_at"], name="case_customer_idx"),
            models.Index(fields=["status", "priority", "-created_at"], name="case_queue_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=CaseKind.values), name="case_kind_valid"),
            models.CheckConstraint(condition=Q(channel__in=CaseChannel.values), name="case_channel_valid"),
            models.CheckConstraint(condition=Q(priority__in=CasePriority.values), name="case_priority_valid"),
            models.CheckConstraint(condition=Q(status__in=CaseStatus.values), name="case_status_valid"),
            models.CheckConstraint(condition=~Q(subject=""), name="case_has_subject"),
            models.CheckConstraint(condition=Q(version__gte=1), name="case_version_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.reference}: {self.subject}"

    @property
    def reference(self) -> str:
        return f"C-{self.pk:06d}" if self.pk else "C-new"
