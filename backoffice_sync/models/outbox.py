"""Back-office sync: outbox tables.

An `OutboxMessage` is written in the same transaction as the business change it
reports (`backoffice_sync.outbox.outbox_enqueue`) and delivered to the ERP afterwards
by the relay. Its life: PENDING (due at `next_attempt_at`; "in flight" while
`locked_until` is in the future) -> DELIVERED, or -> DEAD (refused by the ERP as many
times as it may be, or its relay died on every attempt) -> PENDING again on a manual
replay, or -> SKIPPED (a person decided it will never be sent, and said why), which lets
the aggregate's later messages go.

An unavailable ERP is not the message's failure: the relay pauses (`ErpCircuit`) and
gives the attempt back; `attempts` counts the ERP's refusals (and relays that vanished).
"""

from __future__ import annotations

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models import Q
from django.utils import timezone

from backoffice_sync.erp import MessageKind
from frontoffice.models import TimeStamped

__all__ = ["ErpAnswer", "InterventionAction", "OutboxIntervention", "OutboxMessage", "OutboxStatus"]


class OutboxStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    DELIVERED = "delivered", "Delivered"
    DEAD = "dead", "Dead"
    SKIPPED = "skipped", "Skipped"


class ErpAnswer(models.TextChoices):
    """What the ERP itself last said about a message, apart from where it stands here:
    a DUPLICATE is a re-send the ERP recognised by its key (applied before, not again)."""

    NONE = "", "No answer yet"
    ACCEPTED = "accepted", "Accepted"
    DUPLICATE = "duplicate", "Duplicate (applied before)"
    REFUSED = "refused", "Refused"


OUTBOX_KIND_CHOICES = [(kind.value, kind.value) for kind in MessageKind]


class OutboxMessage(TimeStamped):
    """One message to the ERP, committed with the change it reports.

    Messages of one aggregate (e.g. "order:SO-42") carry a gap-free `sequence` and are
    delivered strictly in that order: only the lowest undelivered one is eligible, so a
    dead message holds back its aggregate's later messages until it is replayed.
    `idempotency_key` travels with every (re-)delivery; the ERP applies a key once.
    """

    idempotency_key = models.CharField(max_length=64, unique=True, editable=False)
    kind = models.CharField(max_length=40, choices=OUTBOX_KIND_CHOICES)
    aggregate = models.CharField(max_length=200)
    sequence = models.PositiveIntegerField()
    payload = models.JSONField(encoder=DjangoJSONEncoder)
    status = models.CharField(max_length=10, choices=OutboxStatus.choices, default=OutboxStatus.PENDING)
    # Attempts that count against OUTBOX_MAX_ATTEMPTS: the ERP's refusals, and relays that
    # vanished mid-call (counted when a relay claims the message, so that a message whose
    # worker keeps dying runs out instead of crash-looping). An attempt that finds the ERP
    # unavailable is given back.
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    # The lease of the relay that is delivering it; an expired lease makes it eligible again.
    locked_until = models.DateTimeField(null=True, blank=True)
    claimed_by = models.CharField(max_length=100, blank=True, default="")
    last_error = models.TextField(blank=True, default="")
    last_failed_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    dead_at = models.DateTimeField(null=True, blank=True)
    result = models.JSONField(default=dict, blank=True, encoder=DjangoJSONEncoder)  # the ERP's answer data
    erp_answer = models.CharField(
        max_length=10, choices=ErpAnswer.choices, blank=True, default=ErpAnswer.NONE
    )
    erp_reason = models.TextField(blank=True, default="")  # why the ERP refused it
    erp_answered_at = models.DateTimeField(null=True, blank=True)
    replays = models.PositiveIntegerField(default=0)
    replayed_at = models.DateTimeField(null=True, blank=True)
    replayed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        # The message's history outlives a staff account.
        on_delete=models.SET_NULL,
        related_name="+",
    )

    skipped_at = models.DateTimeField(null=True, blank=True)
    skipped_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    skip_reason = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["id"]
        permissions = [
            ("replay_outboxmessage", "Can replay a dead outbox message"),
            ("skip_outboxmessage", "Can skip a dead outbox message"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["aggregate", "sequence"], name="outbox_aggregate_sequence_uniq"),
            models.CheckConstraint(condition=Q(status__in=OutboxStatus.values), name="outbox_status_valid"),
            models.CheckConstraint(condition=Q(sequence__gte=1), name="outbox_sequence_positive"),
            models.CheckConstraint(
                condition=~Q(status=OutboxStatus.DELIVERED) | Q(delivered_at__isnull=False),
                name="outbox_delivered_has_time",
            ),
            models.CheckConstraint(
                condition=~Q(status=OutboxStatus.DEAD) | Q(dead_at__isnull=False),
                name="outbox_dead_has_time",
            ),
            models.CheckConstraint(
                condition=~Q(status=OutboxStatus.SKIPPED)
                | (Q(skipped_at__isnull=False) & ~Q(skip_reason="")),
                name="outbox_skipped_has_time_and_reason",
            ),
            models.CheckConstraint(
                condition=Q(erp_answer__in=ErpAnswer.values), name="outbox_erp_answer_valid"
            ),
        ]
        indexes = [
            # What the relay claims: due pending rows, oldest first.
            models.Index(
                fields=["next_attempt_at", "id"],
                name="outbox_due_idx",
                condition=Q(status=OutboxStatus.PENDING),
            ),
            # "Is an earlier message of this aggregate still undelivered?" and the dead list.
            models.Index(
                fields=["aggregate", "sequence"],
                name="outbox_undelivered_idx",
                condition=Q(status__in=[OutboxStatus.PENDING, OutboxStatus.DEAD]),
            ),
            # The monitor's counts over the last minutes.
            models.Index(
                fields=["delivered_at"],
                name="outbox_delivered_at_idx",
                condition=Q(delivered_at__isnull=False),
            ),
            models.Index(
                fields=["last_failed_at"],
                name="outbox_failed_at_idx",
                condition=Q(last_failed_at__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.aggregate}#{self.sequence} ({self.status})"

    @property
    def is_in_flight(self) -> bool:
        return (
            self.status == OutboxStatus.PENDING
            and self.locked_until is not None
            and self.locked_until > timezone.now()
        )


class InterventionAction(models.TextChoices):
    REPLAY = "replay", "Replayed"
    SKIP = "skip", "Skipped"


class OutboxIntervention(TimeStamped):
    """A person's (or a system actor's) hand on a dead message: the audit trail of
    replays and skips, with who, when and why; never changed after it is written."""

    message = models.ForeignKey(
        OutboxMessage, on_delete=models.CASCADE, related_name="interventions", db_index=False
    )
    action = models.CharField(max_length=10, choices=InterventionAction.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        # The audit outlives a staff account; `actor_name` still says who it was.
        on_delete=models.SET_NULL,
        related_name="+",
    )
    actor_name = models.CharField(max_length=150)
    reason = models.TextField(blank=True, default="")
    # Where the message stood: its last error and the ERP's reason, as the person saw them.
    error_then = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(action__in=InterventionAction.values), name="outbox_intervention_action_valid"
            ),
            models.CheckConstraint(
                condition=~Q(action=InterventionAction.SKIP) | ~Q(reason=""),
                name="outbox_intervention_skip_has_reason",
            ),
        ]
        indexes = [models.Index(fields=["message", "created_at"], name="outbox_intervention_msg_idx")]

    def __str__(self) -> str:
        return f"{self.action} of message {self.message_id} by {self.actor_name}"
