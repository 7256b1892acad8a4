"""REST API of marketing: thin viewsets over selectors and services."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from frontoffice.filters import StableOrderingFilter
from frontoffice.schema import ETAG
from frontoffice.serializers import (
    CurrencyTextField,
    DateTimeField,
    IdField,
    JSONRuleField,
    StrictSerializer,
    TextField,
)
from frontoffice.viewsets import ServiceViewSet, action_body, service_action
from frontoffice.write_path import as_id
from marketing.campaigns import launch as launching
from marketing.campaigns import selectors as campaign_selectors
from marketing.campaigns import services as campaign_services
from marketing.choices import CampaignChannel, MemberStatus
from marketing.filters import CampaignFilter
from marketing.models import Campaign, CampaignMember, Segment
from marketing.segments import selectors as segment_selectors
from marketing.segments import services as segment_services

RULES_HELP = (
    'The rule language: {"all": [...]}, {"any": [...]}, {"not": {...}} and conditions '
    '{"field", "op", "value"}; GET /api/v1/marketing/segments/fields/ lists the fields.'
)


# --- segments ---------------------------------------------------------------------------


class SegmentSerializer(serializers.ModelSerializer[Segment]):
    rules = JSONRuleField(help_text=RULES_HELP)

    class Meta:
        model = Segment
        fields = ["id", "name", "description", "rules", "owner", "version", "created_at", "updated_at"]
        read_only_fields = fields


class SegmentCreateSerializer(StrictSerializer):
    name = TextField(max_length=100)
    description = TextField(max_length=500, required=False, allow_blank=True)
    rules = JSONRuleField(help_text=RULES_HELP)


class SegmentUpdateSerializer(SegmentCreateSerializer):
    name = TextField(max_length=100, required=False)
    rules = JSONRuleField(required=False, help_text=RULES_HELP)


class SegmentPreviewInput(StrictSerializer):
    rules = JSONRuleField(required=False, help_text="Rules to try instead of the saved ones.")


class SegmentPreviewCustomerSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    display_name = serializers.CharField()
    kind = serializers.CharField()
    lifecycle_stage = serializers.CharField()


class SegmentPreviewSerializer(serializers.Serializer[Any]):
    count = serializers.IntegerField(help_text="Live customers the rules select now.")
    sample = SegmentPreviewCustomerSerializer(many=True, help_text="The first few, by name.")


class FieldSerializer(serializers.Serializer[Any]):
    field = serializers.CharField()
    # `label` is a Field attribute in DRF's stubs; as a declared field it is the text shown.
    label = serializers.CharField()  # type: ignore[assignment]
    type = serializers.CharField()
    ops = serializers.ListField(child=serializers.CharField())
    choices = serializers.ListField(child=serializers.CharField())
    help = serializers.CharField()


@extend_schema_view(
    retrieve=extend_schema(parameters=[ETAG]),
    create=extend_schema(
        request=SegmentCreateSerializer, responses={201: SegmentSerializer}, parameters=[ETAG]
    ),
    update=extend_schema(request=SegmentUpdateSerializer),
    partial_update=extend_schema(request=SegmentUpdateSerializer),
)
class SegmentViewSet(ServiceViewSet[Segment]):
    """Segments: dynamic audiences described by rules."""

    serializer_class = SegmentSerializer
    filter_backends = [StableOrderingFilter]
    ordering_fields = ("name", "created_at")
    lookup_arg = "segment_id"
    create_input = SegmentCreateSerializer
    update_input = SegmentUpdateSerializer
    create_service = staticmethod(segment_services.segment_create)
    update_service = staticmethod(segment_services.segment_update)
    action_permissions = {
        "preview": {"POST": ["marketing.view_segment"]},
        "fields": {"GET": ["marketing.view_segment"]},
    }

    def get_queryset(self) -> QuerySet[Segment]:
        return segment_selectors.segment_base()

    @extend_schema(request=SegmentPreviewInput, responses={200: SegmentPreviewSerializer})
    @action(detail=True, methods=["post"])
    def preview(self, request: Request, pk: str | None = None) -> Response:
        """The live count and a sample of the segment (or of the rules sent, unsaved)."""
        segment = self.get_object()
        data = SegmentPreviewInput.validated(action_body(request))
        rules = data.get("rules", segment.rules)
        preview = segment_selectors.segment_preview(rules=rules)
        return Response(SegmentPreviewSerializer({"count": preview.count, "sample": preview.sample}).data)

    @extend_schema(responses={200: FieldSerializer(many=True)})
    @action(detail=False, methods=["get"], pagination_class=None)
    def fields(self, request: Request) -> Response:
        """Every field a rule may name, with its operators."""
        rows = segment_selectors.segment_fields()
        return Response(FieldSerializer(rows, many=True).data)


# --- campaigns --------------------------------------------------------------------------


class CampaignSerializer(serializers.ModelSerializer[Campaign]):
    launch_problem = serializers.CharField(
        read_only=True,
        help_text="Why beat could not launch it at its start (it went back to draft); "
        "empty once it is changed or scheduled again.",
    )

    class Meta:
        model = Campaign
        fields = [
            "id",
            "name",
            "channel",
            "status",
            "owner",
            "budget",
            "currency",
            "starts_at",
            "ends_at",
            "segment",
            "subject_template",
            "body_template",
            "cap_messages",
            "cap_days",
            "launched_at",
            "completed_at",
            "cancelled_at",
            "exclusions",
            "launch_problem",
            "version",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class CampaignCreateSerializer(StrictSerializer):
    name = TextField(max_length=200)
    channel = serializers.ChoiceField(choices=CampaignChannel.choices, required=False)
    owner = IdField(required=False, allow_null=True)
    budget = serializers.DecimalField(max_digits=14, decimal_places=2, min_value=0, required=False)
    currency = CurrencyTextField(max_length=3, required=False)
    starts_at = DateTimeField(required=False, allow_null=True)
    ends_at = DateTimeField(required=False, allow_null=True)
    segment = IdField(required=False, allow_null=True)
    subject_template = TextField(max_length=200, required=False, allow_blank=True)
    body_template = TextField(max_length=20000, required=False, allow_blank=True)
    cap_messages = serializers.IntegerField(min_value=0, max_value=365, required=False)
    cap_days = serializers.IntegerField(min_value=1, max_value=365, required=False)


class CampaignUpdateSerializer(CampaignCreateSerializer):
    name = TextField(max_length=200, required=False)


class ScheduleInput(StrictSerializer):
    starts_at = DateTimeField(required=False, help_text="When beat launches it (default: as set).")


class MemberSerializer(serializers.ModelSerializer[CampaignMember]):
    customer_name = serializers.CharField(source="customer.display_name", read_only=True)

    class Meta:
        model = CampaignMember
        fields = [
            "id",
            "customer",
            "customer_name",
            "email",
            "status",
            "sent_at",
            "opened_at",
            "clicked_at",
            "responded_at",
            "converted_at",
            "unsubscribed_at",
            "bounced_at",
        ]
        read_only_fields = fields


@extend_schema_view(
    retrieve=extend_schema(parameters=[ETAG]),
    create=extend_schema(
        request=CampaignCreateSerializer, responses={201: CampaignSerializer}, parameters=[ETAG]
    ),
    update=extend_schema(request=CampaignUpdateSerializer),
    partial_update=extend_schema(request=CampaignUpdateSerializer),
)
class CampaignViewSet(ServiceViewSet[Campaign]):
    """Campaigns: configured in draft, scheduled or launched, then completed or cancelled."""

    serializer_class = CampaignSerializer
    filter_backends = [DjangoFilterBackend, StableOrderingFilter]
    filterset_class = CampaignFilter
    ordering_fields = ("created_at", "name")
    lookup_arg = "campaign_id"
    create_input = CampaignCreateSerializer
    update_input = CampaignUpdateSerializer
    create_service = staticmethod(campaign_services.campaign_create)
    update_service = staticmethod(campaign_services.campaign_update)
    action_permissions = {
        "schedule": {"POST": ["marketing.launch_campaign"]},
        "unschedule": {"POST": ["marketing.launch_campaign"]},
        "launch": {"POST": ["marketing.launch_campaign"]},
        "cancel": {"POST": ["marketing.launch_campaign"]},
        "complete": {"POST": ["marketing.launch_campaign"]},
        "members": {"GET": ["marketing.view_campaignmember"]},
    }

    schedule = service_action(campaign_services.campaign_schedule, input=ScheduleInput)
    unschedule = service_action(campaign_services.campaign_unschedule)
    launch = service_action(launching.campaign_launch)
    cancel = service_action(campaign_services.campaign_cancel)
    complete = service_action(campaign_services.campaign_complete)

    def get_queryset(self) -> QuerySet[Campaign]:
        return campaign_selectors.campaign_base()

    @extend_schema(
        responses={200: MemberSerializer(many=True)},
        parameters=[],
    )
    @action(detail=True, methods=["get"], serializer_class=MemberSerializer)
    def members(self, request: Request, pk: str | None = None) -> Response:
        """The campaign's audience as launched, with each member's status."""
        # Not get_object(): the campaign filters would read the members' query.
        campaign = get_object_or_404(self.get_queryset(), pk=as_id(pk))
        self.check_object_permissions(request, campaign)
        members = campaign_selectors.member_list(campaign=campaign, filters=request.query_params)
        # The paginator is the viewset's, typed for campaigns; it pages any queryset.
        page = self.paginate_queryset(members)  # type: ignore[arg-type]
        return self.get_paginated_response(MemberSerializer(page, many=True).data)


__all__ = ["CampaignViewSet", "MemberStatus", "SegmentViewSet"]
