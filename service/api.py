"""REST API of cases: thin viewsets over selectors and services. (Calls, goodwill,
queues, SLA policies and the measures: `service.api_desk`.)"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers

from frontoffice.filters import StableOrderingFilter
from frontoffice.schema import ETAG, IF_MATCH
from frontoffice.serializers import IdField, StrictSerializer, TextField
from frontoffice.viewsets import ServiceViewSet, service_action
from service import selectors, services
from service.choices import CaseCategory, CaseChannel, CaseKind, CasePriority, CaseStatus, NoteVisibility
from service.filters import CaseFilter
from service.models import Case, CaseNote


class CaseNoteSerializer(serializers.ModelSerializer[CaseNote]):
    class Meta:
        model = CaseNote
        fields = ["id", "visibility", "body", "author", "author_name", "created_at"]
        read_only_fields = fields


class CaseSerializer(serializers.ModelSerializer[Case]):
    reference = serializers.CharField(read_only=True, help_text='"C-000123".')
    customer_name = serializers.CharField(source="customer.display_name", read_only=True)
    queue_name = serializers.CharField(source="queue.name", read_only=True, default=None, allow_null=True)
    related_order_ref = serializers.CharField(
        source="related_order.order_ref", read_only=True, default=None, allow_null=True
    )

    class Meta:
        model = Case
        fields = [
            "id",
            "reference",
            "customer",
            "customer_name",
            "kind",
            "channel",
            "subject",
            "description",
            "priority",
            "category",
            "status",
            "queue",
            "queue_name",
            "assignee",
            "opened_by",
            "related_order",
            "related_order_ref",
            "resolution",
            "root_cause",
            "first_contact_resolved",
            "csat_score",
            "reopened_count",
            "resolved_at",
            "closed_at",
            "first_response_due_at",
            "resolution_due_at",
            "first_response_at",
            "sla_paused_at",
            "sla_paused_seconds",
            "first_response_met",
            "resolution_met",
            "sla_breached",
            "escalated_at",
            "version",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class CaseCreateSerializer(StrictSerializer):
    customer = IdField(help_text="The customer the case is about.")
    kind = serializers.ChoiceField(choices=CaseKind.choices)
    channel = serializers.ChoiceField(choices=CaseChannel.choices)
    subject = TextField(max_length=200)
    description = TextField(max_length=20000, required=False, allow_blank=True)
    priority = serializers.ChoiceField(choices=CasePriority.choices, required=False)
    category = serializers.ChoiceField(choices=CaseCategory.choices, required=False)
    queue = IdField(required=False, help_text="Its queue; the default queue when left out.")
    assignee = IdField(required=False, help_text="Its agent; the queue's strategy picks one when left out.")
    related_order = IdField(required=False, help_text="An order of the customer's that the case is about.")


class CaseUpdateSerializer(StrictSerializer):
    # Blank passes here so that the service names every problem of the body at once.
    subject = TextField(max_length=200, required=False, allow_blank=True)
    description = TextField(max_length=20000, required=False, allow_blank=True)
    priority = serializers.ChoiceField(choices=CasePriority.choices, required=False)
    category = serializers.ChoiceField(choices=CaseCategory.choices, required=False)
    queue = IdField(required=False, allow_null=True)
    assignee = IdField(required=False, allow_null=True)
    related_order = IdField(required=False, allow_null=True)
    root_cause = TextField(max_length=500, required=False, allow_blank=True)


class TransitionSerializer(StrictSerializer):
    status = serializers.ChoiceField(choices=CaseStatus.choices, help_text="The status to move to.")
    resolution = TextField(max_length=5000, required=False, allow_blank=True, help_text="Needed to resolve.")
    root_cause = TextField(max_length=500, required=False, allow_blank=True)


class NoteSerializer(StrictSerializer):
    body = TextField(max_length=20000)
    visibility = serializers.ChoiceField(choices=NoteVisibility.choices, default=NoteVisibility.INTERNAL)


class AssignSerializer(StrictSerializer):
    assignee = IdField(required=False, help_text="The agent; yourself when left out.")


class OpenCaseSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    reference = serializers.CharField()
    kind = serializers.ChoiceField(choices=CaseKind.choices)
    subject = serializers.CharField()
    priority = serializers.ChoiceField(choices=CasePriority.choices)
    status = serializers.ChoiceField(choices=CaseStatus.choices)
    sla_breached = serializers.BooleanField()
    created_at = serializers.DateTimeField()
    url = serializers.CharField(help_text="The case's page.")


class OpenCasesPanelSerializer(serializers.Serializer[Any]):
    """The 360 panel "Open cases"."""

    cases = OpenCaseSerializer(many=True, help_text="The newest open cases (at most 5).")
    more = serializers.BooleanField(help_text="More open cases than those listed.")


def _renamed(data: dict[str, Any]) -> dict[str, Any]:
    for field in ("customer", "queue", "assignee", "related_order"):
        if field in data:
            data[f"{field}_id"] = data.pop(field)
    return data


@extend_schema_view(
    retrieve=extend_schema(parameters=[ETAG]),
    create=extend_schema(request=CaseCreateSerializer, responses={201: CaseSerializer}, parameters=[ETAG]),
    partial_update=extend_schema(request=CaseUpdateSerializer, parameters=[IF_MATCH, ETAG]),
    update=extend_schema(request=CaseUpdateSerializer, parameters=[IF_MATCH, ETAG]),
)
class CaseViewSet(ServiceViewSet[Case]):
    """Cases raised by customers over any channel. Filters: status, open, queue,
    assignee, priority, customer, sla_breached, created range and more."""

    serializer_class = CaseSerializer
    filter_backends = [DjangoFilterBackend, StableOrderingFilter]
    filterset_class = CaseFilter
    ordering_fields = ("created_at", "priority", "status")
    lookup_arg = "case_id"
    create_input = CaseCreateSerializer
    create_service = staticmethod(services.case_open)
    update_input = CaseUpdateSerializer
    update_service = staticmethod(services.case_update)
    action_permissions = {
        action: {"POST": ["service.change_case"]} for action in ("transition", "note", "assign")
    }

    transition = service_action(
        services.case_transition,
        input=TransitionSerializer,
        summary="Move the case to another status",
        description="Allowed moves: new/open/waiting → any of open, waiting on customer, waiting on "
        "back office, resolved; resolved → closed; resolved or closed → open within the reopening "
        "window. Anything else is a 409 naming the allowed statuses.",
    )
    note = service_action(
        services.case_note_add,
        input=NoteSerializer,
        summary="Add an internal note or a reply the customer sees",
    )
    assign = service_action(
        services.case_assign, input=AssignSerializer, arguments=_renamed, summary="Assign the case"
    )

    def get_queryset(self) -> QuerySet[Case]:
        return selectors.case_base()

    def service_arguments(self, data: dict[str, Any]) -> dict[str, Any]:
        if self.action in ("update", "partial_update"):
            return data
        return _renamed(data)
