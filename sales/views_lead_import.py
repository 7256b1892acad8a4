"""The lead import pages: upload a CSV file, see the preview (every row checked, per-row
errors, the duplicates that will be skipped), confirm; and the CSV template.

The confirm form carries the previewed text back (a hidden field) and the service checks
every row again: nothing from the preview is trusted, and a lead created meanwhile with
the same e-mail is skipped rather than duplicated.
"""

from __future__ import annotations

import io

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_safe

from frontoffice.forms import ServiceForm
from sales import lead_import
from sales.lead_import import COLUMN_HELP, COLUMNS, MAX_FILE_BYTES, MAX_ROWS, LeadImportRefused

ADD_LEAD = "sales.add_lead"
PREVIEW_ROWS = 50
MAX_LISTED = 500


class LeadImportForm(ServiceForm):
    file = forms.FileField(
        label="CSV file",
        allow_empty_file=True,  # the service explains what an empty file lacks
        help_text=f"UTF-8, at most {MAX_FILE_BYTES // (1024 * 1024)} MB and {MAX_ROWS} leads.",
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv"}),
        error_messages={"required": "Choose a CSV file to import."},
    )


class LeadImportConfirmForm(forms.Form):
    content = forms.CharField(widget=forms.HiddenInput, strip=False, max_length=MAX_FILE_BYTES)
    filename = forms.CharField(widget=forms.HiddenInput, required=False, max_length=255)


def _render(
    request: HttpRequest,
    *,
    form: LeadImportForm | None = None,
    report: lead_import.LeadImportReport | None = None,
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
        report = lead_import.lead_import(actor=request.user, file=io.BytesIO(data), dry_run=dry_run)
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
    response = HttpResponse(lead_import.lead_import_template(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="leads-template.csv"'
    return response
