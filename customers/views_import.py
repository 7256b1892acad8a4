"""The customer CSV import pages: upload (a dry run, kept as a job), the preview with its
problems and skipped rows, confirm (the import), and a job's progress, polled by HTMX
while a worker runs it. Thin: the rules are `customers.services_import`'s."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from customers.import_rows import COLUMN_HELP, COLUMNS, MAX_FILE_BYTES, MAX_ROWS
from customers.selectors_import import customer_import_get, customer_import_list
from customers.services_import import customer_import_template
from customers.services_import_jobs import customer_import_confirm, customer_import_submit, import_progress
from frontoffice.csv_upload import csv_file_field
from frontoffice.errors import DomainError
from frontoffice.forms import ServiceForm

IMPORT = "customers.import_customers"
RECENT = 10


class CustomerImportForm(ServiceForm):
    file = csv_file_field(max_bytes=MAX_FILE_BYTES, max_rows=MAX_ROWS, noun="customers")


def _columns() -> list[tuple[str, str]]:
    return [(name, COLUMN_HELP[name]) for name in COLUMNS]


@require_http_methods(["GET", "POST"])
@permission_required(IMPORT, raise_exception=True)
def import_page(request: HttpRequest) -> HttpResponse:
    """GET: the upload form and your recent imports. POST a file: its preview (a dry run,
    kept as a job), then the job's page."""
    form = CustomerImportForm()
    status = 200
    if request.method == "POST":
        form = CustomerImportForm(request.POST, request.FILES)
        if form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                job = customer_import_submit(
                    actor=request.user,
                    file=upload,
                    filename=(upload.name or "import.csv")[:255],
                    dry_run=True,
                )
            except DomainError as exc:
                form.add_error("file", str(exc.detail))
            else:
                return redirect("customers:import-job", pk=job.pk)
        status = 400
    recent = customer_import_list(actor=request.user)[:RECENT]
    context = {"form": form, "columns": _columns(), "recent": recent}
    return render(request, "customers/import.html", context, status=status)


@require_safe
@permission_required(IMPORT, raise_exception=True)
def import_job(request: HttpRequest, pk: int) -> HttpResponse:
    """A job: its progress (HTMX polls the status part while it runs), then its preview,
    problems or result."""
    job = customer_import_get(actor=request.user, import_id=pk)
    report = job.report or {}
    context = {
        "job": job,
        "report": report,
        "progress": import_progress(job.pk) if not job.is_over else None,
        "columns": _columns(),
        "form": CustomerImportForm(),
    }
    if request.headers.get("HX-Request") == "true":
        if not job.is_over:
            return render(request, "customers/_import_status.html", context)
        # Over: the whole page (its preview, confirm button or problems), not the poller.
        response = HttpResponse(status=204)
        response["HX-Refresh"] = "true"
        return response
    return render(request, "customers/import_job.html", context)


@require_POST
@permission_required(IMPORT, raise_exception=True)
def import_confirm(request: HttpRequest, pk: int) -> HttpResponse:
    """Import for real the file a finished preview checked."""
    try:
        job = customer_import_confirm(actor=request.user, import_id=pk)
    except DomainError as exc:
        messages.error(request, str(exc.detail))
        return redirect("customers:import")
    return redirect("customers:import-job", pk=job.pk)


@require_safe
@permission_required(IMPORT, raise_exception=True)
def import_template(request: HttpRequest) -> HttpResponse:
    response = HttpResponse(customer_import_template(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="customers-template.csv"'
    return response
