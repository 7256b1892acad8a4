"""The customer CSV import over REST: POST a file (a job; small files answered at once),
GET a job to follow it, GET the template. The rules are `customers.services_import`'s."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import HttpResponse
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from customers.choices import ImportStatus
from customers.import_rows import COLUMNS, MAX_FILE_BYTES, MAX_ROWS
from customers.models import CustomerImport
from customers.selectors_import import customer_import_get, customer_import_list
from customers.services_import import customer_import_template
from customers.services_import_jobs import INLINE_MAX_BYTES, customer_import_submit, import_progress
from frontoffice.csv_upload import CsvUploadSerializer, RowIssueSerializer
from frontoffice.errors import PROBLEM_CONTENT_TYPE, problem
from frontoffice.serializers import ProblemSerializer
from frontoffice.viewsets import ServiceViewSet

IMPORT_PERMISSIONS = ["customers.add_customer", "customers.import_customers"]


class CustomerImportInput(CsvUploadSerializer):
    """A CSV file of customers to import (or with `dry_run`, to check)."""

    max_bytes = MAX_FILE_BYTES
    max_rows = MAX_ROWS
    noun = "customers"
    columns = COLUMNS


class ImportReportSerializer(serializers.Serializer[Any]):
    dry_run = serializers.BooleanField(required=False)
    rows = serializers.IntegerField(
        required=False, help_text="Customer rows read (blank lines are not counted)."
    )
    valid = serializers.IntegerField(
        required=False,
        help_text="Rows created, or on a dry run to be created: every row less the skipped ones.",
    )
    created = serializers.IntegerField(required=False, help_text="Customers created; 0 on a dry run.")
    skipped = serializers.IntegerField(
        required=False,
        help_text="Rows skipped: a customer, or an earlier row, has the same e-mail, phone or ERP number.",
    )
    skipped_rows = RowIssueSerializer(many=True, required=False, help_text="The first 500 skipped rows.")
    error_count = serializers.IntegerField(required=False, help_text="Problems found, in all.")
    row_errors = RowIssueSerializer(many=True, required=False, help_text="The first 500 problems.")
    preview = serializers.ListField(
        child=serializers.DictField(), required=False, help_text="The first 20 rows to be created."
    )


class CustomerImportSerializer(serializers.ModelSerializer[CustomerImport]):
    report = ImportReportSerializer(read_only=True)
    progress = serializers.SerializerMethodField(help_text="While running: the phase and the rows so far.")

    class Meta:
        model = CustomerImport
        fields = [
            "id",
            "filename",
            "size",
            "dry_run",
            "status",
            "rows",
            "created_count",
            "skipped_count",
            "error_count",
            "report",
            "progress",
            "created_at",
            "started_at",
            "finished_at",
        ]
        read_only_fields = fields

    def get_progress(self, job: CustomerImport) -> dict[str, Any] | None:
        return import_progress(job.pk) if job.status == ImportStatus.RUNNING else None


class CustomerImportProblemSerializer(ProblemSerializer):
    """A refused import: the problem, plus the job with its report."""

    job = CustomerImportSerializer(required=False)


@extend_schema_view(
    list=extend_schema(description="Your customer imports, newest first."),
    retrieve=extend_schema(description="One of your imports: its state, counts and report."),
)
class CustomerImportViewSet(ServiceViewSet[CustomerImport]):
    """Customer imports from CSV files: all or nothing, matches skipped (docs/customers_import.md)."""

    serializer_class = CustomerImportSerializer
    parser_classes = [MultiPartParser]  # the one write is a file upload
    versioned = False
    create_input = CustomerImportInput
    create_service = staticmethod(customer_import_submit)
    action_permissions = {
        "list": {"GET": IMPORT_PERMISSIONS},
        "retrieve": {"GET": IMPORT_PERMISSIONS},
        "create": {"POST": IMPORT_PERMISSIONS},
        "template": {"GET": IMPORT_PERMISSIONS},
    }

    def get_queryset(self) -> QuerySet[CustomerImport]:
        return customer_import_list(actor=self.request.user)

    def get_object(self) -> CustomerImport:
        job = customer_import_get(actor=self.request.user, import_id=self.kwargs[self.lookup_field])
        self.check_object_permissions(self.request, job)
        return job

    @extend_schema(
        request={"multipart/form-data": CustomerImportInput},
        responses={
            200: OpenApiResponse(
                CustomerImportSerializer,
                description="A small file's dry run, or every row skipped: nothing written.",
            ),
            201: OpenApiResponse(
                CustomerImportSerializer, description="A small file: the customers were created."
            ),
            202: OpenApiResponse(
                CustomerImportSerializer,
                description=f"A file over {INLINE_MAX_BYTES // 1024} KB: queued for a worker; GET the job "
                "(Location) until its status is done, refused or failed.",
            ),
            (400, PROBLEM_CONTENT_TYPE): OpenApiResponse(
                CustomerImportProblemSerializer,
                description="A small file with a wrong row (or a wrong file): nothing written; "
                "`job.report.row_errors` says where.",
            ),
        },
        description="Import customers from a CSV file: all or nothing. Every row is checked like a customer "
        "created one by one; any problem refuses the whole file (row 1 is the header). A row whose e-mail, "
        "phone or ERP customer number a customer (or an earlier row) already has is skipped and listed. "
        "Send `dry_run=true` first to preview. Columns: GET template/ and docs/customers_import.md.",
    )
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = CustomerImportInput.validated_upload(request)  # 413 before a too large upload is read
        upload = data["file"]
        job = customer_import_submit(
            actor=request.user, file=upload, filename=upload.name or "import.csv", dry_run=data["dry_run"]
        )
        body = CustomerImportSerializer(job).data
        if job.status == ImportStatus.REFUSED:
            first = (job.report.get("row_errors") or [{}])[0]
            detail = (
                f"{job.error_count} problems in the file; nothing was imported."
                if job.error_count > 1
                else f"{first.get('message', 'The file cannot be imported.')} Nothing was imported."
            )
            response = problem(
                400, "The file cannot be imported.", detail, "import_invalid", {"file": [detail]}
            )
            response.data["job"] = body
            return response
        code: int
        if job.status in (ImportStatus.QUEUED, ImportStatus.RUNNING):
            code = status.HTTP_202_ACCEPTED
        else:
            code = status.HTTP_201_CREATED if job.created_count else status.HTTP_200_OK
        response = Response(body, status=code)
        if code == status.HTTP_202_ACCEPTED:
            response["Location"] = reverse(f"{self.basename}-detail", args=[job.pk])
        return response

    @extend_schema(
        responses={(200, "text/csv"): OpenApiResponse(OpenApiTypes.STR, description="The header row.")},
        description="The CSV template: the header row, with the columns in their order.",
    )
    @action(detail=False, methods=["get"], url_path="template", url_name="template")
    def template(self, request: Request) -> HttpResponse:
        response = HttpResponse(customer_import_template(), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="customers-template.csv"'
        return response
