"""Pages of the outbound room: templates (editor with a live preview for a real
customer) and the message log with each message's delivery log."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_safe

from customers.models import Customer
from customers.outbound import selectors, services
from customers.outbound.forms import MessageFilterForm, MessageTemplateForm, PreviewForm
from customers.outbound.models import MessageTemplate

PAGE_SIZE = 25


@require_safe
@permission_required("customers.view_messagetemplate", raise_exception=True)
def template_list(request: HttpRequest) -> HttpResponse:
    return render(request, "customers/outbound/template_list.html", {"templates": selectors.template_list()})


@require_http_methods(["GET", "POST"])
@permission_required("customers.view_messagetemplate", raise_exception=True)
def template_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    template = get_object_or_404(MessageTemplate, pk=pk) if pk is not None else None
    needed = "customers.change_messagetemplate" if template else "customers.add_messagetemplate"
    can_write = request.user.has_perm(needed)
    if request.method == "POST":
        if not can_write:
            raise PermissionDenied("You may not write message templates.")
        form = MessageTemplateForm(request.POST)
        if form.is_valid():
            fields = form.service_fields()
            saved = form.submit(
                lambda: (
                    services.message_template_update(
                        actor=request.user,
                        template_id=template.pk,
                        expected_version=form.cleaned_data.get("version"),
                        **fields,
                    )
                    if template is not None
                    else services.message_template_create(actor=request.user, **fields)
                )
            )
            if saved is not None:
                messages.success(request, f"Template {saved.name} saved.")
                return redirect("customers:outbound-template", saved.pk)
        status = 412 if form.stale else 400
    else:
        form = MessageTemplateForm.for_template(template) if template else MessageTemplateForm()
        status = 200
    context = {"form": form, "template": template, "can_write": can_write, "sample": _sample_customer()}
    return render(request, "customers/outbound/template_form.html", context, status=status)


def _sample_customer() -> Customer | None:
    return Customer.objects.filter(merged_into__isnull=True).order_by("-created_at", "-id").first()


@require_safe
@permission_required("customers.view_messagetemplate", raise_exception=True)
def template_preview(request: HttpRequest) -> HttpResponse:
    """HTMX: the subject and body being edited, rendered for a real customer (a GET: it
    writes nothing)."""
    form = PreviewForm(request.GET)
    result = None
    error = ""
    if form.is_valid():
        customer = form.cleaned_data["preview_customer"] or _sample_customer()
        if customer is None:
            error = "There is no customer to preview for yet."
        else:
            try:
                result = services.preview(
                    customer=customer, subject=form.cleaned_data["subject"], body=form.cleaned_data["body"]
                )
            except ValidationError as exc:
                error = " ".join(exc.messages)
    else:
        error = "Give a customer id."
    return render(request, "customers/outbound/_preview.html", {"preview": result, "error": error})


@require_safe
@permission_required("customers.view_outboundmessage", raise_exception=True)
def message_list(request: HttpRequest) -> HttpResponse:
    filters = MessageFilterForm(request.GET)
    page = Paginator(selectors.message_list(reader=request.user, filters=request.GET), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(request, "customers/outbound/message_list.html", {"page": page, "filters": filters})


@require_safe
@permission_required("customers.view_outboundmessage", raise_exception=True)
def message_detail(request: HttpRequest, pk: int) -> HttpResponse:
    message = selectors.message_get(reader=request.user, message_id=pk)
    return render(request, "customers/outbound/message_detail.html", {"message": message})
