"""REST API of lead capture and attribution: lead forms, scoring rules, lead routing,
bounces and the attribution figures of campaigns."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, serializers, viewsets
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from frontoffice.api import ActionPermissions
from frontoffice.permissions import HasPermission
from frontoffice.query_params import DeclaredQueryParameters
from frontoffice.schema import ETAG
from frontoffice.serializers import IdField, JSONRuleField, StrictSerializer, TextField
from frontoffice.viewsets import ServiceViewSet
from marketing.attribution.selectors import attribution_rows
from marketing.campaigns.responses import email_bounce
from marketing.campaigns.selectors import campaign_list
from marketing.capture import scoring
from marketing.capture.services import lead_form_create, lead_form_update
from marketing.choices import RoutingMethod, ScoringEvent, ScoringKind
from marketing.models import Campaign, LeadForm, RoutingSettings, ScoringRule


class LeadFormSerializer(serializers.ModelSerializer[LeadForm]):
    url = serializers.SerializerMethodField(help_text="The public form's address (embed it in an iframe).")

    class Meta:
        model = LeadForm
        fields = [
            "id",
            "campaign",
            "name",
            "public_key",
            "url",
            "consent_text",
            "thank_you",
            "active",
            "version",
            "created_at",
        ]
        read_only_fields = fields

    def get_url(self, obj: LeadForm) -> str:
        from django.urls import reverse

        return reverse("marketing:public_form", args=[obj.public_key])


class LeadFormCreateSerializer(StrictSerializer):
    campaign = IdField()
    name = TextField(max_length=100)
    consent_text = TextField(max_length=300, required=False)
    thank_you = TextField(max_length=300, required=False)


class LeadFormUpdateSerializer(StrictSerializer):
    name = TextField(max_length=100, required=False)
    consent_text = TextField(max_length=300, required=False)
    thank_you = TextField(max_length=300, required=False)
    active = serializers.BooleanField(required=False, help_text="False: the public form takes nothing more.")


@extend_schema_view(
    retrieve=extend_schema(parameters=[ETAG]),
    create=extend_schema(
        request=LeadFormCreateSerializer, responses={201: LeadFormSerializer}, parameters=[ETAG]
    ),
    update=extend_schema(request=LeadFormUpdateSerializer),
    partial_update=extend_schema(request=LeadFormUpdateSerializer),
)
class LeadFormViewSet(ServiceViewSet[LeadForm]):
    """Public lead forms of campaigns (PATCH with If-Match renames, rewords or
    deactivates one)."""

    serializer_class = LeadFormSerializer
    lookup_arg = "lead_form_id"
    create_input = LeadFormCreateSerializer
    update_input = LeadFormUpdateSerializer
    create_service = staticmethod(lead_form_create)
    update_service = staticmethod(lead_form_update)

    def get_queryset(self) -> QuerySet[LeadForm]:
        return LeadForm.objects.all()

    def service_arguments(self, data: dict[str, Any]) -> dict[str, Any]:
        if "campaign" in data:  # a create names the campaign; an update never moves a form
            data["campaign_id"] = data.pop("campaign")
        return data


class ScoringRuleSerializer(serializers.ModelSerializer[ScoringRule]):
    criteria = JSONRuleField(help_text="A segment rule (profile rules).")
    event = serializers.ChoiceField(
        choices=ScoringEvent.choices, allow_blank=True, help_text="The behaviour (empty for profile rules)."
    )

    class Meta:
        model = ScoringRule
        fields = [
            "id",
            "name",
            "kind",
            "criteria",
            "event",
            "points",
            "half_life_days",
            "active",
            "version",
            "created_at",
        ]
        read_only_fields = fields


class ScoringRuleCreateSerializer(StrictSerializer):
    name = TextField(max_length=100)
    kind = serializers.ChoiceField(choices=ScoringKind.choices)
    criteria = JSONRuleField(required=False)
    event = serializers.ChoiceField(choices=ScoringEvent.choices, required=False, allow_blank=True)
    points = serializers.IntegerField(min_value=-1000, max_value=1000)
    half_life_days = serializers.IntegerField(min_value=1, max_value=3650, required=False)
    active = serializers.BooleanField(required=False)


class ScoringRuleUpdateSerializer(ScoringRuleCreateSerializer):
    name = TextField(max_length=100, required=False)
    kind = serializers.ChoiceField(choices=ScoringKind.choices, required=False)
    points = serializers.IntegerField(min_value=-1000, max_value=1000, required=False)


@extend_schema_view(
    retrieve=extend_schema(parameters=[ETAG]),
    create=extend_schema(
        request=ScoringRuleCreateSerializer, responses={201: ScoringRuleSerializer}, parameters=[ETAG]
    ),
    update=extend_schema(request=ScoringRuleUpdateSerializer),
    partial_update=extend_schema(request=ScoringRuleUpdateSerializer),
)
class ScoringRuleViewSet(ServiceViewSet[ScoringRule]):
    """Lead scoring rules (admins)."""

    serializer_class = ScoringRuleSerializer
    lookup_arg = "scoring_rule_id"
    create_input = ScoringRuleCreateSerializer
    update_input = ScoringRuleUpdateSerializer
    create_service = staticmethod(scoring.scoring_rule_create)
    update_service = staticmethod(scoring.scoring_rule_update)

    def get_queryset(self) -> QuerySet[ScoringRule]:
        return ScoringRule.objects.all()


class RoutingSettingsSerializer(serializers.ModelSerializer[RoutingSettings]):
    territories = serializers.DictField(
        child=serializers.IntegerField(),
        help_text="Territory method: {value of the territory attribute: id of the sales rep}.",
    )

    class Meta:
        model = RoutingSettings
        fields = [
            "id",
            "threshold",
            "method",
            "territory_attribute",
            "territories",
            "last_assigned",
            "version",
        ]
        read_only_fields = fields


class RoutingSettingsUpdateSerializer(StrictSerializer):
    threshold = serializers.IntegerField(
        min_value=0,
        max_value=scoring.MAX_THRESHOLD,
        required=False,
        help_text="The score that routes a lead.",
    )
    method = serializers.ChoiceField(choices=RoutingMethod.choices, required=False)
    territory_attribute = TextField(
        max_length=50, required=False, allow_blank=True, help_text="The custom attribute's key."
    )
    territories = serializers.DictField(child=serializers.IntegerField(min_value=1), required=False)


@extend_schema_view(
    retrieve=extend_schema(parameters=[ETAG]),
    update=extend_schema(request=RoutingSettingsUpdateSerializer),
    partial_update=extend_schema(request=RoutingSettingsUpdateSerializer),
)
class RoutingSettingsViewSet(ServiceViewSet[RoutingSettings]):
    """Where leads whose score reaches the threshold go (admins): round robin over the
    active sales reps, or by territory (a custom attribute's value -> a rep, round robin
    for the rest). One row, id 1."""

    serializer_class = RoutingSettingsSerializer
    lookup_arg = "routing_settings_id"
    update_input = RoutingSettingsUpdateSerializer
    update_service = staticmethod(scoring.routing_settings_update)

    def get_queryset(self) -> QuerySet[RoutingSettings]:
        return RoutingSettings.objects.all()


class FunnelStageSerializer(serializers.Serializer[Any]):
    stage = serializers.CharField()
    count = serializers.IntegerField()
    rate = serializers.FloatField(allow_null=True, help_text="Share of the stage before.")


class RevenueSerializer(serializers.Serializer[Any]):
    currency = serializers.CharField()
    first_touch = serializers.DecimalField(max_digits=16, decimal_places=2)
    last_touch = serializers.DecimalField(max_digits=16, decimal_places=2)
    direct = serializers.DecimalField(
        max_digits=16, decimal_places=2, help_text="Orders of the opportunities the campaign sourced."
    )


class AttributionSerializer(serializers.Serializer[Any]):
    campaign = serializers.IntegerField()
    name = serializers.CharField()
    status = serializers.CharField()
    currency = serializers.CharField()
    cost = serializers.DecimalField(max_digits=14, decimal_places=2)
    revenue = RevenueSerializer(
        many=True,
        help_text="Per currency, the campaign's own first (even when nothing); amounts in "
        "different currencies are never added up.",
    )
    roi = serializers.DecimalField(
        max_digits=16,
        decimal_places=2,
        allow_null=True,
        help_text="(Last-touch revenue - cost) / cost, counting only the revenue in the budget's "
        "currency; null without a budget.",
    )
    roi_leaves_out = serializers.ListField(
        child=serializers.CharField(), help_text="Currencies with revenue that ROI does not count."
    )
    cost_per_lead = serializers.DecimalField(max_digits=16, decimal_places=2, allow_null=True)
    funnel = FunnelStageSerializer(many=True)


class AttributionViewSet(DeclaredQueryParameters, mixins.ListModelMixin, viewsets.GenericViewSet[Any]):
    """Revenue (first and last touch), cost, ROI, cost per lead and the funnel of each
    campaign (filters: status, channel, segment, owner)."""

    serializer_class = AttributionSerializer
    queryset = Campaign.objects.none()  # for the schema; rows come from the selector
    permission_classes = [IsAuthenticated, HasPermission]
    required_permission = "marketing.view_campaign"

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        campaigns = campaign_list(filters=request.query_params)
        page = self.paginate_queryset(campaigns)
        rows = attribution_rows(campaigns=page if page is not None else campaigns)
        return self.get_paginated_response(AttributionSerializer(rows, many=True).data)


class CampaignBounceInput(StrictSerializer):
    email = TextField(max_length=320)
    reason = TextField(max_length=300, required=False, allow_blank=True)


class CampaignBounceResult(serializers.Serializer[Any]):
    members_marked = serializers.IntegerField()


class BounceViewSet(DeclaredQueryParameters, viewsets.GenericViewSet[Any]):
    """Bounces reported by the mail server (a hard bounce blocks the address)."""

    permission_classes = [ActionPermissions]
    action_permissions = {"create": {"POST": ["marketing.add_emailbounce"]}}
    serializer_class = CampaignBounceResult

    @extend_schema(request=CampaignBounceInput, responses={201: CampaignBounceResult})
    def create(self, request: Request) -> Response:
        data = CampaignBounceInput.validated(request.data)
        marked = email_bounce(actor=request.user, email=data["email"], reason=data.get("reason", ""))
        return Response({"members_marked": marked}, status=201)
