"""REST API of the service desk: thin viewsets over selectors and services."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers

from frontoffice.filters import StableOrderingFilter
from frontoffice.schema import ETAG
from frontoffice.serializers import IdField, StrictSerializer, TextField
from frontoffice.viewsets import ServiceViewSet
from service import selectors, services
from service.choices import CaseChannel, CaseKind, CasePriority, CaseStatus
from service.filters import CaseFilter
from service.models import Case


class CaseSerializer(serializers.ModelSerializer[Case]):
    reference = serializers.CharField(read_only=True, help_text='"C-000123".')
    customer_name = serializers.CharField(source="customer.display_name", read_only=True)

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
            "status",
            "assignee",
            "opened_by",
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


class OpenCaseSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    reference = serializers.CharField()
    kind = serializers.ChoiceField(choices=CaseKind.choices)
    subject = serializers.CharField()
    priority = serializers.ChoiceField(choices=CasePriority.choices)
    status = serializers.ChoiceField(choices=CaseStatus.choices)
    created_at = serializers.DateTimeField()
    url = serializers.CharField(help_text="The case's page.")


class OpenCasesPanelSerializer(serializers.Serializer[Any]):
    """The 360 panel "Open cases"."""

    cases = OpenCaseSerializer(many=True, help_text="The newest open cases (at most 5).")
    more = serializers.BooleanField(help_text="More open cases than those listed.")


@extend_schema_view(
    retrieve=extend_schema(parameters=[ETAG]),
    create=extend_schema(request=CaseCreateSerializer, responses={201: CaseSerializer}, parameters=[ETAG]),
)
class CaseViewSet(ServiceViewSet):
    """Cases raised by customers over any channel."""

    serializer_class = CaseSerializer
    filter_backends = [DjangoFilterBackend, StableOrderingFilter]
    filterset_class = CaseFilter
    ordering_fields = ("created_at", "priority", "status")
    lookup_arg = "case_id"
    create_input = CaseCreateSerializer
    create_service = staticmethod(services.case_open)

    def get_queryset(self) -> QuerySet[Case]:
        return selectors.case_base()

    def service_arguments(self, data: dict[str, Any]) -> dict[str, Any]:
        data["customer_id"] = data.pop("customer")
        return data
