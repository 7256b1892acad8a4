"""Marketing: segments (rules over the customer profile), campaigns and their members
(the audience a launch snapshots), bounces, public lead forms, and lead scoring.

Money is a Decimal (14 digits, 2 places) with a 3-letter currency code. `version` is the
optimistic lock (ETag) of what people edit.
"""

from __future__ import annotations

import json
import uuid
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower

from frontoffice.models import TimeStamped, TimeStampedListed
from marketing.choices import (
    CampaignChannel,
    CampaignStatus,
    MemberStatus,
    RoutingMethod,
    ScoringEvent,
    ScoringKind,
)

CUSTOMER = "customers.Customer"


class Segment(TimeStamped):
    """A dynamic audience: `rules` (the rule language of marketing.segments.rules),
    evaluated whenever it is used; a campaign's launch snapshots it."""

    name = models.CharField(max_length=100)
    description = models.CharField(max_length=500, blank=True)
    rules = models.JSONField(default=dict)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(Lower("name"), name="segment_name_ci_unique"),
            models.CheckConstraint(condition=~Q(name=""), name="segment_has_name"),
            models.CheckConstraint(condition=Q(version__gte=1), name="segment_version_positive"),
        ]

    def __str__(self) -> str:
        return self.name


class Campaign(TimeStampedListed):
    """A marketing campaign: who it talks to (a segment), what it says (templates), when,
    what it costs, and the frequency cap it honours. States and their transitions:
    marketing.choices.TRANSITIONS."""

    name = models.CharField(max_length=200)
    channel = models.CharField(max_length=8, choices=CampaignChannel.choices, default=CampaignChannel.EMAIL)
    status = models.CharField(max_length=10, choices=CampaignStatus.choices, default=CampaignStatus.DRAFT)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    budget = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal("0"))
    currency = models.CharField(max_length=3, default="EUR")
    starts_at = models.DateTimeField(null=True, blank=True)
    ends_at = models.DateTimeField(null=True, blank=True)
    segment = models.ForeignKey(
        Segment, null=True, blank=True, on_delete=models.PROTECT, related_name="campaigns"
    )
    subject_template = models.CharField(max_length=200, blank=True)
    body_template = models.TextField(blank=True, max_length=20000)
    # No customer gets more than `cap_messages` marketing e-mails in `cap_days` days,
    # across campaigns (0 messages: no cap).
    cap_messages = models.PositiveSmallIntegerField(default=3)
    cap_days = models.PositiveSmallIntegerField(default=7)
    launched_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    # At launch: how many of the segment were left out, by marketing.choices.ExclusionReason.
    exclusions = models.JSONField(default=dict, blank=True)
    # Why beat could not launch it when its start came (it went back to draft); cleared
    # when it is scheduled again or changed.
    launch_problem = models.CharField(max_length=500, blank=True)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["-created_at", "-id"]
        permissions = [
            ("launch_campaign", "Can schedule, launch and cancel campaigns"),
            ("export_customers", "Can export customer lists and segments as CSV"),
        ]
        indexes = [
            models.Index(fields=["-created_at", "-id"], name="campaign_created_idx"),
            models.Index(fields=["status", "starts_at"], name="campaign_due_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=~Q(name=""), name="campaign_has_name"),
            models.CheckConstraint(
                condition=Q(channel__in=CampaignChannel.values), name="campaign_channel_valid"
            ),
            models.CheckConstraint(
                condition=Q(status__in=CampaignStatus.values), name="campaign_status_valid"
            ),
            models.CheckConstraint(condition=Q(budget__gte=0), name="campaign_budget_not_negative"),
            models.CheckConstraint(
                condition=Q(currency__regex=r"^[A-Z]{3}$"), name="campaign_currency_format"
            ),
            models.CheckConstraint(
                condition=Q(starts_at__isnull=True)
                | Q(ends_at__isnull=True)
                | Q(ends_at__gt=models.F("starts_at")),
                name="campaign_ends_after_start",
            ),
            models.CheckConstraint(condition=Q(version__gte=1), name="campaign_version_positive"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def sends_email(self) -> bool:
        return self.channel == CampaignChannel.EMAIL


class CampaignMember(TimeStamped):
    """One customer of a launched campaign's audience (the snapshot), with its e-mail
    as it was at launch and how far it responded. One row per (campaign, customer):
    the unique constraint is what makes "one copy per recipient" hold."""

    # A launch writes hundreds of thousands of members in one statement: no index more
    # than the reads need (the campaign's and the customer's lead the composite ones
    # below; nothing reads members by creation time alone).
    created_at = models.DateTimeField(auto_now_add=True)
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="members", db_index=False)
    customer = models.ForeignKey(
        CUSTOMER, on_delete=models.CASCADE, related_name="campaign_memberships", db_index=False
    )
    email = models.CharField(max_length=320, blank=True)
    status = models.CharField(max_length=12, choices=MemberStatus.choices, default=MemberStatus.PENDING)
    # The key the outbound room dedupes on; set when the send is claimed.
    send_key = models.CharField(max_length=100, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    opened_at = models.DateTimeField(null=True, blank=True)
    clicked_at = models.DateTimeField(null=True, blank=True)
    responded_at = models.DateTimeField(null=True, blank=True)
    converted_at = models.DateTimeField(null=True, blank=True)
    unsubscribed_at = models.DateTimeField(null=True, blank=True)
    bounced_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["campaign_id", "id"]
        indexes = [
            models.Index(fields=["campaign", "status"], name="member_campaign_status_idx"),
            # The frequency cap: a customer's e-mails sent since a date.
            models.Index(fields=["customer", "sent_at"], name="member_customer_sent_idx"),
            # The frequency cap (launch.recent_counts): the members sent, or pending, in its
            # window, read by range, not by a scan of every member ever written.
            models.Index(fields=["sent_at"], name="member_sent_idx", condition=Q(sent_at__isnull=False)),
            models.Index(
                fields=["created_at"],
                name="member_pending_created_idx",
                condition=Q(status=MemberStatus.PENDING),
            ),
        ]
        constraints = [
            models.UniqueConstraint(fields=["campaign", "customer"], name="member_once_per_campaign"),
            models.CheckConstraint(condition=Q(status__in=MemberStatus.values), name="member_status_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.campaign_id}/{self.customer_id} ({self.status})"


class AudienceIds(models.Field):
    """A list of customer ids stored as one value: `bigint[]` on PostgreSQL (sliced and
    unnested in SQL), a JSON list elsewhere."""

    description = "A list of customer ids"

    def db_type(self, connection: Any) -> str:
        return "bigint[]" if connection.vendor == "postgresql" else "text"

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> list[int] | None:
        if value is None:
            return None
        return [int(v) for v in (json.loads(value) if isinstance(value, str) else value)]

    def get_db_prep_value(self, value: Any, connection: Any, prepared: bool = False) -> Any:
        if value is None:
            return None
        ids = [int(v) for v in value]
        return ids if connection.vendor == "postgresql" else json.dumps(ids)


class CampaignAudience(models.Model):
    """A launched campaign's snapshot: the customers it goes to, as one value (a launch
    writes one row whatever the audience's size). The sending writes them as members
    batch by batch, in this order: `written` is how many it has written so far (the ids
    after it are still to be sent; a cancelled or completed campaign writes no more)."""

    campaign = models.OneToOneField(
        Campaign, on_delete=models.CASCADE, primary_key=True, related_name="audience"
    )
    customer_ids = AudienceIds(default=list)
    total = models.PositiveIntegerField(default=0)
    written = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(written__lte=models.F("total")), name="audience_written_within"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.campaign_id}: {self.written}/{self.total}"

    @property
    def unwritten(self) -> int:
        return self.total - self.written


class EmailBounce(models.Model):
    """An address that bounced (hard bounce): no campaign sends to it again."""

    email = models.CharField(max_length=320)
    customer = models.ForeignKey(
        CUSTOMER, null=True, blank=True, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    member = models.ForeignKey(
        CampaignMember, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reason = models.CharField(max_length=300, blank=True)
    occurred_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-occurred_at", "-id"]
        indexes = [
            models.Index(fields=["email"], name="bounce_email_idx"),
            models.Index(fields=["customer"], name="bounce_customer_idx"),
        ]

    def __str__(self) -> str:
        return self.email


def _form_key() -> str:
    return uuid.uuid4().hex


class LeadForm(TimeStamped):
    """A public lead form of a campaign, embeddable in another site by its `public_key`."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="lead_forms")
    name = models.CharField(max_length=100)
    public_key = models.CharField(max_length=32, unique=True, default=_form_key, editable=False)
    consent_text = models.CharField(
        max_length=300, default="Yes, e-mail me news and offers (you can unsubscribe at any time)."
    )
    thank_you = models.CharField(max_length=300, default="Thank you, we will be in touch.")
    active = models.BooleanField(default=True)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=~Q(name=""), name="leadform_has_name"),
            models.CheckConstraint(condition=Q(version__gte=1), name="leadform_version_positive"),
        ]

    def __str__(self) -> str:
        return self.name


class FormSubmission(models.Model):
    """What a lead form received: the customer it matched or created and the lead made
    (one per submission token: a re-posted form makes nothing twice)."""

    form = models.ForeignKey(LeadForm, on_delete=models.CASCADE, related_name="submissions")
    token = models.CharField(max_length=64, unique=True)
    customer = models.ForeignKey(CUSTOMER, on_delete=models.CASCADE, related_name="+", db_index=False)
    lead_id = models.PositiveIntegerField(null=True, blank=True)
    created_customer = models.BooleanField(default=False)
    occurred_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-occurred_at", "-id"]
        indexes = [models.Index(fields=["customer", "-occurred_at"], name="submission_customer_idx")]

    def __str__(self) -> str:
        return f"{self.form_id}: {self.customer_id}"


class ScoringRule(TimeStamped):
    """Points for a profile (customers matching `criteria`, a segment rule) or for a
    behaviour (each `event`, its points halving every `half_life_days`: decay)."""

    name = models.CharField(max_length=100)
    kind = models.CharField(max_length=10, choices=ScoringKind.choices)
    criteria = models.JSONField(default=dict, blank=True)
    event = models.CharField(max_length=16, choices=ScoringEvent.choices, blank=True)
    points = models.SmallIntegerField()
    half_life_days = models.PositiveSmallIntegerField(default=30)
    active = models.BooleanField(default=True)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.CheckConstraint(condition=~Q(name=""), name="scoringrule_has_name"),
            models.CheckConstraint(condition=Q(kind__in=ScoringKind.values), name="scoringrule_kind_valid"),
            models.CheckConstraint(
                condition=Q(kind=ScoringKind.PROFILE) | Q(event__in=ScoringEvent.values),
                name="scoringrule_behaviour_has_event",
            ),
            models.CheckConstraint(condition=Q(half_life_days__gte=1), name="scoringrule_half_life_positive"),
            models.CheckConstraint(condition=Q(version__gte=1), name="scoringrule_version_positive"),
        ]

    def __str__(self) -> str:
        return self.name


class LeadScore(models.Model):
    """A customer's current lead score (recomputed on events) and whom it was routed to."""

    customer = models.OneToOneField(CUSTOMER, on_delete=models.CASCADE, related_name="lead_score")
    score = models.IntegerField(default=0)
    computed_at = models.DateTimeField()
    routed_at = models.DateTimeField(null=True, blank=True)
    routed_to = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-score", "customer_id"]
        indexes = [
            models.Index(fields=["-score"], name="leadscore_score_idx"),
            # beat's refresh of the scores due (oldest first, a batch at a time)
            models.Index(fields=["computed_at", "customer"], name="leadscore_due_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.customer_id}: {self.score}"


class RoutingSettings(TimeStamped):
    """Where leads over the threshold go: round robin over the sales reps, or by
    territory (a custom attribute's value -> a rep). One row (pk=1)."""

    threshold = models.PositiveIntegerField(default=50)
    method = models.CharField(max_length=12, choices=RoutingMethod.choices, default=RoutingMethod.ROUND_ROBIN)
    territory_attribute = models.CharField(max_length=50, blank=True)
    # {"north": user id, ...} for the territory method.
    territories = models.JSONField(default=dict, blank=True)
    last_assigned = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    version = models.PositiveIntegerField(default=1)

    class Meta:
        verbose_name_plural = "routing settings"
        constraints = [
            models.CheckConstraint(condition=Q(method__in=RoutingMethod.values), name="routing_method_valid"),
        ]

    def __str__(self) -> str:
        return f"Routing ({self.method}, {self.threshold})"
