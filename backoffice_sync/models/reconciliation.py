"""Back-office sync: what the periodic reconciliation found, per ERP day."""

from __future__ import annotations

from decimal import Decimal

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models

from frontoffice.models import TimeStamped

__all__ = ["ReconciliationDay"]


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
