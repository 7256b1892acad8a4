"""Lead pages: the list, a new lead, the lead page and its actions (qualify, disqualify,
convert), and the CSV import (upload, preview, confirm; the template). Thin: reads
through `sales.leads.selectors`, writes through `sales.leads` services.

The import's confirm form carries the previewed text back (a hidden field) and the
service checks every row again: nothing from the preview is trusted, and a lead created
meanwhile with the same e-mail is skipped rather than duplicated.
"""

from __future__ import annotations

import io

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from frontoffice.errors import DomainError
from sales.leads import selectors, services, services_import
from sales.leads.forms import ConvertForm, LeadForm, LeadImportConfirmForm, LeadImportForm
from sales.leads.models import LeadStatus
from sales.leads.services_import import COLUMN_HELP, COLUMNS, MAX_FILE_BYTES, LeadImportRefused
from sales.pipeline.forms import ReasonForm
from sales.request_actor import actor_of

VIEW_LEAD = "sales.view_lead"
ADD_LEAD = "sales.add_lead"
PAGE_SIZE = 25
PREVIEW_ROWS = 50
MAX_LISTED = 500


# --- leads ---------------------------------------------------------------------------------


@require_safe
@permission_required(VIEW_LEAD, raise_exception=True)
def lead_list(request: HttpRequest) -> HttpResponse:
    leads = selectors.lead_list(filters=request.GET, actor=actor_of(request)).order_by("-created_at", "-id")
    page = Paginator(leads, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "page": page,
        "status": request.GET.get("status", ""),
        "statuses": LeadStatus.choices,
        "can_create": request.user.has_perm(ADD_LEAD),
    }
    return render(request, "sales/lead_list.html", context)


@require_http_methods(["GET", "POST"])
@permission_required(ADD_LEAD, raise_exception=True)
def lead_create(request: HttpRequest) -> HttpResponse:
    form = LeadForm(request.POST if request.method == "POST" else None)
    if request.method == "POST":
        lead = (
            form.submit(lambda: services.lead_create(actor=actor_of(request), **form.cleaned_data))
            if form.is_valid()
            else None
        )
        if lead is not None:
            messages.success(request, f"Lead {lead.display_name} was created.")
            return redirect("sales:lead_detail", lead.pk)
        return render(request, "sales/lead_form.html", {"form": form}, status=400)
    return render(request, "sales/lead_form.html", {"form": form})


def _lead_page(
    request: HttpRequest, pk: int, *, reason_form: ReasonForm | None = None, status: int = 200
) -> HttpResponse:
    lead = selectors.lead_get(lead_id=pk)
    context = {
        "lead": lead,
        "reason_form": reason_form or ReasonForm(),
        "can_edit": services.can_edit_lead(request.user, lead),
        "opportunities": selectors.lead_opportunities(lead=lead),
    }
    return render(request, "sales/lead_detail.html", context, status=status)


@require_safe
@permission_required(VIEW_LEAD, raise_exception=True)
def lead_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _lead_page(request, pk)


@require_POST
@permission_required("sales.change_lead", raise_exception=True)
def lead_qualify(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        services.lead_qualify(actor=actor_of(request), lead_id=pk)
    except DomainError as exc:
        messages.error(request, exc.detail)
    else:
        messages.success(request, "Lead qualified.")
    return redirect("sales:lead_detail", pk)


@require_POST
@permission_required("sales.change_lead", raise_exception=True)
def lead_disqualify(request: HttpRequest, pk: int) -> HttpResponse:
    form = ReasonForm(request.POST)
    disqualified = (
        form.submit(
            lambda: services.lead_disqualify(
                actor=actor_of(request), lead_id=pk, reason=form.cleaned_data["reason"]
            )
        )
        if form.is_valid()
        else None
    )
    if disqualified is not None:
        messages.success(request, "Lead disqualified.")
        return redirect("sales:lead_detail", pk)
    return _lead_page(request, pk, reason_form=form, status=400)


@require_http_methods(["GET", "POST"])
@permission_required("sales.change_lead", raise_exception=True)
def lead_convert(request: HttpRequest, pk: int) -> HttpResponse:
    """Step 1 (GET) shows the duplicate candidates; step 2 (POST) converts onto the
    chosen customer or a new one. Never a silent duplicate: the choice is explicit."""
    lead = selectors.lead_get(lead_id=pk)
    if not services.can_edit_lead(request.user, lead):
        raise PermissionDenied("You may only convert leads you or your team own, or unassigned ones.")
    if lead.status == LeadStatus.CONVERTED:
        messages.error(request, "This lead was already converted.")
        return redirect("sales:lead_detail", pk)
    candidates = selectors.lead_duplicate_candidates(lead=lead)
    form = ConvertForm(request.POST if request.method == "POST" else None, candidates=candidates)
    status = 200
    if request.method == "POST":
        status = 400
        opp = (
            form.submit(
                lambda: services.lead_convert(actor=actor_of(request), lead_id=pk, **form.service_kwargs())
            )
            if form.is_valid()
            else None
        )
        if opp is not None:
            messages.success(
                request, f"Converted: {opp.name} is on the board for {opp.customer.display_name}."
            )
            return redirect("sales:opportunity_detail", opp.pk)
    context = {"lead": lead, "form": form, "candidates": candidates}
    return render(request, "sales/lead_convert.html", context, status=status)


# --- the CSV import -----------------------------------------------------------------------------


def _render(
    request: HttpRequest,
    *,
    form: LeadImportForm | None = None,
    report: services_import.LeadImportReport | None = None,
    confirm: LeadImportConfirmForm | None = None,
    filename: str = "",
    status: int = 200,
) -> HttpResponse:
    context = {
        "form": form or LeadImportForm(),
        "report": report,
        "errors": report.errors[:MAX_LISTED] if report else [],
        "skipped": report.skipped[:MAX_LISTED] if report else [],
        "preview": report.leads[:PREVIEW_ROWS] if report else [],
        "confirm": confirm,
        "filename": filename,
        "columns": [(name, COLUMN_HELP[name]) for name in COLUMNS],
        "max_listed": MAX_LISTED,
        "preview_rows": PREVIEW_ROWS,
    }
    return render(request, "sales/lead_import.html", context, status=status)


def _check(request: HttpRequest, data: bytes, filename: str, *, dry_run: bool) -> HttpResponse:
    try:
        report = services_import.lead_import(actor=actor_of(request), file=io.BytesIO(data), dry_run=dry_run)
    except LeadImportRefused as exc:
        return _render(request, report=exc.report, filename=filename, status=400)
    if not dry_run:
        text = f"Imported {report.created} lead{'s' if report.created != 1 else ''}"
        if report.skipped:
            text += f"; skipped {len(report.skipped)} with the e-mail of an open lead"
        messages.success(request, f"{text}.")
        return redirect(reverse("sales:lead_list") + "?source=imported")
    confirm = None
    if report.leads:
        text = data.decode("utf-8-sig")
        confirm = LeadImportConfirmForm(initial={"content": text, "filename": filename})
    return _render(request, report=report, confirm=confirm, filename=filename)


@require_http_methods(["GET", "POST"])
@permission_required(ADD_LEAD, raise_exception=True)
def lead_import_page(request: HttpRequest) -> HttpResponse:
    """GET: the upload form. POST with a file: the preview (a dry run). POST with the
    previewed content (`confirm`): the import, then the list of imported leads."""
    if request.method == "GET":
        return _render(request)
    if "confirm" in request.POST:
        confirm = LeadImportConfirmForm(request.POST)
        if not confirm.is_valid():
            messages.error(request, "The preview expired or was incomplete: choose the file again.")
            return redirect("sales:lead_import")
        data = confirm.cleaned_data["content"].encode("utf-8")
        return _check(request, data, confirm.cleaned_data["filename"], dry_run=False)
    form = LeadImportForm(request.POST, request.FILES)
    if not form.is_valid():
        return _render(request, form=form, status=400)
    upload = form.cleaned_data["file"]
    if upload.size > MAX_FILE_BYTES:  # not read at all
        form.add_error("file", f"The file is larger than {MAX_FILE_BYTES // (1024 * 1024)} MB: split it.")
        return _render(request, form=form, status=400)
    data = upload.read()
    return _check(request, data, upload.name[:255], dry_run=True)


@require_safe
@permission_required(ADD_LEAD, raise_exception=True)
def lead_import_template(request: HttpRequest) -> HttpResponse:
    response = HttpResponse(services_import.lead_import_template(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="leads-template.csv"'
    return response
