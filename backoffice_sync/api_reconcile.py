"""Reconciliation over REST: its runs and what each found, and a run on demand.

GET  /api/v1/sync/reconciliations/[{id}/]   runs, newest first (a run: its differences)
POST /api/v1/sync/reconciliations/          run now {days?, until?, repair?} -> 201, the run

A run compares each order, invoice and payment of the window with the ERP and repairs
the mirror by re-pulling what differs (`backoffice_sync.reconciliation`). POST takes
Idempotency-Key like every create: a retried request answers the same run.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers

from backoffice_sync.models import Drift, ReconciliationRun, RunTrigger
from backoffice_sync.reconciliation import MAX_WINDOW_DAYS, WINDOW_DAYS, reconciliation_run
from frontoffice.serializers import DateField, StrictSerializer
from frontoffice.viewsets import ServiceViewSet


class DriftSerializer(serializers.ModelSerializer):
    class Meta:
        model = Drift
        fields = [
            "id",
            "kind",
            "record_type",
            "record_ref",
            "field",
            "mirror_value",
            "erp_value",
            "customer",
            "repaired",
            "repaired_at",
            "repair_error",
        ]
        read_only_fields = fields


class ReconciliationRunSerializer(serializers.ModelSerializer):
    """A run: its window, what it checked, found and repaired."""

    class Meta:
        model = ReconciliationRun
        fields = [
            "id",
            "trigger",
            "requested_by",
            "since",
            "until",
            "repair",
            "status",
            "started_at",
            "finished_at",
            "records_checked",
            "found",
            "repaired",
            "error",
        ]
        read_only_fields = fields


class ReconciliationRunDetailSerializer(ReconciliationRunSerializer):
    """A run and each difference it found."""

    drifts = DriftSerializer(many=True, read_only=True)

    class Meta(ReconciliationRunSerializer.Meta):
        fields = [*ReconciliationRunSerializer.Meta.fields, "drifts"]
        read_only_fields = fields


class ReconcileInput(StrictSerializer):
    days = serializers.IntegerField(
        min_value=1, max_value=MAX_WINDOW_DAYS, default=WINDOW_DAYS, help_text="The window's length in days."
    )
    until = DateField(
        required=False, allow_null=True, default=None, help_text="The window's last day (default: today)."
    )
    repair = serializers.BooleanField(default=True, help_text="Re-pull what differs from the ERP.")


@extend_schema_view(
    list=extend_schema(summary="Reconciliation runs, newest first", tags=["sync"]),
    retrieve=extend_schema(summary="A reconciliation run and each difference it found", tags=["sync"]),
    create=extend_schema(
        summary="Reconcile now: compare each order, invoice and payment with the ERP and repair drift",
        tags=["sync"],
    ),
    update=extend_schema(exclude=True),
    partial_update=extend_schema(exclude=True),
)
class ReconciliationRunViewSet(ServiceViewSet[ReconciliationRun]):
    serializer_class = ReconciliationRunSerializer
    detail_serializer_class = ReconciliationRunDetailSerializer
    create_input = ReconcileInput
    create_service = staticmethod(reconciliation_run)
    lookup_arg = "run_id"
    versioned = False

    def get_queryset(self) -> QuerySet[ReconciliationRun]:
        runs = ReconciliationRun.objects.order_by("-started_at", "-id")
        return runs if self.action == "list" else runs.prefetch_related("drifts")

    def service_arguments(self, data: dict[str, Any]) -> dict[str, Any]:
        return {**data, "trigger": RunTrigger.ON_DEMAND}
