"""Back-office sync: what reconciliation found: per ERP day (counts and sums), and per
record (each order, invoice and payment of a window compared with the ERP, each
difference kept with what the mirror and the ERP said, and whether it was repaired)."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models import F, Q

from frontoffice.models import TimeStamped

__all__ = ["Drift", "DriftKind", "ReconciliationDay", "ReconciliationRun", "RunStatus", "RunTrigger"]


class ReconciliationDay(TimeStamped):
    """Orders received and invoices issued on one day (the ERP's clock), as the mirrors
    here know them and as the ERP counts them. A difference means an event was lost or is
    not applied yet; the monitor shows it, and the pull (which re-reads from its cursor)
    usually closes it by the next check.
    """

    day = models.DateField(unique=True)
    orders_here = models.PositiveIntegerField(default=0)
    orders_erp = models.PositiveIntegerField(default=0)
    # {"EUR": "1234.50", ...}: sums per currency, decimal strings
    invoiced_here = models.JSONField(default=dict, encoder=DjangoJSONEncoder)
    invoiced_erp = models.JSONField(default=dict, encoder=DjangoJSONEncoder)
    drift = models.BooleanField(default=False)
    checked_at = models.DateTimeField()

    class Meta:
        ordering = ["-day"]
        indexes = [models.Index(fields=["drift", "-day"], name="reconciliation_drift_idx")]

    def __str__(self) -> str:
        return f"{self.day}{' (drift)' if self.drift else ''}"

    @staticmethod
    def sums_differ(here: dict[str, str], erp: dict[str, str]) -> bool:
        currencies = set(here) | set(erp)
        return any(Decimal(here.get(c, "0")) != Decimal(erp.get(c, "0")) for c in currencies)


class RunStatus(models.TextChoices):
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed (ERP unavailable)"


class RunTrigger(models.TextChoices):
    SCHEDULE = "schedule", "Schedule"
    ON_DEMAND = "on_demand", "On demand"


class DriftKind(models.TextChoices):
    MISSING = "missing", "Missing here (a lost event)"
    EXTRA = "extra", "Unknown to the ERP"
    STATUS = "status", "Status"
    DATE = "date", "Date"
    PROMISED = "promised", "Promised date"
    LINES = "lines", "Lines"
    SHIPMENTS = "shipments", "Shipments"
    AMOUNT = "amount", "Amount"
    BALANCE = "balance", "Open balance"


class ReconciliationRun(TimeStamped):
    """One comparison of the mirrors with the ERP, record by record, over the days
    [since, until]; `found` differences, `repaired` of them by re-pulling from the ERP."""

    trigger = models.CharField(max_length=20, choices=RunTrigger.choices)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    since = models.DateField()
    until = models.DateField()
    repair = models.BooleanField(default=True, help_text="Re-pull what differs from the ERP.")
    status = models.CharField(max_length=10, choices=RunStatus.choices, default=RunStatus.RUNNING)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    records_checked = models.PositiveIntegerField(default=0)
    found = models.PositiveIntegerField(default=0)
    repaired = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        indexes = [models.Index(fields=["-started_at", "-id"], name="reconciliation_run_recent_idx")]
        constraints = [
            models.CheckConstraint(condition=Q(until__gte=F("since")), name="reconciliation_run_window"),
            models.CheckConstraint(condition=Q(repaired__lte=F("found")), name="reconciliation_run_repaired"),
            models.CheckConstraint(
                condition=Q(status__in=RunStatus.values), name="reconciliation_run_status"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.since}..{self.until}: {self.found} found, {self.repaired} repaired"


class Drift(TimeStamped):
    """One difference between a mirrored record and the ERP's: what each side said (as
    text), and whether the run repaired it (the record re-pulled from the ERP)."""

    run = models.ForeignKey(
        ReconciliationRun, on_delete=models.CASCADE, related_name="drifts", db_index=False
    )
    kind = models.CharField(max_length=20, choices=DriftKind.choices)
    record_type = models.CharField(max_length=10)  # erp.RecordKind
    record_ref = models.CharField(max_length=60)
    field = models.CharField(max_length=60, blank=True)
    mirror_value = models.TextField(blank=True)
    erp_value = models.TextField(blank=True)
    customer = models.ForeignKey(
        "customers.Customer", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    repaired = models.BooleanField(default=False)
    repaired_at = models.DateTimeField(null=True, blank=True)
    repair_error = models.TextField(blank=True)

    class Meta:
        ordering = ["run", "id"]
        indexes = [
            models.Index(fields=["record_type", "record_ref"], name="drift_record_idx"),
            models.Index(fields=["run", "repaired"], name="drift_run_repaired_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=DriftKind.values), name="drift_kind_valid"),
            models.CheckConstraint(
                condition=Q(record_type__in=["order", "invoice", "payment"]), name="drift_record_type_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.record_type} {self.record_ref}: {self.kind} {self.field}".strip()
