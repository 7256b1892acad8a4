"""Leads: prospective sales not yet tied to a customer, from people, imports, marketing's
forms and the API. `version` is the optimistic lock (ETag)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from frontoffice.models import TimeStampedListed

__all__ = ["Lead", "LeadSource", "LeadStatus"]

CUSTOMER = "customers.Customer"


class LeadSource(models.TextChoices):
    MANUAL = "manual", "Manual"
    IMPORTED = "imported", "Imported"
    MARKETING_FORM = "marketing_form", "Marketing form"
    API = "api", "API"


class LeadStatus(models.TextChoices):
    NEW = "new", "New"
    QUALIFIED = "qualified", "Qualified"
    DISQUALIFIED = "disqualified", "Disqualified"
    CONVERTED = "converted", "Converted"


class Lead(TimeStampedListed):
    """A prospective sale not yet tied to a customer; converted into customer + opportunity."""

    source = models.CharField(max_length=14, choices=LeadSource.choices, default=LeadSource.MANUAL)
    status = models.CharField(max_length=12, choices=LeadStatus.choices, default=LeadStatus.NEW)
    first_name = models.CharField(max_length=100, blank=True)
    last_name = models.CharField(max_length=100, blank=True)
    organisation_name = models.CharField(max_length=200, blank=True)
    email = models.EmailField(blank=True)
    phone = models.CharField(max_length=40, blank=True)
    title = models.CharField(max_length=200, help_text="What the lead is interested in.")
    notes = models.TextField(blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="sales_leads",
        db_index=False,
    )
    # A reference to a marketing campaign. No foreign key yet: `sales` must not import
    # `marketing`, and the campaign model belongs to the marketing issue.
    campaign_id = models.PositiveIntegerField(null=True, blank=True)
    disqualified_reason = models.CharField(max_length=300, blank=True)
    # CASCADE like the ERP mirrors: deleting a customer (an admin's erasure) removes the
    # personal data held about them; merges re-point instead (see the merge registry).
    customer = models.ForeignKey(
        CUSTOMER, null=True, blank=True, on_delete=models.CASCADE, related_name="sales_leads"
    )
    converted_at = models.DateTimeField(null=True, blank=True)
    # A marketing form's capture (source=marketing_form, see sales/leads/services_capture.py): the
    # capture's idempotency key (unique: a capture delivered twice makes one lead), the
    # form (a reference, like campaign_id), when it was filled in, and the consents ticked
    # on it, [{"channel", "purpose", "granted"}], written to the customer's consent ledger
    # when the lead converts. NULL/empty for every other source.
    capture_key = models.CharField(max_length=200, null=True, blank=True, editable=False)
    form_id = models.PositiveIntegerField(null=True, blank=True)
    captured_at = models.DateTimeField(null=True, blank=True)
    consents = models.JSONField(default=list, blank=True)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["-created_at", "-id"]
        permissions = [("change_any_lead", "Can change leads owned by anyone")]
        indexes = [
            models.Index(fields=["-created_at", "-id"], name="lead_created_idx"),
            models.Index(fields=["status", "-created_at"], name="lead_status_idx"),
            models.Index(fields=["owner", "status"], name="lead_owner_idx"),
            # An import's duplicate check: open leads with the same (normalised) e-mail.
            models.Index(fields=["email", "status"], name="lead_email_idx"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["capture_key"], name="lead_capture_key_unique"),
            models.CheckConstraint(condition=Q(source__in=LeadSource.values), name="lead_source_valid"),
            models.CheckConstraint(condition=Q(status__in=LeadStatus.values), name="lead_status_valid"),
            models.CheckConstraint(
                condition=~Q(first_name="", last_name="", organisation_name=""), name="lead_has_name"
            ),
            models.CheckConstraint(
                condition=~Q(status=LeadStatus.DISQUALIFIED) | ~Q(disqualified_reason=""),
                name="lead_disqualified_has_reason",
            ),
            models.CheckConstraint(
                condition=~Q(status=LeadStatus.CONVERTED)
                | Q(customer__isnull=False, converted_at__isnull=False),
                name="lead_converted_has_customer",
            ),
            models.CheckConstraint(condition=Q(version__gte=1), name="lead_version_positive"),
        ]

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        person = f"{self.first_name} {self.last_name}".strip()
        if person and self.organisation_name:
            return f"{person} ({self.organisation_name})"
        return person or self.organisation_name
