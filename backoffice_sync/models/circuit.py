"""Back-office sync: the circuit breaker in front of the ERP, one row that every relay
(in every worker process, on every machine) reads and writes."""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from frontoffice.models import TimeStamped

__all__ = ["CircuitState", "ErpCircuit"]


class CircuitState(models.TextChoices):
    CLOSED = "closed", "Closed (sending)"
    OPEN = "open", "Open (ERP unavailable, waiting)"
    HALF_OPEN = "half_open", "Half-open (probing the ERP)"


class ErpCircuit(TimeStamped):
    """Whether the relay may send to the ERP (`backoffice_sync.circuit`).

    CLOSED: send. An unavailable ERP (connection refused, timeout, 5xx, 429) opens it:
    nobody sends, nobody's attempts are spent. When `next_probe_at` passes, one relay
    takes the probe (HALF_OPEN, its lease in `next_probe_at`) and sends one small batch;
    an answer of any kind closes the circuit, another unavailability re-opens it with a
    longer wait. `changed_at` is when the state last changed ("open since ..."),
    `unavailable_since` when the ERP was last seen go away (kept across probes), and
    `alerted_at` when the operators were told it has been away too long.
    """

    # Always 1: a singleton (created by the migration; get_or_create covers a wiped table).
    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    state = models.CharField(max_length=10, choices=CircuitState.choices, default=CircuitState.CLOSED)
    changed_at = models.DateTimeField()
    unavailable_since = models.DateTimeField(null=True, blank=True)
    next_probe_at = models.DateTimeField(null=True, blank=True)
    probes = models.PositiveIntegerField(default=0)  # failed probes since it opened
    last_error = models.TextField(blank=True, default="")
    alerted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=Q(id=1), name="erp_circuit_singleton"),
            models.CheckConstraint(
                condition=Q(state__in=CircuitState.values), name="erp_circuit_state_valid"
            ),
            models.CheckConstraint(
                condition=Q(state=CircuitState.CLOSED)
                | (Q(unavailable_since__isnull=False) & Q(next_probe_at__isnull=False)),
                name="erp_circuit_open_has_times",
            ),
        ]

    def __str__(self) -> str:
        return f"ERP circuit {self.state} since {self.changed_at:%Y-%m-%d %H:%M:%S}"
