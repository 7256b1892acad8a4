"""REST API of the desk around cases: calls, goodwill (approve/refuse), queues, SLA
policies and the measures."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers, viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from frontoffice.filters import StableOrderingFilter
from frontoffice.permissions import HasPermission
from frontoffice.query_params import DeclaredQueryParameters
from frontoffice.schema import ETAG, IF_MATCH, OneObjectSchema, Variant, variants_of
from frontoffice.serializers import DateTimeField, IdField, StrictSerializer, TextField
from frontoffice.viewsets import ServiceViewSet, service_action
from service import calls, goodwill, selectors, settings_services
from service.choices import (
    AssignmentStrategy,
    CallDirection,
    CallOutcome,
    CaseCategory,
    CaseKind,
    CasePriority,
)
from service.filters import CallFilter, GoodwillFilter
from service.models import Call, GoodwillCredit, Queue, SlaPolicy
from service.selectors_metrics import default_period, service_metrics

# --- calls --------------------------------------------------------------------------------


class CallSerializer(serializers.ModelSerializer[Call]):
    customer_name = serializers.CharField(source="customer.display_name", read_only=True)

    class Meta:
        model = Call
        fields = [
            "id",
            "customer",
            "customer_name",
            "case",
            "agent",
            "direction",
            "duration_seconds",
            "outcome",
            "notes",
            "phone",
            "occurred_at",
        ]
        read_only_fields = fields


class NewCaseSerializer(StrictSerializer):
    kind = serializers.ChoiceField(choices=CaseKind.choices, default=CaseKind.ENQUIRY)
    subject = TextField(max_length=200)
    priority = serializers.ChoiceField(choices=CasePriority.choices, default=CasePriority.NORMAL)
    category = serializers.ChoiceField(choices=CaseCategory.choices, required=False)
    related_order = IdField(required=False)


class CallCreateSerializer(StrictSerializer):
    customer = IdField()
    direction = serializers.ChoiceField(choices=CallDirection.choices)
    duration_seconds = serializers.IntegerField(min_value=0, max_value=calls.MAX_DURATION)
    outcome = serializers.ChoiceField(choices=CallOutcome.choices)
    notes = TextField(max_length=5000, required=False, allow_blank=True)
    phone = TextField(max_length=40, required=False, allow_blank=True)
    case = IdField(required=False, help_text="Attach the call to this open case of the customer.")
    new_case = NewCaseSerializer(required=False, help_text="Or open a case by phone with the call.")
    resolved_on_first_contact = serializers.BooleanField(
        default=False,
        help_text="Resolve and close the new case now (counts toward first-contact resolution).",
    )


def _call_arguments(data: dict[str, Any]) -> dict[str, Any]:
    data["customer_id"] = data.pop("customer")
    if "case" in data:
        data["case_id"] = data.pop("case")
    new_case = data.get("new_case")
    if new_case and "related_order" in new_case:
        new_case["related_order_id"] = new_case.pop("related_order")
    return data


# A call attaches to a case, opens one, or neither; never both.
CALL_INPUT = variants_of(
    CallCreateSerializer,
    name="CallCreate",
    variants={
        "attach": Variant(required=("case",), excluded=("new_case",)),
        "open": Variant(required=("new_case",), excluded=("case",)),
        "log_only": Variant(required=(), excluded=("case", "new_case")),
    },
)


@extend_schema_view(create=extend_schema(request=CALL_INPUT, responses={201: CallSerializer}))
class CallViewSet(ServiceViewSet[Call]):
    """Calls with customers, as agents log them ("log a call")."""

    serializer_class = CallSerializer
    filter_backends = [DjangoFilterBackend, StableOrderingFilter]
    filterset_class = CallFilter
    ordering_fields = ("occurred_at",)
    versioned = False
    create_input = CallCreateSerializer
    create_service = staticmethod(calls.call_log)

    def get_queryset(self) -> QuerySet[Call]:
        return selectors.call_list()

    def service_arguments(self, data: dict[str, Any]) -> dict[str, Any]:
        return _call_arguments(data)


# --- goodwill ------------------------------------------------------------------------------


class GoodwillSerializer(serializers.ModelSerializer[GoodwillCredit]):
    class Meta:
        model = GoodwillCredit
        fields = [
            "id",
            "case",
            "customer",
            "amount",
            "currency",
            "reason",
            "invoice_number",
            "status",
            "requested_by",
            "decided_by",
            "decided_at",
            "decision_reason",
            "applied_at",
            "credit_ref",
            "version",
            "created_at",
        ]
        read_only_fields = fields


class GoodwillCreateSerializer(StrictSerializer):
    case = IdField()
    amount = serializers.DecimalField(
        max_digits=12, decimal_places=2, help_text="Positive, in the company currency."
    )
    reason = TextField(max_length=500)
    invoice_number = TextField(max_length=40, required=False, allow_blank=True)


class DecisionSerializer(StrictSerializer):
    reason = TextField(max_length=500, required=False, allow_blank=True)


class RefusalSerializer(StrictSerializer):
    reason = TextField(max_length=500, help_text="Why the credit is refused (the requester sees it).")


@extend_schema_view(
    retrieve=extend_schema(parameters=[ETAG]),
    create=extend_schema(request=GoodwillCreateSerializer, responses={201: GoodwillSerializer}),
)
class GoodwillViewSet(ServiceViewSet[GoodwillCredit]):
    """Goodwill credits: within the requester's limit applied at once (a credit note to
    the ERP), above it waiting for a supervisor's approval or refusal."""

    serializer_class = GoodwillSerializer
    filter_backends = [DjangoFilterBackend, StableOrderingFilter]
    filterset_class = GoodwillFilter
    ordering_fields = ("created_at", "amount")
    lookup_arg = "goodwill_id"
    create_input = GoodwillCreateSerializer
    create_service = staticmethod(goodwill.goodwill_grant)
    action_permissions = {
        "approve": {"POST": ["service.approve_goodwill"]},
        "refuse": {"POST": ["service.approve_goodwill"]},
    }

    approve = service_action(
        goodwill.goodwill_approve, input=DecisionSerializer, summary="Approve the credit"
    )
    refuse = service_action(goodwill.goodwill_refuse, input=RefusalSerializer, summary="Refuse the credit")

    def get_queryset(self) -> QuerySet[GoodwillCredit]:
        return selectors.goodwill_list()

    def service_arguments(self, data: dict[str, Any]) -> dict[str, Any]:
        data["case_id"] = data.pop("case")
        return data


# --- queues and SLA policies ---------------------------------------------------------------


class QueueSerializer(serializers.ModelSerializer[Queue]):
    open_cases = serializers.IntegerField(read_only=True)
    breached_cases = serializers.IntegerField(read_only=True)

    class Meta:
        model = Queue
        fields = [
            "id",
            "name",
            "description",
            "strategy",
            "members",
            "is_default",
            "is_supervisor",
            "escalation_queue",
            "open_cases",
            "breached_cases",
            "version",
        ]
        read_only_fields = fields


class QueueWriteSerializer(StrictSerializer):
    name = TextField(max_length=100)
    description = TextField(max_length=300, required=False, allow_blank=True)
    strategy = serializers.ChoiceField(choices=AssignmentStrategy.choices, required=False)
    members = serializers.ListField(child=IdField(), required=False, max_length=500)
    is_default = serializers.BooleanField(required=False)
    is_supervisor = serializers.BooleanField(required=False)
    escalation_queue = IdField(required=False, allow_null=True)


class QueueUpdateSerializer(QueueWriteSerializer):
    name = TextField(max_length=100, required=False)


@extend_schema_view(
    retrieve=extend_schema(parameters=[ETAG]),
    create=extend_schema(request=QueueWriteSerializer, responses={201: QueueSerializer}),
    partial_update=extend_schema(request=QueueUpdateSerializer, parameters=[IF_MATCH, ETAG]),
    update=extend_schema(request=QueueUpdateSerializer, parameters=[IF_MATCH, ETAG]),
)
class QueueViewSet(ServiceViewSet[Queue]):
    """Queues (teams) with their assignment strategy; admins configure them."""

    serializer_class = QueueSerializer
    lookup_arg = "queue_id"
    create_input = QueueWriteSerializer
    update_input = QueueUpdateSerializer
    create_service = staticmethod(settings_services.queue_create)
    update_service = staticmethod(settings_services.queue_update)

    def get_queryset(self) -> QuerySet[Queue]:
        return selectors.queue_list()


class SlaPolicySerializer(serializers.ModelSerializer[SlaPolicy]):
    class Meta:
        model = SlaPolicy
        fields = [
            "id",
            "name",
            "priority",
            "tier",
            "calendar",
            "first_response_minutes",
            "resolution_minutes",
            "warn_before_minutes",
            "version",
        ]
        read_only_fields = fields


class SlaPolicyWriteSerializer(StrictSerializer):
    name = TextField(max_length=100)
    priority = serializers.ChoiceField(choices=CasePriority.choices)
    tier = TextField(max_length=20, required=False, allow_blank=True)
    calendar = IdField(required=False)
    first_response_minutes = serializers.IntegerField(min_value=1, max_value=10**6)
    resolution_minutes = serializers.IntegerField(min_value=1, max_value=10**6)
    warn_before_minutes = serializers.IntegerField(min_value=0, max_value=10**6, required=False)


class SlaPolicyUpdateSerializer(SlaPolicyWriteSerializer):
    name = TextField(max_length=100, required=False)
    priority = serializers.ChoiceField(choices=CasePriority.choices, required=False)
    first_response_minutes = serializers.IntegerField(min_value=1, max_value=10**6, required=False)
    resolution_minutes = serializers.IntegerField(min_value=1, max_value=10**6, required=False)


@extend_schema_view(
    retrieve=extend_schema(parameters=[ETAG]),
    create=extend_schema(request=SlaPolicyWriteSerializer, responses={201: SlaPolicySerializer}),
    partial_update=extend_schema(request=SlaPolicyUpdateSerializer, parameters=[IF_MATCH, ETAG]),
    update=extend_schema(request=SlaPolicyUpdateSerializer, parameters=[IF_MATCH, ETAG]),
)
class SlaPolicyViewSet(ServiceViewSet[SlaPolicy]):
    """SLA policies per priority and customer tier (business minutes of a calendar)."""

    serializer_class = SlaPolicySerializer
    lookup_arg = "sla_policy_id"
    create_input = SlaPolicyWriteSerializer
    update_input = SlaPolicyUpdateSerializer
    create_service = staticmethod(settings_services.sla_policy_create)
    update_service = staticmethod(settings_services.sla_policy_update)

    def get_queryset(self) -> QuerySet[SlaPolicy]:
        return selectors.sla_policy_list()


# --- measures --------------------------------------------------------------------------------


class MetricsQuerySerializer(StrictSerializer):
    start = DateTimeField(required=False, help_text="Default: 30 days before `end`.")
    end = DateTimeField(required=False, help_text="Default: now.")
    queue = IdField(required=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        start, end = default_period(attrs.get("end"))
        attrs.setdefault("start", start)
        attrs["end"] = end
        if attrs["start"] >= attrs["end"]:
            raise serializers.ValidationError({"start": ["The period must start before it ends."]})
        return attrs


class MeasuresSerializer(serializers.Serializer[Any]):
    queue_id = serializers.IntegerField(allow_null=True)
    queue = serializers.CharField()
    opened = serializers.IntegerField()
    resolved = serializers.IntegerField()
    complaints = serializers.IntegerField()
    fcr_rate = serializers.FloatField(allow_null=True, help_text="First-contact resolution rate (0-1).")
    sla_attainment = serializers.FloatField(allow_null=True, help_text="Share resolved within the SLA (0-1).")
    median_first_response_minutes = serializers.FloatField(allow_null=True)
    median_resolution_minutes = serializers.FloatField(allow_null=True)
    csat_average = serializers.FloatField(allow_null=True)
    csat_answers = serializers.IntegerField()
    complaints_per_100_orders = serializers.FloatField(allow_null=True)


class MetricsSerializer(serializers.Serializer[Any]):
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()
    orders = serializers.IntegerField(help_text="Orders placed in the period.")
    total = MeasuresSerializer()
    queues = MeasuresSerializer(many=True)


class MetricsViewSet(DeclaredQueryParameters, viewsets.ViewSet):
    schema = OneObjectSchema()
    permission_classes = [HasPermission]
    required_permission = "service.view_case"

    @extend_schema(
        operation_id="service_metrics",
        summary="Service measures of a period, overall and per queue",
        parameters=[MetricsQuerySerializer],
        responses={200: MetricsSerializer},
        tags=["service"],
    )
    def list(self, request: Request) -> Response:
        query = MetricsQuerySerializer.validated(request.query_params.dict())
        data = service_metrics(start=query["start"], end=query["end"], queue_id=query.get("queue"))
        return Response(MetricsSerializer(data).data)
