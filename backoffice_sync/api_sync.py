"""Operating the sync over REST: its health, the outbox and dead-letter replay, and
available-to-promise.

GET  /api/v1/sync/status/               the monitor's numbers (back office, admins)
GET  /api/v1/sync/outbox/[{id}/]        the outbox's messages (?status=&kind=&aggregate=)
POST /api/v1/sync/outbox/{id}/replay/    a dead message back in the queue
POST /api/v1/sync/outbox/{id}/skip/      a dead message never sent, with a reason
GET  /api/v1/sync/atp/?sku=&quantity=&requested_date=
                                         the earliest day the back office can deliver

The outbox is a resource with a service action: a `ServiceViewSet`. Status and ATP are
reports (a computed answer to a query, no record behind it, no write): plain ViewSets
with one `list`, which the generic resource viewset would not make shorter.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import QuerySet
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import serializers, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from backoffice_sync import atp
from backoffice_sync.filters import OutboxMessageFilter
from backoffice_sync.models import CircuitState, ErpAnswer, OutboxMessage
from backoffice_sync.outbox_replay import (
    MAX_REASON_LENGTH,
    REPLAY_PERMISSION,
    SKIP_PERMISSION,
    outbox_replay,
    outbox_skip,
)
from backoffice_sync.selectors import outbox_message_list
from backoffice_sync.sync_status import sync_status
from frontoffice.errors import PROBLEM_CONTENT_TYPE, django_validation_errors
from frontoffice.permissions import HasPermission
from frontoffice.query_params import DeclaredQueryParameters
from frontoffice.schema import OneObjectSchema
from frontoffice.serializers import DateField, ProblemSerializer, StrictSerializer, TextField
from frontoffice.viewsets import ServiceViewSet

VIEW_PRODUCTS = "backoffice_sync.view_product"


# --- available-to-promise -------------------------------------------------------------------


class AtpQuerySerializer(StrictSerializer):
    sku = TextField(max_length=64)
    quantity = serializers.IntegerField(min_value=1, max_value=atp.MAX_QUANTITY)
    requested_date = DateField(required=False, allow_null=True, default=None)


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
    free_now = serializers.IntegerField(help_text="On hand, less ERP reservations and unsent orders.")
    reserved_by_erp = serializers.IntegerField(help_text="Held by open orders the ERP knows.")
    held_by_outbox = serializers.IntegerField(help_text="Held by orders not yet acknowledged by the ERP.")
    lead_time_days = serializers.IntegerField()
    incoming = serializers.SerializerMethodField()

    def get_fields(self) -> dict[str, serializers.Field]:
        # `source` is also every field's own attribute: added here, after the date it explains.
        source = serializers.ChoiceField(
            choices=atp.SOURCES,
            help_text="Where the goods come from, which sets the day they are available: free stock now "
            "(today), incoming stock (the day it arrives), or the product's lead time from today.",
        )
        fields: dict[str, serializers.Field] = {}
        for name, field in super().get_fields().items():
            fields[name] = field
            if name == "meets_requested_date":
                fields["source"] = source
        return fields

    def get_incoming(self, promise: atp.Promise) -> list[dict[str, Any]]:
        return [{"expected_on": day.isoformat(), "quantity": quantity} for day, quantity in promise.incoming]


class AtpViewSet(DeclaredQueryParameters, viewsets.ViewSet):
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
    orders_here = serializers.IntegerField()
    orders_erp = serializers.IntegerField()
    invoiced_here = serializers.DictField(
        child=serializers.DecimalField(max_digits=16, decimal_places=2),
        help_text="Invoiced that day per currency (ISO 4217 code: amount), as the mirrors here know it.",
    )
    invoiced_erp = serializers.DictField(
        child=serializers.DecimalField(max_digits=16, decimal_places=2),
        help_text="Invoiced that day per currency (ISO 4217 code: amount), as the ERP counts it.",
    )
    drift = serializers.BooleanField()


class WaitingMessageSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.CharField()
    sequence = serializers.IntegerField()
    created_at = serializers.DateTimeField()


class DeadLetterSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.CharField()
    aggregate = serializers.CharField()
    sequence = serializers.IntegerField()
    attempts = serializers.IntegerField(help_text="The ERP's refusals (and relays that vanished mid-call).")
    last_error = serializers.CharField()
    erp_answer = serializers.ChoiceField(choices=ErpAnswer.choices, help_text="What the ERP last said.")
    erp_reason = serializers.CharField(help_text="Why the ERP refused it.")
    dead_at = serializers.DateTimeField()
    replay_url = serializers.CharField()
    skip_url = serializers.CharField()
    waiting_count = serializers.IntegerField(help_text="Later messages of its aggregate held back by it.")
    waiting = WaitingMessageSerializer(many=True, help_text="The first of them, in order.")
    waiting_reason = serializers.CharField(allow_blank=True)


class CircuitSerializer(serializers.Serializer):
    state = serializers.ChoiceField(
        choices=CircuitState.choices,
        help_text="closed: sending; open: the ERP is unavailable, nothing is sent and no attempt "
        "is spent; half_open: one relay is probing the ERP.",
    )
    since = serializers.DateTimeField(help_text="When the state last changed.")
    unavailable_since = serializers.DateTimeField(allow_null=True)
    unavailable_seconds = serializers.FloatField(allow_null=True)
    next_probe_at = serializers.DateTimeField(allow_null=True)
    failed_probes = serializers.IntegerField()
    last_error = serializers.CharField(allow_blank=True)
    alerted_at = serializers.DateTimeField(
        allow_null=True, help_text="When the operators were told the ERP is away too long."
    )


class SyncStatusSerializer(serializers.Serializer):
    circuit = CircuitSerializer(help_text="The circuit breaker in front of the ERP.")
    backlog = serializers.IntegerField(help_text="Messages waiting to be delivered (= pending).")
    pending = serializers.IntegerField()
    in_flight = serializers.IntegerField()
    dead = serializers.IntegerField()
    blocked = serializers.IntegerField(help_text="Pending behind a dead message of the same aggregate.")
    oldest_pending_age_seconds = serializers.FloatField(
        allow_null=True, help_text="Age of the oldest message of the backlog."
    )
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


class ReplayReasonSerializer(StrictSerializer):
    reason = TextField(max_length=MAX_REASON_LENGTH, required=False, allow_blank=True, default="")


class SkipSerializer(StrictSerializer):
    reason = TextField(max_length=MAX_REASON_LENGTH, help_text="Why it will never be sent to the ERP.")


class OutboxMessageSerializer(serializers.ModelSerializer):
    """A message to the ERP and where it stands (its payload stays in the admin)."""

    in_flight = serializers.BooleanField(source="is_in_flight", help_text="Being delivered right now.")

    class Meta:
        model = OutboxMessage
        fields = [
            "id",
            "kind",
            "aggregate",
            "sequence",
            "status",
            "attempts",
            "next_attempt_at",
            "in_flight",
            "last_error",
            "last_failed_at",
            "erp_answer",
            "erp_reason",
            "erp_answered_at",
            "delivered_at",
            "dead_at",
            "replays",
            "replayed_at",
            "skipped_at",
            "skip_reason",
            "created_at",
        ]
        read_only_fields = fields


class SyncStatusViewSet(DeclaredQueryParameters, viewsets.ViewSet):
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


# Read-only: ServiceViewSet routes POST/PUT/PATCH to its create/update whatever the
# resource offers (they answer 405 without a service); keep them out of the schema.
@extend_schema_view(
    create=extend_schema(exclude=True),
    update=extend_schema(exclude=True),
    partial_update=extend_schema(exclude=True),
)
class OutboxViewSet(ServiceViewSet):
    """The outbox's messages, newest first, and the replay of a dead one.

    Replay is written out rather than a `service_action`: those read and pass the
    record's version (If-Match), and an outbox message has none (its status is the
    precondition: only a dead one can be replayed, else 409)."""

    serializer_class = OutboxMessageSerializer
    filter_backends = [DjangoFilterBackend]
    filterset_class = OutboxMessageFilter
    lookup_arg = "message_id"
    versioned = False
    action_permissions = {"replay": {"POST": [REPLAY_PERMISSION]}, "skip": {"POST": [SKIP_PERMISSION]}}

    def get_queryset(self) -> QuerySet[OutboxMessage]:
        if getattr(self, "swagger_fake_view", False):  # the schema generator acts as nobody
            return OutboxMessage.objects.none()
        return outbox_message_list(actor=self.request.user)

    @extend_schema(
        operation_id="sync_outbox_replay",
        summary="Replay a dead outbox message",
        request=ReplayReasonSerializer,
        responses={
            200: OutboxMessageSerializer,
            (409, PROBLEM_CONTENT_TYPE): OpenApiResponse(ProblemSerializer, description="Not dead."),
        },
        tags=["sync"],
    )
    @action(detail=True, methods=["post"])
    def replay(self, request: Request, pk: str | None = None) -> Response:
        data = ReplayReasonSerializer.validated(request.data or {})
        message = outbox_replay(actor=request.user, message_id=self.get_object().pk, reason=data["reason"])
        return self.record_response(message)

    @extend_schema(
        operation_id="sync_outbox_skip",
        summary="Skip a dead outbox message for good, with a reason",
        description="The message is never sent; the later messages of its aggregate, which it held "
        "back, go on. Recorded with who and why.",
        request=SkipSerializer,
        responses={
            200: OutboxMessageSerializer,
            (409, PROBLEM_CONTENT_TYPE): OpenApiResponse(ProblemSerializer, description="Not dead."),
        },
        tags=["sync"],
    )
    @action(detail=True, methods=["post"])
    def skip(self, request: Request, pk: str | None = None) -> Response:
        message_id = self.get_object().pk  # an unknown message is a 404 before its body is read
        data = SkipSerializer.validated(request.data)
        message = outbox_skip(actor=request.user, message_id=message_id, reason=data["reason"])
        return self.record_response(message)
