"""REST API for pipelines and opportunities: thin over `sales.pipeline` services and
selectors. Updates need If-Match (428 without, 412 when stale); the actions (move, win,
lose) check If-Match when it is sent. Input serializers check types and shape; the
services own every rule about the values (and report every problem at once)."""

from __future__ import annotations

from typing import Any

from django.db.models import Prefetch, QuerySet
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import extend_schema, extend_schema_field, extend_schema_view
from rest_framework import serializers

from frontoffice.filters import StableOrderingFilter
from frontoffice.models import User
from frontoffice.schema import ETAG, IF_MATCH
from frontoffice.serializers import (
    ChoiceTextField,
    CurrencyTextField,
    DateField,
    IdField,
    RelatedIdField,
    StrictSerializer,
    TextField,
)
from frontoffice.viewsets import service_action
from sales.pipeline import selectors, services, services_pipelines, values
from sales.pipeline.filters import OPPORTUNITY_ORDERINGS, OpportunityFilter
from sales.pipeline.models import Opportunity, OpportunityLine, Pipeline, Stage, StageKind
from sales.viewsets import SalesViewSet


class ReasonSerializer(StrictSerializer):
    reason = TextField(allow_blank=True, help_text="Why (at most 300 characters).")


# --- pipelines ----------------------------------------------------------------------------


class StageSerializer(serializers.ModelSerializer[Stage]):
    class Meta:
        model = Stage
        fields = ["id", "name", "order", "probability", "kind"]


class PipelineSerializer(serializers.ModelSerializer[Pipeline]):
    stages = StageSerializer(many=True, read_only=True)

    class Meta:
        model = Pipeline
        fields = ["id", "name", "is_default", "active", "stages", "version"]
        read_only_fields = fields


class StageInputSerializer(StrictSerializer):
    id = IdField(required=False, help_text="An existing stage of this pipeline (update); omit for a new one.")
    name = TextField(allow_blank=True, help_text="At most 100 characters.")
    order = serializers.IntegerField(required=False, help_text="0 to 30000; default: 10, 20, 30...")
    probability = serializers.IntegerField(help_text="The stage's win probability, 0 to 100.")
    kind = ChoiceTextField(choices=StageKind.choices, required=False, help_text="Default: open.")


# The schema says "at least one"; the service checks it, with the body's other problems.
@extend_schema_field(StageInputSerializer(many=True, min_length=1))  # type: ignore[call-arg]  # many=True
class StageInputList(serializers.ListSerializer[Any]):
    """A pipeline's stages."""


class PipelineWriteSerializer(StrictSerializer):
    name = TextField(allow_blank=True, help_text="At most 100 characters.")
    is_default = serializers.BooleanField(required=False, default=False)
    active = serializers.BooleanField(required=False, default=True)
    stages = StageInputList(child=StageInputSerializer(), help_text="At least one open stage.")


@extend_schema_view(
    retrieve=extend_schema(parameters=[ETAG]),
    create=extend_schema(
        request=PipelineWriteSerializer, responses={201: PipelineSerializer}, parameters=[ETAG]
    ),
    update=extend_schema(request=PipelineWriteSerializer, parameters=[IF_MATCH, ETAG]),
    partial_update=extend_schema(request=PipelineWriteSerializer, parameters=[IF_MATCH, ETAG]),
)
class PipelineViewSet(SalesViewSet):
    """Pipelines with their stages (ordered). Everyone in sales reads; admins write.
    An update's `stages` replaces the list: stages with an `id` are kept and changed,
    new ones are added, missing ones are removed (409 while opportunities are in them).
    Updates need If-Match; the ETag covers the stages too."""

    serializer_class = PipelineSerializer
    filter_backends: list[Any] = []
    pagination_class = None
    lookup_arg = "pipeline_id"
    create_input = PipelineWriteSerializer
    update_input = PipelineWriteSerializer
    create_service = staticmethod(services_pipelines.pipeline_create)
    update_service = staticmethod(services_pipelines.pipeline_update)

    def get_queryset(self) -> QuerySet[Pipeline]:
        return selectors.pipeline_list().order_by("-is_default", "name", "id")


# --- opportunities --------------------------------------------------------------------------


class OpportunityLineSerializer(serializers.ModelSerializer[OpportunityLine]):
    total = serializers.DecimalField(max_digits=16, decimal_places=2, read_only=True)

    class Meta:
        model = OpportunityLine
        fields = ["id", "sku", "description", "quantity", "unit_price", "total"]
        read_only_fields = fields


class OpportunityLineInputSerializer(StrictSerializer):
    sku = TextField(help_text="A product SKU of the ERP catalogue.")
    description = TextField(required=False, allow_blank=True, help_text="At most 200 characters.")
    quantity = serializers.DecimalField(max_digits=None, decimal_places=None, help_text="More than 0.")
    unit_price = serializers.DecimalField(
        max_digits=None,
        decimal_places=None,
        required=False,
        help_text="Default: the catalogue price (when in the same currency).",
    )


class OpportunitySerializer(serializers.ModelSerializer[Opportunity]):
    customer_name = serializers.CharField(source="customer.display_name", read_only=True)
    stage_name = serializers.CharField(source="stage.name", read_only=True)
    probability = serializers.IntegerField(source="stage.probability", read_only=True)
    weighted_amount = serializers.DecimalField(max_digits=16, decimal_places=2, read_only=True)
    lines = OpportunityLineSerializer(many=True, read_only=True)

    class Meta:
        model = Opportunity
        fields = [
            "id",
            "customer",
            "customer_name",
            "owner",
            "name",
            "amount",
            "currency",
            "pipeline",
            "stage",
            "stage_name",
            "probability",
            "weighted_amount",
            "expected_close_date",
            "lines",
            "source_lead",
            "campaign_id",
            "next_step",
            "status",
            "lost_reason",
            "closed_at",
            "version",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class OpportunityUpdateSerializer(StrictSerializer):
    name = TextField(required=False, allow_blank=True, help_text="At most 200 characters.")
    amount = serializers.DecimalField(
        max_digits=None, decimal_places=None, required=False, help_text="Default: the lines' total."
    )
    currency = CurrencyTextField(required=False)
    expected_close_date = DateField(required=False, allow_null=True)
    next_step = TextField(required=False, allow_blank=True, help_text="At most 300 characters.")
    owner = RelatedIdField(queryset=User.objects.filter(is_active=True), required=False, allow_null=True)
    lines = OpportunityLineInputSerializer(
        many=True, required=False, help_text=f"At most {values.MAX_LINES}; they replace the lines."
    )
    campaign_id = serializers.IntegerField(required=False, allow_null=True, help_text="A reference.")


class OpportunityWriteSerializer(OpportunityUpdateSerializer):
    customer = IdField()
    name = TextField(allow_blank=True, help_text="At most 200 characters.")
    pipeline = IdField(required=False, help_text="Default: the default pipeline.")
    stage = IdField(required=False, help_text="An open stage of the pipeline; default: its first.")


class MoveSerializer(StrictSerializer):
    stage = IdField()
    reason = TextField(required=False, allow_blank=True, help_text="Needed for a lost stage.")


def _lines_prefetch() -> Prefetch:
    return Prefetch("lines", queryset=OpportunityLine.objects.order_by("id"))


@extend_schema_view(
    retrieve=extend_schema(parameters=[ETAG]),
    create=extend_schema(
        request=OpportunityWriteSerializer, responses={201: OpportunitySerializer}, parameters=[ETAG]
    ),
    update=extend_schema(request=OpportunityUpdateSerializer, parameters=[IF_MATCH, ETAG]),
    partial_update=extend_schema(request=OpportunityUpdateSerializer, parameters=[IF_MATCH, ETAG]),
)
class OpportunityViewSet(SalesViewSet):
    """Opportunities: move through the stages of their pipeline, win, lose (with a reason)."""

    serializer_class = OpportunitySerializer
    filter_backends = [DjangoFilterBackend, StableOrderingFilter]
    filterset_class = OpportunityFilter
    ordering_fields = OPPORTUNITY_ORDERINGS
    action_permissions = {
        "move": {"POST": [services.CHANGE_OPPORTUNITY]},
        "win": {"POST": [services.CHANGE_OPPORTUNITY]},
        "lose": {"POST": [services.CHANGE_OPPORTUNITY]},
    }
    # The services apply the rule too; here it answers 403 before If-Match/body problems.
    owner_rule_actions = frozenset({"update", "partial_update", "move", "win", "lose"})
    owner_bypass_permission = services.ANY_OPPORTUNITY
    lookup_arg = "opportunity_id"
    create_input = OpportunityWriteSerializer
    update_input = OpportunityUpdateSerializer
    create_service = staticmethod(services.opportunity_create)
    update_service = staticmethod(services.opportunity_update)

    move = service_action(
        services.opportunity_move,
        input=MoveSerializer,
        summary="Move to another stage of the pipeline (a won or lost stage closes it)",
    )
    win = service_action(services.opportunity_win, summary="Win the opportunity")
    lose = service_action(
        services.opportunity_lose, input=ReasonSerializer, summary="Lose the opportunity, saying why"
    )

    def get_queryset(self) -> QuerySet[Opportunity]:
        if self.action == "list":
            return selectors.opportunity_list().prefetch_related(_lines_prefetch())
        return selectors.opportunity_base().prefetch_related(_lines_prefetch())

    def filter_queryset(self, queryset: QuerySet[Any]) -> QuerySet[Any]:
        return super().filter_queryset(queryset) if self.action == "list" else queryset


# --- the 360 panel ------------------------------------------------------------------------


class OpenOpportunityRowSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    name = serializers.CharField()
    stage = serializers.CharField(help_text='The stage and its probability: "Proposal (50%)".')
    amount = serializers.CharField(help_text='The amount and its currency: "1200.00 EUR".')
    expected_close = serializers.DateField(allow_null=True)


class OpenOpportunitiesPanelSerializer(serializers.ListSerializer[Any]):
    """The 360 panel "Open opportunities" (`selectors.open_opportunities_panel`): the
    next ones to close, soonest first."""

    child = OpenOpportunityRowSerializer()
