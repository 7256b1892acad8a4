"""Operating the sync over REST: its health, dead-letter replay, and available-to-promise.

GET  /api/v1/sync/status/               the monitor's numbers (back office, admins)
POST /api/v1/sync/outbox/{id}/replay/    a dead message back in the queue
GET  /api/v1/sync/atp/?sku=&quantity=&requested_date=
                                         the earliest day the back office can deliver
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from backoffice_sync import atp
from backoffice_sync.outbox import outbox_replay
from backoffice_sync.sync_status import sync_status
from frontoffice.errors import django_validation_errors
from frontoffice.permissions import HasPermission
from frontoffice.schema import OneObjectSchema
from frontoffice.serializers import StrictSerializer, TextField

VIEW_PRODUCTS = "backoffice_sync.view_product"


# --- available-to-promise -------------------------------------------------------------------


class AtpQuerySerializer(StrictSerializer):
    sku = TextField(max_length=64)
    quantity = serializers.IntegerField(min_value=1, max_value=atp.MAX_QUANTITY)
    requested_date = serializers.DateField(required=False, allow_null=True, default=None)


class IncomingSerializer(serializers.Serializer):
    expected_on = serializers.DateField()
    quantity = serializers.IntegerField()


class PromiseSerializer(serializers.Serializer):
    sku = serializers.CharField()
    quantity = serializers.IntegerField()
    requested_date = serializers.DateField(source="requested_on", allow_null=True)
    earliest_date = serializers.DateField(
        source="earliest_on",
        help_text="The earliest delivery date: the day the goods are available (see source) plus the "
        "ERP's dispatch and transit days (ERP_DISPATCH_DAYS, ERP_TRANSIT_DAYS).",
    )
    meets_requested_date = serializers.BooleanField(
        source="meets_request", allow_null=True, help_text="null when no date was requested."
    )
    source = serializers.ChoiceField(
        choices=["stock", "incoming", "lead_time"],
        help_text="Where the goods come from, which sets the day they are available: free stock now "
        "(today), incoming stock (the day it arrives), or the product's lead time from today.",
    )
    free_now = serializers.IntegerField(help_text="On hand, less ERP reservations and unsent orders.")
    reserved_by_erp = serializers.IntegerField(help_text="Held by open orders the ERP knows.")
    held_by_outbox = serializers.IntegerField(help_text="Held by orders not yet acknowledged by the ERP.")
    lead_time_days = serializers.IntegerField()
    incoming = serializers.SerializerMethodField()

    def get_incoming(self, promise: atp.Promise) -> list[dict[str, Any]]:
        return [{"expected_on": day.isoformat(), "quantity": quantity} for day, quantity in promise.incoming]


class AtpViewSet(viewsets.ViewSet):
    schema = OneObjectSchema()
    permission_classes = [HasPermission]
    required_permission = VIEW_PRODUCTS

    @extend_schema(
        operation_id="sync_atp",
        summary="Available-to-promise for a SKU and quantity",
        parameters=[AtpQuerySerializer],
        responses={200: PromiseSerializer},
        tags=["sync"],
    )
    def list(self, request: Request) -> Response:
        query = AtpQuerySerializer.validated(request.query_params.dict())
        try:
            promise = atp.promise(
                sku=query["sku"], quantity=query["quantity"], requested_on=query["requested_date"]
            )
        except DjangoValidationError as exc:
            raise serializers.ValidationError(django_validation_errors(exc)) from None
        return Response(PromiseSerializer(promise).data)


# --- status and replay ----------------------------------------------------------------------


class ReconciliationDaySerializer(serializers.Serializer):
    day = serializers.DateField()
    currency = serializers.CharField()
    orders_here = serializers.IntegerField()
    orders_erp = serializers.IntegerField()
    invoiced_here = serializers.DecimalField(max_digits=16, decimal_places=2)
    invoiced_erp = serializers.DecimalField(max_digits=16, decimal_places=2)
    drift = serializers.BooleanField()


class DeadLetterSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.CharField()
    aggregate = serializers.CharField()
    attempts = serializers.IntegerField()
    last_error = serializers.CharField()
    dead_at = serializers.DateTimeField()
    replay_url = serializers.CharField()


class SyncStatusSerializer(serializers.Serializer):
    pending = serializers.IntegerField()
    in_flight = serializers.IntegerField()
    dead = serializers.IntegerField()
    blocked = serializers.IntegerField(help_text="Pending behind a dead message of the same aggregate.")
    oldest_pending_age_seconds = serializers.FloatField(allow_null=True)
    window_minutes = serializers.IntegerField()
    delivered_in_window = serializers.IntegerField()
    failed_in_window = serializers.IntegerField()
    delivery_rate_per_minute = serializers.FloatField()
    error_rate = serializers.FloatField(help_text="Failed attempts / (failed + delivered) in the window.")
    inbox = serializers.DictField(child=serializers.IntegerField(), help_text="Inbox events per status.")
    last_successful_pull = serializers.DateTimeField(allow_null=True)
    last_pull_error = serializers.CharField(allow_blank=True)
    dead_letters = DeadLetterSerializer(many=True)
    reconciliation = ReconciliationDaySerializer(many=True)
    reconciled_at = serializers.DateTimeField(allow_null=True)


class ReplayedSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.CharField()
    replays = serializers.IntegerField()


class SyncStatusViewSet(viewsets.ViewSet):
    schema = OneObjectSchema()
    permission_classes = [HasPermission]
    required_permission = "backoffice_sync.view_outboxmessage"

    @extend_schema(
        operation_id="sync_status",
        summary="Health of the ERP sync",
        responses={200: SyncStatusSerializer},
        tags=["sync"],
    )
    def list(self, request: Request) -> Response:
        return Response(SyncStatusSerializer(sync_status(actor=request.user)).data)


class OutboxViewSet(viewsets.ViewSet):
    permission_classes = [HasPermission]
    required_permission = "backoffice_sync.replay_outboxmessage"
    lookup_value_regex = "[0-9]+"

    @extend_schema(
        operation_id="sync_outbox_replay",
        summary="Replay a dead outbox message",
        request=None,
        parameters=[OpenApiParameter("id", int, OpenApiParameter.PATH, description="The message id.")],
        responses={200: ReplayedSerializer},
        tags=["sync"],
    )
    @action(detail=True, methods=["post"])
    def replay(self, request: Request, pk: str) -> Response:
        message = outbox_replay(actor=request.user, message_id=int(pk))
        return Response({"id": message.pk, "status": message.status, "replays": message.replays})
