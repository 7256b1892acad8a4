"""Tables of the service loop (loaded through `service.models`). Each points at a case
by a foreign key; none changes the Case table."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from frontoffice.models import TimeStamped, TimeStampedListed
from service.loop.choices import (
    BackOfficeTeam,
    FollowUpKind,
    ProblemCategory,
    ProblemStatus,
)

CASE = "service.Case"
CUSTOMER = "customers.Customer"
PRODUCT = "backoffice_sync.Product"
USER = settings.AUTH_USER_MODEL


class FollowUp(TimeStampedListed):
    """Something a member of staff must do, raised by the system (an order is late, a
    problem the customer reported is fixed). At most one per `dedupe_key`."""

    assignee = models.ForeignKey(
        USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    customer = models.ForeignKey(CUSTOMER, on_delete=models.CASCADE, related_name="service_follow_ups")
    kind = models.CharField(max_length=20, choices=FollowUpKind.choices)
    title = models.CharField(max_length=200)
    detail = models.TextField(blank=True, max_length=5000)
    order_ref = models.CharField(max_length=40, blank=True)
    case = models.ForeignKey(CASE, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    due_on = models.DateField(null=True, blank=True)
    done_at = models.DateTimeField(null=True, blank=True)
    done_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    dedupe_key = models.CharField(max_length=200, unique=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["-created_at", "-id"], name="followup_created_idx"),
            models.Index(fields=["assignee", "done_at", "-created_at"], name="followup_mine_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=FollowUpKind.values), name="followup_kind_valid"),
            models.CheckConstraint(condition=~Q(title=""), name="followup_has_title"),
        ]

    def __str__(self) -> str:
        return self.title


class Problem(TimeStampedListed):
    """A systemic issue behind many cases, routed to a back-office team, which records
    its root cause and fix. `version` is the optimistic lock."""

    title = models.CharField(max_length=200)
    description = models.TextField(blank=True, max_length=20000)
    category = models.CharField(max_length=10, choices=ProblemCategory.choices)
    product = models.ForeignKey(
        PRODUCT,
        to_field="sku",
        db_column="sku",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    team = models.CharField(max_length=10, choices=BackOfficeTeam.choices)
    status = models.CharField(max_length=14, choices=ProblemStatus.choices, default=ProblemStatus.OPEN)
    root_cause = models.TextField(blank=True, max_length=5000)
    fix = models.TextField(blank=True, max_length=5000)
    owner = models.ForeignKey(USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    opened_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    customers_informed = models.PositiveIntegerField(default=0)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["-created_at", "-id"], name="problem_created_idx"),
            models.Index(fields=["team", "status", "-created_at"], name="problem_queue_idx"),
            models.Index(fields=["category", "status"], name="problem_category_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=~Q(title=""), name="problem_has_title"),
            models.CheckConstraint(
                condition=Q(category__in=ProblemCategory.values), name="problem_category_valid"
            ),
            models.CheckConstraint(condition=Q(team__in=BackOfficeTeam.values), name="problem_team_valid"),
            models.CheckConstraint(condition=Q(status__in=ProblemStatus.values), name="problem_status_valid"),
            models.CheckConstraint(
                condition=~Q(status=ProblemStatus.RESOLVED) | (Q(resolved_at__isnull=False) & ~Q(fix="")),
                name="problem_resolved_has_fix",
            ),
            models.CheckConstraint(condition=Q(version__gte=1), name="problem_version_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.reference}: {self.title}"

    @property
    def reference(self) -> str:
        return f"P-{self.pk:05d}" if self.pk else "P-new"


class ProblemCase(models.Model):
    """A case linked to a problem (a case belongs to at most one problem)."""

    problem = models.ForeignKey(Problem, on_delete=models.CASCADE, related_name="links", db_index=False)
    case = models.OneToOneField(CASE, on_delete=models.CASCADE, related_name="problem_link")
    linked_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    notified_at = models.DateTimeField(
        null=True, blank=True, help_text="When the resolution reached the case."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["problem_id", "id"]
        indexes = [models.Index(fields=["problem", "id"], name="problemcase_problem_idx")]

    def __str__(self) -> str:
        return f"{self.problem_id} <- {self.case_id}"


class SystemicFlag(models.Model):
    """An agent's "likely systemic" on a case, with what the problem would be about."""

    case = models.OneToOneField(CASE, on_delete=models.CASCADE, related_name="systemic_flag")
    category = models.CharField(max_length=10, choices=ProblemCategory.choices)
    product = models.ForeignKey(
        PRODUCT,
        to_field="sku",
        db_column="sku",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    note = models.CharField(max_length=500, blank=True)
    flagged_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["category", "-created_at"], name="systemicflag_category_idx")]
        constraints = [
            models.CheckConstraint(
                condition=Q(category__in=ProblemCategory.values), name="systemicflag_category_valid"
            )
        ]

    def __str__(self) -> str:
        return f"case {self.case_id}: {self.category}"


class CsatSurvey(TimeStampedListed):
    """The satisfaction survey sent after a case is resolved: one signed link, answered
    once (`answered_at`), with a score from 1 to 5 and a comment."""

    case = models.ForeignKey(CASE, on_delete=models.CASCADE, related_name="csat_surveys", db_index=False)
    customer = models.ForeignKey(CUSTOMER, on_delete=models.CASCADE, related_name="csat_surveys")
    nonce = models.CharField(max_length=32, unique=True, help_text="What the signed token names.")
    expires_at = models.DateTimeField()
    answered_at = models.DateTimeField(null=True, blank=True)
    score = models.PositiveSmallIntegerField(null=True, blank=True)
    comment = models.TextField(blank=True, max_length=5000)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["-created_at", "-id"], name="csat_created_idx"),
            models.Index(fields=["case", "-created_at"], name="csat_case_idx"),
            models.Index(fields=["answered_at"], name="csat_answered_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(score__isnull=True) | Q(score__gte=1, score__lte=5), name="csat_score_range"
            ),
            models.CheckConstraint(
                condition=Q(answered_at__isnull=True, score__isnull=True)
                | Q(answered_at__isnull=False, score__isnull=False),
                name="csat_answer_has_score",
            ),
        ]

    def __str__(self) -> str:
        return f"CSAT for case {self.case_id}: {self.score or '-'}"


class InboundEmail(models.Model):
    """An e-mail a customer sent us (through the mail provider's inbound hook), stored
    once per Message-ID, threaded into a case."""

    message_id = models.CharField(max_length=255, unique=True)
    in_reply_to = models.CharField(max_length=255, blank=True)
    references = models.TextField(blank=True, max_length=5000)
    from_address = models.CharField(max_length=320)
    subject = models.CharField(max_length=200, blank=True)
    body = models.TextField(blank=True, max_length=50000)
    case = models.ForeignKey(CASE, on_delete=models.CASCADE, related_name="inbound_emails", db_index=False)
    customer = models.ForeignKey(CUSTOMER, on_delete=models.CASCADE, related_name="inbound_emails")
    threaded = models.BooleanField(default=False, help_text="Added to an existing case.")
    received_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-received_at", "-id"]
        indexes = [models.Index(fields=["case", "received_at"], name="inbound_case_idx")]

    def __str__(self) -> str:
        return self.message_id


class CannedResponse(TimeStamped):
    """A reply agents insert into a case, with the outbound room's placeholders."""

    title = models.CharField(max_length=120)
    body = models.TextField(max_length=10000)
    category = models.CharField(max_length=10, choices=ProblemCategory.choices, blank=True)
    is_active = models.BooleanField(default=True)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["title", "id"]
        indexes = [models.Index(fields=["title", "id"], name="canned_title_idx")]
        constraints = [
            models.CheckConstraint(condition=~Q(title=""), name="canned_has_title"),
            models.CheckConstraint(condition=~Q(body=""), name="canned_has_body"),
        ]

    def __str__(self) -> str:
        return self.title


class Article(TimeStamped):
    """A knowledge-base article agents search and link or quote in a reply."""

    title = models.CharField(max_length=200)
    body = models.TextField(max_length=50000)
    category = models.CharField(max_length=10, choices=ProblemCategory.choices, blank=True)
    keywords = models.CharField(max_length=300, blank=True)
    is_published = models.BooleanField(default=True)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["title", "id"]
        indexes = [models.Index(fields=["title", "id"], name="article_title_idx")]
        constraints = [
            models.CheckConstraint(condition=~Q(title=""), name="article_has_title"),
            models.CheckConstraint(condition=~Q(body=""), name="article_has_body"),
            models.CheckConstraint(condition=Q(version__gte=1), name="article_version_positive"),
        ]

    def __str__(self) -> str:
        return self.title
