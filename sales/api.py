"""REST API for leads, pipelines and opportunities: thin viewsets over selectors and
services. Updates need If-Match (428 without, 412 when stale); the state-changing
actions (qualify, convert, move, win, lose...) check If-Match when it is sent."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import Prefetch
from django.urls import reverse
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from customers.choices import ConsentChannel, ConsentPurpose
from frontoffice.api import ActionPermissions, etag_for, expected_version
from frontoffice.errors import PROBLEM_CONTENT_TYPE, problem
from frontoffice.filters import StableOrderingFilter
from frontoffice.models import User
from frontoffice.parsers import PayloadTooLarge
from frontoffice.schema import ETAG, IF_MATCH, IF_MATCH_OPTIONAL
from frontoffice.serializers import IdField, ProblemSerializer, RelatedIdField, StrictSerializer, TextField
from frontoffice.viewsets import ServiceViewSet, service_action
from sales import lead_import, selectors, services
from sales.filters import LEAD_ORDERINGS, OPPORTUNITY_ORDERINGS, LeadFilter, OpportunityFilter
from sales.models import Lead, LeadSource, Opportunity, OpportunityLine, Pipeline, Stage, StageKind

STALE = OpenApiResponse(ProblemSerializer, description="If-Match names an old version: reload and retry.")
MAX_ROW_ERRORS = 500  # problems listed in an import's answer; `error_count` gives them all
CAMPAIGN_ID = {"min_value": 1, "max_value": 2**31 - 1, "required": False, "allow_null": True}
MONEY = {"max_digits": 14, "decimal_places": 2, "min_value": 0}


def _action_responses(ok: Any, **more: Any) -> dict[Any, Any]:
    """An action's 200 plus the 412 its optional If-Match can give."""
    return {200: ok, (412, PROBLEM_CONTENT_TYPE): STALE, **more}


def _optional_version(request: Request, current: int) -> int | None:
    return expected_version(request, current=current) if "If-Match" in request.headers else None


# --- serializers -----------------------------------------------------------------------


class StageSerializer(serializers.ModelSerializer):
    class Meta:
        model = Stage
        fields = ["id", "name", "order", "probability", "kind"]


class PipelineSerializer(serializers.ModelSerializer):
    stages = StageSerializer(many=True, read_only=True)

    class Meta:
        model = Pipeline
        fields = ["id", "name", "is_default", "active", "stages", "version"]
        read_only_fields = fields


class StageInputSerializer(StrictSerializer):
    id = IdField(required=False, help_text="An existing stage of this pipeline (update); omit for a new one.")
    name = TextField(max_length=100)
    order = serializers.IntegerField(min_value=0, max_value=30000, required=False)
    probability = serializers.IntegerField(min_value=0, max_value=100)
    kind = serializers.ChoiceField(choices=StageKind.choices, default=StageKind.OPEN)


class PipelineWriteSerializer(StrictSerializer):
    name = TextField(max_length=100)
    is_default = serializers.BooleanField(required=False, default=False)
    active = serializers.BooleanField(required=False, default=True)
    stages = StageInputSerializer(many=True, min_length=1, max_length=30)


class CapturedConsentSerializer(serializers.Serializer):
    channel = serializers.ChoiceField(choices=ConsentChannel.choices)
    purpose = serializers.ChoiceField(choices=ConsentPurpose.choices)
    granted = serializers.BooleanField()


class LeadSerializer(serializers.ModelSerializer):
    display_name = serializers.CharField(read_only=True)
    email = serializers.CharField(read_only=True, help_text="Normalised (lower case); empty when unknown.")
    phone = serializers.CharField(read_only=True, help_text="E.164; empty when unknown.")
    form_id = serializers.IntegerField(
        read_only=True, allow_null=True, help_text="The marketing form that captured the lead (a reference)."
    )
    captured_at = serializers.DateTimeField(
        read_only=True, allow_null=True, help_text="When the marketing form was sent."
    )
    consents = CapturedConsentSerializer(
        many=True,
        read_only=True,
        help_text="Consents ticked on the form; recorded on the customer at conversion.",
    )

    class Meta:
        model = Lead
        fields = [
            "id",
            "display_name",
            "source",
            "status",
            "first_name",
            "last_name",
            "organisation_name",
            "email",
            "phone",
            "title",
            "notes",
            "owner",
            "campaign_id",
            "disqualified_reason",
            "customer",
            "converted_at",
            "form_id",
            "captured_at",
            "consents",
            "version",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class LeadWriteSerializer(StrictSerializer):
    source = serializers.ChoiceField(choices=LeadSource.choices, required=False)
    first_name = TextField(max_length=100, required=False, allow_blank=True)
    last_name = TextField(max_length=100, required=False, allow_blank=True)
    organisation_name = TextField(max_length=200, required=False, allow_blank=True)
    email = TextField(max_length=254, required=False, allow_blank=True)
    phone = TextField(max_length=40, required=False, allow_blank=True)
    title = TextField(max_length=200, help_text="What the lead is interested in.")
    notes = TextField(max_length=5000, required=False, allow_blank=True)
    owner = RelatedIdField(queryset=User.objects.filter(is_active=True), required=False, allow_null=True)
    campaign_id = serializers.IntegerField(
        **CAMPAIGN_ID, help_text="The marketing campaign the lead came from (a reference, no link yet)."
    )


class LeadUpdateSerializer(LeadWriteSerializer):
    title = TextField(max_length=200, required=False)


class ReasonSerializer(StrictSerializer):
    reason = TextField(max_length=300, allow_blank=False)


class ConvertSerializer(StrictSerializer):
    customer = IdField(required=False, help_text="Attach to this existing customer.")
    create_customer = serializers.BooleanField(
        required=False, default=False, help_text="Create a new customer even if duplicates exist."
    )
    name = TextField(
        max_length=200, required=False, help_text="The opportunity's name (default: the lead's title)."
    )
    amount = serializers.DecimalField(**MONEY, required=False)
    currency = serializers.RegexField(r"^[A-Z]{3}$", max_length=3, required=False)
    expected_close_date = serializers.DateField(required=False, allow_null=True)


class OpportunityLineSerializer(serializers.ModelSerializer):
    total = serializers.DecimalField(max_digits=16, decimal_places=2, read_only=True)

    class Meta:
        model = OpportunityLine
        fields = ["id", "sku", "description", "quantity", "unit_price", "total"]
        read_only_fields = fields


class OpportunityLineInputSerializer(StrictSerializer):
    sku = TextField(max_length=64, help_text="A product SKU of the ERP catalogue.")
    description = TextField(max_length=200, required=False, allow_blank=True)
    quantity = serializers.DecimalField(max_digits=12, decimal_places=3, min_value=0)
    unit_price = serializers.DecimalField(
        **MONEY, required=False, help_text="Default: the catalogue price (when in the same currency)."
    )


class OpportunitySerializer(serializers.ModelSerializer):
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
    name = TextField(max_length=200, required=False)
    amount = serializers.DecimalField(**MONEY, required=False)
    currency = serializers.RegexField(
        r"^[A-Z]{3}$",
        max_length=3,
        required=False,
        error_messages={"invalid": "Use a 3-letter ISO currency code in capitals, e.g. EUR."},
    )
    expected_close_date = serializers.DateField(required=False, allow_null=True)
    next_step = TextField(max_length=300, required=False, allow_blank=True)
    owner = RelatedIdField(queryset=User.objects.filter(is_active=True), required=False, allow_null=True)
    lines = OpportunityLineInputSerializer(many=True, required=False, max_length=services.MAX_LINES)
    campaign_id = serializers.IntegerField(**CAMPAIGN_ID)


class OpportunityWriteSerializer(OpportunityUpdateSerializer):
    customer = IdField()
    name = TextField(max_length=200)
    pipeline = IdField(required=False, help_text="Default: the default pipeline.")
    stage = IdField(required=False, help_text="An open stage of the pipeline; default: its first.")


class MoveSerializer(StrictSerializer):
    stage = IdField()
    reason = TextField(max_length=300, required=False, allow_blank=True, help_text="Needed for a lost stage.")


class CandidateSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    display_name = serializers.CharField()
    kind = serializers.CharField()
    reasons = serializers.ListField(child=serializers.CharField())


class DuplicateProblemSerializer(ProblemSerializer):
    candidates = CandidateSerializer(
        many=True, required=False, help_text="With code duplicate_candidates: the customers to choose from."
    )


class ConvertResultSerializer(serializers.Serializer):
    lead = LeadSerializer()
    opportunity = OpportunitySerializer()


class LeadImportSerializer(StrictSerializer):
    file = serializers.FileField(
        allow_empty_file=True,
        help_text=f"A CSV file, UTF-8, at most {lead_import.MAX_FILE_BYTES // (1024 * 1024)} MB and "
        f"{lead_import.MAX_ROWS} leads; the header names the columns: {', '.join(lead_import.COLUMNS)}.",
    )
    dry_run = serializers.BooleanField(
        required=False, default=False, help_text="Check every row and report, but write nothing."
    )


class RowIssueSerializer(serializers.Serializer):
    row = serializers.IntegerField(
        allow_null=True,
        help_text="The row as a spreadsheet numbers it: 1 is the header, 2 the first lead; "
        "null for the file as a whole.",
    )
    column = serializers.CharField(help_text="The column; empty for the whole row or file.")
    message = serializers.CharField()


class LeadImportReportSerializer(serializers.Serializer):
    dry_run = serializers.BooleanField()
    rows = serializers.IntegerField(help_text="Lead rows read (blank lines are not counted).")
    valid = serializers.IntegerField(
        help_text="Rows imported, or on a dry run to be imported: every row less the skipped ones."
    )
    created = serializers.IntegerField(help_text="Leads created; 0 on a dry run.")
    skipped = serializers.IntegerField(
        help_text="Rows skipped: an open lead, or an earlier row, has the same e-mail."
    )
    skipped_rows = RowIssueSerializer(many=True)
    error_count = serializers.IntegerField(help_text="Problems found, in all; nothing is written when any.")
    row_errors = RowIssueSerializer(many=True, help_text=f"The first {MAX_ROW_ERRORS} problems.")


class LeadImportProblemSerializer(ProblemSerializer):
    """A refused import: the problem, plus the report with every row error."""

    dry_run = serializers.BooleanField(required=False)
    rows = serializers.IntegerField(required=False)
    valid = serializers.IntegerField(required=False)
    created = serializers.IntegerField(required=False)
    skipped = serializers.IntegerField(required=False)
    skipped_rows = RowIssueSerializer(many=True, required=False)
    error_count = serializers.IntegerField(required=False)
    row_errors = RowIssueSerializer(many=True, required=False)


# --- viewsets ---------------------------------------------------------------------------


def _lines_prefetch() -> Prefetch:
    return Prefetch("lines", queryset=OpportunityLine.objects.order_by("id"))


def _with_etag(response: Response, version: int) -> Response:
    response["ETag"] = etag_for(version)
    return response


CHANGE_LEAD = "sales.change_lead"


@extend_schema_view(
    retrieve=extend_schema(parameters=[ETAG]),
    create=extend_schema(request=LeadWriteSerializer, responses={201: LeadSerializer}, parameters=[ETAG]),
    update=extend_schema(request=LeadUpdateSerializer, parameters=[IF_MATCH, ETAG]),
    partial_update=extend_schema(request=LeadUpdateSerializer, parameters=[IF_MATCH, ETAG]),
)
class LeadViewSet(ServiceViewSet):
    """Leads: qualify, disqualify (with a reason) and convert into customer + opportunity."""

    serializer_class = LeadSerializer
    filter_backends = [DjangoFilterBackend, StableOrderingFilter]
    filterset_class = LeadFilter
    ordering_fields = LEAD_ORDERINGS
    action_permissions = {
        "qualify": {"POST": [CHANGE_LEAD]},
        "disqualify": {"POST": [CHANGE_LEAD]},
        "convert": {"POST": [CHANGE_LEAD, "sales.add_opportunity"]},
        "import_leads": {"POST": ["sales.add_lead"]},
    }
    lookup_arg = "lead_id"
    create_input = LeadWriteSerializer
    update_input = LeadUpdateSerializer
    create_service = staticmethod(services.lead_create)
    update_service = staticmethod(services.lead_update)

    qualify = service_action(services.lead_qualify, summary="Qualify the lead (and take it when unassigned)")
    disqualify = service_action(
        services.lead_disqualify, input=ReasonSerializer, summary="Disqualify the lead, saying why"
    )

    def get_queryset(self):
        return selectors.lead_list() if self.action == "list" else Lead.objects.select_related("owner")

    def filter_queryset(self, queryset: Any) -> Any:
        return super().filter_queryset(queryset) if self.action == "list" else queryset

    def get_object(self) -> Lead:
        lead = super().get_object()
        if self.action not in ("retrieve",) and not services.can_edit_lead(self.request.user, lead):
            raise PermissionDenied("You may only work leads you or your team own, or unassigned ones.")
        return lead

    def service_arguments(self, data: dict[str, Any]) -> dict[str, Any]:
        if self.action == "create":
            data.setdefault("source", LeadSource.API)
        return data

    @extend_schema(
        request=ConvertSerializer,
        responses={
            **_action_responses(ConvertResultSerializer),
            (409, PROBLEM_CONTENT_TYPE): DuplicateProblemSerializer,
        },
        parameters=[IF_MATCH_OPTIONAL],
        description="Give `customer` (an existing one) or `create_customer: true`. With neither, "
        "a lead that looks like existing customers answers 409 with the `candidates`; "
        "otherwise a new customer is created. The opportunity opens in the default pipeline.",
    )
    @action(detail=True, methods=["post"])
    def convert(self, request: Request, pk: str | None = None) -> Response:
        lead = self.get_object()
        version = _optional_version(request, lead.version)
        data = ConvertSerializer.validated(request.data)
        opportunity = {k: data[k] for k in ("name", "amount", "currency", "expected_close_date") if k in data}
        try:
            opp = services.lead_convert(
                actor=request.user,
                lead_id=lead.pk,
                customer=data.get("customer"),
                create_customer=data.get("create_customer", False),
                expected_version=version,
                opportunity=opportunity,
            )
        except services.DuplicateCandidates as exc:
            response = problem(exc.status_code, exc.title, exc.detail, exc.code, exc.errors)
            response.data["candidates"] = [
                {
                    "id": c.customer.pk,
                    "display_name": c.customer.display_name,
                    "kind": c.customer.kind,
                    "reasons": c.reasons,
                }
                for c in exc.candidates
            ]
            return response
        lead = Lead.objects.get(pk=lead.pk)
        opp = selectors.opportunity_get(opportunity_id=opp.pk)
        return Response({"lead": LeadSerializer(lead).data, "opportunity": OpportunitySerializer(opp).data})

    @extend_schema(
        request={"multipart/form-data": LeadImportSerializer},
        responses={
            200: OpenApiResponse(
                LeadImportReportSerializer, description="A dry run, or every row skipped: nothing written."
            ),
            201: OpenApiResponse(LeadImportReportSerializer, description="The leads were created."),
            (400, PROBLEM_CONTENT_TYPE): OpenApiResponse(
                LeadImportProblemSerializer,
                description="A row or the file is wrong: nothing written; `row_errors` says where.",
            ),
        },
        description="Create leads (source `imported`) from a CSV file: all or nothing. Every row is "
        "checked like a lead created one by one; any problem answers 400 with `row_errors` (row 1 is "
        "the header) and writes nothing. A row whose e-mail an open lead (or an earlier row) already "
        "has is skipped and listed in `skipped_rows`. Send `dry_run=true` first to preview. "
        "Columns: see the template at /sales/leads/import/template.csv and docs/sales_leads.md.",
    )
    @action(
        detail=False, methods=["post"], url_path="import", url_name="import", parser_classes=[MultiPartParser]
    )
    def import_leads(self, request: Request) -> Response:
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > lead_import.MAX_FILE_BYTES + 64 * 1024:  # refused before the upload is read
            raise PayloadTooLarge(
                f"At most {lead_import.MAX_FILE_BYTES // (1024 * 1024)} MB: split the file into smaller ones."
            )
        data = LeadImportSerializer.validated(request.data)
        try:
            report = lead_import.lead_import(actor=request.user, file=data["file"], dry_run=data["dry_run"])
        except lead_import.LeadImportRefused as exc:
            response = problem(exc.status_code, exc.title, exc.detail, exc.code, exc.errors)
            response.data.update(_import_report(exc.report))
            return response
        code = status.HTTP_201_CREATED if report.created else status.HTTP_200_OK
        return Response(_import_report(report), status=code)


def _issues(items: list[lead_import.RowIssue]) -> list[dict[str, Any]]:
    return [{"row": i.row, "column": i.column, "message": i.message} for i in items[:MAX_ROW_ERRORS]]


def _import_report(report: lead_import.LeadImportReport) -> dict[str, Any]:
    return {
        "dry_run": report.dry_run,
        "rows": report.rows,
        "valid": len(report.leads),
        "created": report.created,
        "skipped": len(report.skipped),
        "skipped_rows": _issues(report.skipped),
        "error_count": len(report.errors),
        "row_errors": _issues(report.errors),
    }


@extend_schema_view(
    retrieve=extend_schema(parameters=[ETAG]),
    create=extend_schema(
        request=OpportunityWriteSerializer, responses={201: OpportunitySerializer}, parameters=[ETAG]
    ),
    update=extend_schema(request=OpportunityUpdateSerializer, parameters=[IF_MATCH, ETAG]),
    partial_update=extend_schema(request=OpportunityUpdateSerializer, parameters=[IF_MATCH, ETAG]),
)
class OpportunityViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """Opportunities: move through the stages of their pipeline, win, lose (with a reason)."""

    serializer_class = OpportunitySerializer
    filter_backends = [DjangoFilterBackend, StableOrderingFilter]
    filterset_class = OpportunityFilter
    ordering_fields = OPPORTUNITY_ORDERINGS
    lookup_value_regex = r"[0-9]{1,18}"
    permission_classes = [ActionPermissions]
    action_permissions = {
        "move": {"POST": ["sales.change_opportunity"]},
        "win": {"POST": ["sales.change_opportunity"]},
        "lose": {"POST": ["sales.change_opportunity"]},
    }
    owner_rule_actions = frozenset({"update", "partial_update", "move", "win", "lose"})
    owner_bypass_permission = services.ANY_OPPORTUNITY

    def get_queryset(self):
        if self.action == "list":
            return selectors.opportunity_list().prefetch_related(_lines_prefetch())
        return selectors.opportunity_base().prefetch_related(_lines_prefetch())

    def filter_queryset(self, queryset: Any) -> Any:
        return super().filter_queryset(queryset) if self.action == "list" else queryset

    def _respond(self, opp: Opportunity, code: int = status.HTTP_200_OK) -> Response:
        opp = selectors.opportunity_get(opportunity_id=opp.pk)
        return _with_etag(Response(OpportunitySerializer(opp).data, status=code), opp.version)

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        opp = self.get_object()
        return _with_etag(Response(OpportunitySerializer(opp).data), opp.version)

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = OpportunityWriteSerializer.validated(request.data)
        customer = data.pop("customer")
        if "lines" in data:
            data["lines"] = [dict(line) for line in data["lines"]]
        opp = services.opportunity_create(actor=request.user, customer=customer, **data)
        response = self._respond(opp, status.HTTP_201_CREATED)
        response["Location"] = reverse("sales-opportunity-detail", args=[opp.pk])
        return response

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        opp = self.get_object()
        version = expected_version(request, current=opp.version)
        data = OpportunityUpdateSerializer.validated(request.data, partial=kwargs.pop("partial", False))
        if "lines" in data:
            data["lines"] = [dict(line) for line in data["lines"]]
        opp = services.opportunity_update(
            actor=request.user, opportunity_id=opp.pk, expected_version=version, **data
        )
        return self._respond(opp)

    @extend_schema(
        request=MoveSerializer,
        responses=_action_responses(OpportunitySerializer),
        parameters=[IF_MATCH_OPTIONAL, ETAG],
    )
    @action(detail=True, methods=["post"])
    def move(self, request: Request, pk: str | None = None) -> Response:
        opp = self.get_object()
        version = _optional_version(request, opp.version)
        data = MoveSerializer.validated(request.data)
        opp = services.opportunity_move(
            actor=request.user,
            opportunity_id=opp.pk,
            stage=data["stage"],
            reason=data.get("reason", ""),
            expected_version=version,
        )
        return self._respond(opp)

    @extend_schema(
        request=None, responses=_action_responses(OpportunitySerializer), parameters=[IF_MATCH_OPTIONAL, ETAG]
    )
    @action(detail=True, methods=["post"])
    def win(self, request: Request, pk: str | None = None) -> Response:
        opp = self.get_object()
        version = _optional_version(request, opp.version)
        StrictSerializer.validated(request.data or {})
        opp = services.opportunity_win(actor=request.user, opportunity_id=opp.pk, expected_version=version)
        return self._respond(opp)

    @extend_schema(
        request=ReasonSerializer,
        responses=_action_responses(OpportunitySerializer),
        parameters=[IF_MATCH_OPTIONAL, ETAG],
    )
    @action(detail=True, methods=["post"])
    def lose(self, request: Request, pk: str | None = None) -> Response:
        opp = self.get_object()
        version = _optional_version(request, opp.version)
        data = ReasonSerializer.validated(request.data)
        opp = services.opportunity_lose(
            actor=request.user, opportunity_id=opp.pk, reason=data["reason"], expected_version=version
        )
        return self._respond(opp)


@extend_schema_view(
    retrieve=extend_schema(parameters=[ETAG]),
    create=extend_schema(
        request=PipelineWriteSerializer, responses={201: PipelineSerializer}, parameters=[ETAG]
    ),
    update=extend_schema(request=PipelineWriteSerializer, parameters=[IF_MATCH, ETAG]),
    partial_update=extend_schema(request=PipelineWriteSerializer, parameters=[IF_MATCH, ETAG]),
)
class PipelineViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """Pipelines with their stages (ordered). Everyone in sales reads; admins write.
    An update's `stages` replaces the list: stages with an `id` are kept and changed,
    new ones are added, missing ones are removed (409 while opportunities are in them).
    Updates need If-Match; the ETag covers the stages too."""

    serializer_class = PipelineSerializer
    filter_backends: list[Any] = []
    lookup_value_regex = r"[0-9]{1,18}"
    permission_classes = [ActionPermissions]
    pagination_class = None

    def get_queryset(self):
        return selectors.pipeline_list().order_by("-is_default", "name", "id")

    def _respond(self, pipeline: Pipeline, code: int = status.HTTP_200_OK) -> Response:
        pipeline = self.get_queryset().get(pk=pipeline.pk)
        return _with_etag(Response(PipelineSerializer(pipeline).data, status=code), pipeline.version)

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        pipeline = self.get_object()
        return _with_etag(Response(PipelineSerializer(pipeline).data), pipeline.version)

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = PipelineWriteSerializer.validated(request.data)
        data["stages"] = [dict(s) for s in data["stages"]]
        pipeline = services.pipeline_create(actor=request.user, **data)
        response = self._respond(pipeline, status.HTTP_201_CREATED)
        response["Location"] = reverse("sales-pipeline-detail", args=[pipeline.pk])
        return response

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        pipeline = self.get_object()
        version = expected_version(request, current=pipeline.version)
        data = PipelineWriteSerializer.validated(request.data, partial=kwargs.pop("partial", False))
        if "stages" in data:
            data["stages"] = [dict(s) for s in data["stages"]]
        pipeline = services.pipeline_update(
            actor=request.user, pipeline_id=pipeline.pk, expected_version=version, **data
        )
        return self._respond(pipeline)
