"""REST API for leads: thin over `sales.leads` services and selectors. Updates need
If-Match (428 without, 412 when stale); the actions (qualify, disqualify, convert) check
If-Match when it is sent. Input serializers check types and shape; the services own
every rule about the values (and report every problem at once)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from customers.choices import ConsentChannel, ConsentPurpose
from frontoffice.csv_import import RowIssue
from frontoffice.csv_upload import CsvUploadSerializer, RowIssueSerializer
from frontoffice.errors import PROBLEM_CONTENT_TYPE, problem
from frontoffice.filters import StableOrderingFilter
from frontoffice.models import User
from frontoffice.schema import ETAG, IF_MATCH, IF_MATCH_OPTIONAL, Variant, variants_of
from frontoffice.serializers import (
    ChoiceTextField,
    CurrencyTextField,
    DateField,
    EmailTextField,
    IdField,
    PhoneTextField,
    ProblemSerializer,
    RelatedIdField,
    StrictSerializer,
    TextField,
)
from frontoffice.viewsets import STALE, service_action, version_from
from sales.leads import selectors, services, services_import
from sales.leads.filters import LEAD_ORDERINGS, LeadFilter
from sales.leads.models import Lead, LeadSource
from sales.pipeline.api import OpportunitySerializer, ReasonSerializer
from sales.pipeline.selectors import opportunity_get
from sales.request_actor import actor_of
from sales.viewsets import SalesViewSet

MAX_ROW_ERRORS = 500  # problems listed in an import's answer; `error_count` gives them all
CHANGE_LEAD = "sales.change_lead"


# --- serializers -----------------------------------------------------------------------


class CapturedConsentSerializer(serializers.Serializer[Any]):
    channel = serializers.ChoiceField(choices=ConsentChannel.choices)
    purpose = serializers.ChoiceField(choices=ConsentPurpose.choices)
    granted = serializers.BooleanField()


class LeadSerializer(serializers.ModelSerializer[Lead]):
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
    source = ChoiceTextField(  # type: ignore[assignment]  # a field named like DRF's Field.source
        choices=LeadSource.choices, required=False, help_text="Default: api."
    )
    first_name = TextField(required=False, allow_blank=True, help_text="At most 100 characters.")
    last_name = TextField(required=False, allow_blank=True, help_text="At most 100 characters.")
    organisation_name = TextField(required=False, allow_blank=True, help_text="At most 200 characters.")
    email = EmailTextField(required=False, allow_blank=True)
    phone = PhoneTextField(required=False, allow_blank=True)
    title = TextField(allow_blank=True, help_text="What the lead is interested in (at most 200 characters).")
    notes = TextField(required=False, allow_blank=True, help_text="At most 5000 characters.")
    owner = RelatedIdField(queryset=User.objects.filter(is_active=True), required=False, allow_null=True)
    campaign_id = serializers.IntegerField(
        required=False,
        allow_null=True,
        help_text="The marketing campaign the lead came from (a reference, no link yet).",
    )


# A lead names a person or an organisation (or both).
LEAD_WRITE = variants_of(
    LeadWriteSerializer,
    name="LeadWrite",
    variants={
        "person": Variant(required=("last_name",)),
        "organisation": Variant(required=("organisation_name",)),
    },
)


class LeadUpdateSerializer(LeadWriteSerializer):
    title = TextField(required=False, allow_blank=True, help_text="What the lead is interested in.")


class ConvertSerializer(StrictSerializer):
    customer = IdField(required=False, help_text="Attach to this existing customer.")
    create_customer = serializers.BooleanField(
        required=False, default=False, help_text="Create a new customer even if duplicates exist."
    )
    name = TextField(required=False, help_text="The opportunity's name (default: the lead's title).")
    amount = serializers.DecimalField(max_digits=None, decimal_places=None, required=False)
    currency = CurrencyTextField(required=False)
    expected_close_date = DateField(required=False, allow_null=True)


class CandidateSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    display_name = serializers.CharField()
    kind = serializers.CharField()
    reasons = serializers.ListField(child=serializers.CharField())


class DuplicateProblemSerializer(ProblemSerializer):
    candidates = CandidateSerializer(
        many=True, required=False, help_text="With code duplicate_candidates: the customers to choose from."
    )


class ConvertResultSerializer(serializers.Serializer[Any]):
    lead = LeadSerializer()
    opportunity = OpportunitySerializer()


class LeadImportSerializer(CsvUploadSerializer):
    """A CSV file of leads to import (or with `dry_run`, to check)."""

    max_bytes = services_import.MAX_FILE_BYTES
    max_rows = services_import.MAX_ROWS
    noun = "leads"
    columns = services_import.COLUMNS


class LeadImportReportSerializer(serializers.Serializer[Any]):
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


def _issues(items: list[RowIssue]) -> list[dict[str, Any]]:
    return [{"row": i.row, "column": i.column, "message": i.message} for i in items[:MAX_ROW_ERRORS]]


def _import_report(report: services_import.LeadImportReport) -> dict[str, Any]:
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


# --- the viewset -----------------------------------------------------------------------------


@extend_schema_view(
    retrieve=extend_schema(parameters=[ETAG]),
    create=extend_schema(request=LEAD_WRITE, responses={201: LeadSerializer}, parameters=[ETAG]),
    update=extend_schema(request=LeadUpdateSerializer, parameters=[IF_MATCH, ETAG]),
    partial_update=extend_schema(request=LeadUpdateSerializer, parameters=[IF_MATCH, ETAG]),
)
class LeadViewSet(SalesViewSet):
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

    def get_queryset(self) -> QuerySet[Lead]:
        return selectors.lead_list() if self.action == "list" else Lead.objects.select_related("owner")

    def filter_queryset(self, queryset: QuerySet[Any]) -> QuerySet[Any]:
        return super().filter_queryset(queryset) if self.action == "list" else queryset

    def get_object(self) -> Lead:
        lead: Lead = super().get_object()
        if self.action not in ("retrieve",) and not services.can_edit_lead(self.request.user, lead):
            raise PermissionDenied(services.NOT_YOURS)
        return lead

    def service_arguments(self, data: dict[str, Any]) -> dict[str, Any]:
        if self.action == "create":
            data.setdefault("source", LeadSource.API)
        return data

    @extend_schema(
        request=ConvertSerializer,
        responses={
            200: ConvertResultSerializer,
            (412, PROBLEM_CONTENT_TYPE): STALE,
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
        version = version_from(request, lead.version, required=False)
        data = ConvertSerializer.validated(request.data)
        draft = {k: data[k] for k in ("name", "amount", "currency", "expected_close_date") if k in data}
        try:
            opp = services.lead_convert(
                actor=actor_of(request),
                lead_id=lead.pk,
                customer=data.get("customer"),
                create_customer=data.get("create_customer", False),
                expected_version=version,
                opportunity=draft,  # type: ignore[arg-type]
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
        opp = opportunity_get(opportunity_id=opp.pk)
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
        data = LeadImportSerializer.validated_upload(request)  # 413 before a too large upload is read
        try:
            report = services_import.lead_import(
                actor=actor_of(request), file=data["file"], dry_run=data["dry_run"]
            )
        except services_import.LeadImportRefused as exc:
            response = problem(exc.status_code, exc.title, exc.detail, exc.code, exc.errors)
            response.data.update(_import_report(exc.report))
            return response
        code = status.HTTP_201_CREATED if report.created else status.HTTP_200_OK
        return Response(_import_report(report), status=code)
