"""The service desk: cases that customers raise with us by any channel, the queues that
work them, the SLA policies (on a business calendar) they are held to, the calls that
open or touch them, and goodwill credits granted within each role's authority.

(Problems, surveys, inbound e-mail and the knowledge base live in their own modules.)
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from simple_history.models import HistoricalRecords

from frontoffice.models import TimeStamped, TimeStampedListed, User
from frontoffice.roles import Role
from service.choices import (
    OPEN_STATUSES,
    AssignmentStrategy,
    CallDirection,
    CallOutcome,
    CaseCategory,
    CaseChannel,
    CaseKind,
    CasePriority,
    CaseStatus,
    GoodwillStatus,
    NoteVisibility,
)

CUSTOMER = "customers.Customer"
USER = settings.AUTH_USER_MODEL


class BusinessCalendar(TimeStamped):
    """When the service desk works: the same opening hours on each working day, in one
    time zone, except on its holidays. SLA clocks only run inside these hours."""

    name = models.CharField(max_length=100, unique=True)
    timezone = models.CharField(max_length=60, default="Europe/Berlin")
    # ISO weekdays (1 = Monday ... 7 = Sunday) the desk works, as digits: "12345".
    work_days = models.CharField(max_length=7, default="12345")
    opens_at = models.TimeField(default="08:00")
    closes_at = models.TimeField(default="18:00")
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(condition=Q(work_days__regex=r"^[1-7]{1,7}$"), name="calendar_work_days"),
            models.CheckConstraint(
                condition=Q(closes_at__gt=models.F("opens_at")), name="calendar_hours_order"
            ),
            models.CheckConstraint(condition=Q(version__gte=1), name="calendar_version_positive"),
        ]

    def __str__(self) -> str:
        return self.name


class Holiday(TimeStamped):
    """A day the desk is closed: no SLA time passes on it."""

    calendar = models.ForeignKey(
        BusinessCalendar, on_delete=models.CASCADE, related_name="holidays", db_index=False
    )
    day = models.DateField()
    name = models.CharField(max_length=100)

    class Meta:
        ordering = ["calendar_id", "day"]
        constraints = [models.UniqueConstraint(fields=["calendar", "day"], name="holiday_unique_day")]

    def __str__(self) -> str:
        return f"{self.day}: {self.name}"


class SlaPolicy(TimeStamped):
    """How fast a case of one priority, for customers of one tier, gets a first response
    and a resolution, in business minutes of `calendar`. `tier` "" applies to every tier
    that has no policy of its own. A warning goes out `warn_before_minutes` before a due
    time."""

    name = models.CharField(max_length=100)
    priority = models.CharField(max_length=8, choices=CasePriority.choices)
    tier = models.CharField(max_length=20, blank=True, help_text='A customer tier, or "" for any tier.')
    calendar = models.ForeignKey(BusinessCalendar, on_delete=models.PROTECT, related_name="policies")
    first_response_minutes = models.PositiveIntegerField(validators=[MinValueValidator(1)])
    resolution_minutes = models.PositiveIntegerField(validators=[MinValueValidator(1)])
    warn_before_minutes = models.PositiveIntegerField(default=60)
    version = models.PositiveIntegerField(default=1)

    history = HistoricalRecords(excluded_fields=["updated_at"])

    class Meta:
        ordering = ["priority", "tier", "id"]
        verbose_name_plural = "SLA policies"
        constraints = [
            models.UniqueConstraint(fields=["priority", "tier"], name="slapolicy_priority_tier_unique"),
            models.CheckConstraint(
                condition=Q(priority__in=CasePriority.values), name="slapolicy_priority_valid"
            ),
            models.CheckConstraint(
                condition=Q(
                    first_response_minutes__gte=1, resolution_minutes__gte=models.F("first_response_minutes")
                ),
                name="slapolicy_targets_order",
            ),
            models.CheckConstraint(condition=Q(version__gte=1), name="slapolicy_version_positive"),
        ]

    def __str__(self) -> str:
        return self.name


class Queue(TimeStamped):
    """A team's queue of cases. New cases are assigned to its members round-robin or to
    the least loaded; a case breaching its SLA moves to `escalation_queue` (or the
    supervisor queue)."""

    name = models.CharField(max_length=100, unique=True)
    description = models.CharField(max_length=300, blank=True)
    strategy = models.CharField(
        max_length=12, choices=AssignmentStrategy.choices, default=AssignmentStrategy.ROUND_ROBIN
    )
    members: models.ManyToManyField[User, Any] = models.ManyToManyField(
        USER, blank=True, related_name="service_queues"
    )
    is_default = models.BooleanField(default=False, help_text="Cases opened without a queue land here.")
    is_supervisor = models.BooleanField(default=False, help_text="Escalated cases land here.")
    escalation_queue = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Round robin: the member who got the last case (the next one goes to the member after).
    last_assigned = models.ForeignKey(
        USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    version = models.PositiveIntegerField(default=1)

    history = HistoricalRecords(excluded_fields=["updated_at", "last_assigned"])

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(strategy__in=AssignmentStrategy.values), name="queue_strategy_valid"
            ),
            models.UniqueConstraint(
                fields=["is_default"], condition=Q(is_default=True), name="queue_one_default"
            ),
            models.CheckConstraint(
                condition=~Q(escalation_queue=models.F("id")), name="queue_not_own_escalation"
            ),
            models.CheckConstraint(condition=Q(version__gte=1), name="queue_version_positive"),
        ]

    def __str__(self) -> str:
        return self.name


class Case(TimeStampedListed):
    """A customer's enquiry, request, complaint or incident, from its opening to its
    closure. `version` is the optimistic lock (ETag).

    The SLA fields are the case's clock: due times (moved forward by the business time
    spent waiting on the customer), when the first response and the resolution came,
    whether each was in time (`*_met`, the attainment), and the sweep's marks."""

    customer = models.ForeignKey(
        CUSTOMER, on_delete=models.CASCADE, related_name="service_cases", db_index=False
    )
    kind = models.CharField(max_length=10, choices=CaseKind.choices)
    channel = models.CharField(max_length=10, choices=CaseChannel.choices)
    subject = models.CharField(max_length=200)
    description = models.TextField(blank=True, max_length=20000)
    priority = models.CharField(max_length=8, choices=CasePriority.choices, default=CasePriority.NORMAL)
    category = models.CharField(max_length=10, choices=CaseCategory.choices, default=CaseCategory.OTHER)
    status = models.CharField(max_length=20, choices=CaseStatus.choices, default=CaseStatus.NEW)
    related_order = models.ForeignKey(
        "sales.SalesOrder", null=True, blank=True, on_delete=models.SET_NULL, related_name="service_cases"
    )
    queue = models.ForeignKey(
        Queue, null=True, blank=True, on_delete=models.SET_NULL, related_name="cases", db_index=False
    )
    assignee = models.ForeignKey(
        USER,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="service_cases",
        db_index=False,
    )
    opened_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    resolution = models.TextField(blank=True, max_length=5000)
    root_cause = models.CharField(max_length=500, blank=True)
    first_contact_resolved = models.BooleanField(default=False)
    # Written by the CSAT survey (1-5); null until the customer answers.
    csat_score = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1), MaxValueValidator(5)]
    )
    reopened_count = models.PositiveSmallIntegerField(default=0)
    resolved_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    # --- SLA clock
    sla_policy = models.ForeignKey(
        SlaPolicy, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    first_response_due_at = models.DateTimeField(null=True, blank=True)
    resolution_due_at = models.DateTimeField(null=True, blank=True)
    first_response_at = models.DateTimeField(null=True, blank=True)
    sla_paused_at = models.DateTimeField(null=True, blank=True)
    sla_paused_seconds = models.PositiveIntegerField(default=0, help_text="Business seconds spent paused.")
    sla_warned_at = models.DateTimeField(null=True, blank=True)
    escalated_at = models.DateTimeField(null=True, blank=True)
    first_response_met = models.BooleanField(null=True, blank=True)
    resolution_met = models.BooleanField(null=True, blank=True)
    sla_breached = models.BooleanField(default=False)
    version = models.PositiveIntegerField(default=1)

    history = HistoricalRecords(excluded_fields=["updated_at", "sla_warned_at"])

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["-created_at", "-id"], name="case_created_idx"),
            models.Index(fields=["customer", "status", "-created_at"], name="case_customer_idx"),
            models.Index(fields=["status", "priority", "-created_at"], name="case_queue_idx"),
            models.Index(fields=["queue", "status", "-created_at"], name="case_by_queue_idx"),
            models.Index(fields=["assignee", "status", "-created_at"], name="case_by_assignee_idx"),
            models.Index(fields=["sla_breached", "-created_at"], name="case_breached_idx"),
            models.Index(fields=["status", "resolution_due_at"], name="case_sla_due_idx"),
            models.Index(fields=["resolved_at"], name="case_resolved_idx"),
            # A queue's page and "my cases": open cases, soonest due first, read in
            # order from these (no sort of the queue's open cases, no heap for the count).
            models.Index(
                fields=["queue", "resolution_due_at", "-created_at", "-id"],
                condition=Q(status__in=OPEN_STATUSES),
                name="case_queue_due_open_idx",
            ),
            models.Index(
                fields=["assignee", "resolution_due_at", "-created_at", "-id"],
                condition=Q(status__in=OPEN_STATUSES),
                name="case_mine_due_open_idx",
            ),
        ]
        permissions = [
            ("manage_service_settings", "Can configure queues, SLA policies and goodwill limits"),
            ("approve_goodwill", "Can approve or refuse goodwill above an agent's limit"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=CaseKind.values), name="case_kind_valid"),
            models.CheckConstraint(condition=Q(channel__in=CaseChannel.values), name="case_channel_valid"),
            models.CheckConstraint(condition=Q(priority__in=CasePriority.values), name="case_priority_valid"),
            models.CheckConstraint(condition=Q(category__in=CaseCategory.values), name="case_category_valid"),
            models.CheckConstraint(condition=Q(status__in=CaseStatus.values), name="case_status_valid"),
            models.CheckConstraint(condition=~Q(subject=""), name="case_has_subject"),
            models.CheckConstraint(condition=Q(version__gte=1), name="case_version_positive"),
            models.CheckConstraint(
                condition=Q(csat_score__isnull=True) | Q(csat_score__gte=1, csat_score__lte=5),
                name="case_csat_range",
            ),
            models.CheckConstraint(
                condition=~Q(status__in=[CaseStatus.RESOLVED, CaseStatus.CLOSED])
                | Q(resolved_at__isnull=False),
                name="case_done_has_resolved_at",
            ),
            models.CheckConstraint(
                condition=Q(first_contact_resolved=False) | Q(resolved_at__isnull=False),
                name="case_fcr_is_resolved",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.reference}: {self.subject}"

    @property
    def reference(self) -> str:
        return f"C-{self.pk:06d}" if self.pk else "C-new"

    @property
    def is_open(self) -> bool:
        return self.status not in (CaseStatus.RESOLVED, CaseStatus.CLOSED)


class CaseNote(TimeStamped):
    """A note on a case: internal (staff only) or a reply the customer sees. Replies
    count as the first response."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="notes", db_index=False)
    visibility = models.CharField(max_length=8, choices=NoteVisibility.choices)
    body = models.TextField(max_length=20000)
    author = models.ForeignKey(USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    author_name = models.CharField(max_length=150, help_text="Who wrote it (a person or the system).")

    class Meta:
        ordering = ["case_id", "created_at", "id"]
        indexes = [models.Index(fields=["case", "created_at"], name="casenote_case_idx")]
        constraints = [
            models.CheckConstraint(
                condition=Q(visibility__in=NoteVisibility.values), name="casenote_visibility"
            ),
            models.CheckConstraint(condition=~Q(body=""), name="casenote_has_body"),
        ]

    def __str__(self) -> str:
        return f"{self.get_visibility_display()} on case {self.case_id}"


class Call(TimeStamped):
    """A phone call with a customer, logged by the agent who took or made it."""

    customer = models.ForeignKey(
        CUSTOMER, on_delete=models.CASCADE, related_name="service_calls", db_index=False
    )
    case = models.ForeignKey(Case, null=True, blank=True, on_delete=models.SET_NULL, related_name="calls")
    agent = models.ForeignKey(
        USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    direction = models.CharField(max_length=8, choices=CallDirection.choices)
    duration_seconds = models.PositiveIntegerField(validators=[MaxValueValidator(24 * 3600)])
    outcome = models.CharField(max_length=12, choices=CallOutcome.choices)
    notes = models.TextField(blank=True, max_length=5000)
    phone = models.CharField(max_length=40, blank=True, help_text="The number, E.164 when known.")
    occurred_at = models.DateTimeField()

    class Meta:
        ordering = ["-occurred_at", "-id"]
        indexes = [
            models.Index(fields=["customer", "-occurred_at"], name="call_customer_idx"),
            models.Index(fields=["agent", "-occurred_at"], name="call_agent_idx"),
            models.Index(fields=["-occurred_at", "-id"], name="call_occurred_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(direction__in=CallDirection.values), name="call_direction_valid"
            ),
            models.CheckConstraint(condition=Q(outcome__in=CallOutcome.values), name="call_outcome_valid"),
            models.CheckConstraint(condition=Q(duration_seconds__lte=24 * 3600), name="call_duration_range"),
        ]

    def __str__(self) -> str:
        return f"{self.get_direction_display()} call with customer {self.customer_id}"


class GoodwillLimit(TimeStamped):
    """The largest goodwill credit a role grants on its own authority (in `currency`).
    A user's limit is the largest over their roles; a role without a row grants none."""

    role = models.CharField(max_length=40, unique=True, choices=[(r, r) for r in Role.ALL])
    amount = models.DecimalField(
        max_digits=12, decimal_places=2, validators=[MinValueValidator(Decimal("0"))]
    )
    currency = models.CharField(max_length=3, default="EUR")
    version = models.PositiveIntegerField(default=1)

    history = HistoricalRecords(excluded_fields=["updated_at"])

    class Meta:
        ordering = ["role"]
        constraints = [
            models.CheckConstraint(condition=Q(role__in=list(Role.ALL)), name="goodwilllimit_role_valid"),
            models.CheckConstraint(condition=Q(amount__gte=0), name="goodwilllimit_not_negative"),
            models.CheckConstraint(condition=Q(currency__regex=r"^[A-Z]{3}$"), name="goodwilllimit_currency"),
            models.CheckConstraint(condition=Q(version__gte=1), name="goodwilllimit_version_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.role}: {self.amount} {self.currency}"


class GoodwillCredit(TimeStamped):
    """A goodwill credit on a case: applied at once within the requester's limit (a
    credit note goes to the ERP through the outbox), else waiting for a supervisor who
    approves (then applied) or refuses it, with a reason."""

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="goodwill", db_index=False)
    customer = models.ForeignKey(CUSTOMER, on_delete=models.CASCADE, related_name="service_goodwill")
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    currency = models.CharField(max_length=3)
    reason = models.CharField(max_length=500)
    invoice_number = models.CharField(max_length=40, blank=True, help_text="Credit against this invoice.")
    status = models.CharField(max_length=8, choices=GoodwillStatus.choices)
    requested_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    decided_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_reason = models.CharField(max_length=500, blank=True)
    applied_at = models.DateTimeField(null=True, blank=True)
    credit_ref = models.CharField(max_length=40, blank=True, help_text='"GW-000123", the ERP\'s key.')
    version = models.PositiveIntegerField(default=1)

    history = HistoricalRecords(excluded_fields=["updated_at"])

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["status", "-created_at"], name="goodwill_status_idx"),
            models.Index(fields=["case", "-created_at"], name="goodwill_case_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="goodwill_amount_positive"),
            models.CheckConstraint(
                condition=Q(status__in=GoodwillStatus.values), name="goodwill_status_valid"
            ),
            models.CheckConstraint(condition=Q(currency__regex=r"^[A-Z]{3}$"), name="goodwill_currency"),
            models.CheckConstraint(
                condition=~Q(status=GoodwillStatus.REFUSED) | ~Q(decision_reason=""),
                name="goodwill_refusal_has_reason",
            ),
            models.CheckConstraint(
                condition=~Q(status=GoodwillStatus.APPLIED) | Q(applied_at__isnull=False),
                name="goodwill_applied_has_date",
            ),
            models.UniqueConstraint(
                fields=["credit_ref"], condition=~Q(credit_ref=""), name="goodwill_ref_unique"
            ),
            models.CheckConstraint(condition=Q(version__gte=1), name="goodwill_version_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.amount} {self.currency} on case {self.case_id}"


class AgentNotification(TimeStamped):
    """Something a member of staff should look at (an SLA about to breach, an escalated
    case, a goodwill request to decide), shown on their console until read."""

    recipient = models.ForeignKey(
        USER, on_delete=models.CASCADE, related_name="service_notifications", db_index=False
    )
    case = models.ForeignKey(Case, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=30)
    message = models.CharField(max_length=300)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["recipient", "read_at", "-created_at"], name="notification_inbox_idx")
        ]

    def __str__(self) -> str:
        return self.message


# The service loop's tables live in their package; imported here so that the app
# registry loads them with the cases'.
from service.loop.models import (  # noqa: E402, F401
    Article,
    CannedResponse,
    CsatSurvey,
    FollowUp,
    InboundEmail,
    Problem,
    ProblemCase,
    SystemicFlag,
)
