"""Service desk pages: thin, over selectors and services."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_safe

from customers.models import Customer
from frontoffice.write_path import as_id
from service import selectors, services
from service.forms import CaseFilterForm, CaseOpenForm

PAGE_SIZE = 25


@require_safe
@permission_required("service.view_case", raise_exception=True)
def case_list(request: HttpRequest) -> HttpResponse:
    filters = CaseFilterForm(request.GET)
    page = Paginator(selectors.case_list(filters=request.GET), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "service/case_list.html", {"page": page, "filters": filters})


@require_safe
@permission_required("service.view_case", raise_exception=True)
def case_detail(request: HttpRequest, pk: int) -> HttpResponse:
    case = selectors.case_base().filter(pk=pk).first()
    if case is None:
        raise Http404("No such case.")
    return render(request, "service/case_detail.html", {"case": case})


@require_http_methods(["GET", "POST"])
@permission_required("service.add_case", raise_exception=True)
def case_open(request: HttpRequest) -> HttpResponse:
    raw = request.POST.get("customer") if request.method == "POST" else request.GET.get("customer")
    customer_id = as_id(raw)
    customer = Customer.objects.filter(pk=customer_id).first() if customer_id else None
    if customer is None:
        raise Http404("Open a case from a customer's page.")
    form = CaseOpenForm(request.POST if request.method == "POST" else None, initial={"customer": customer.pk})
    if request.method == "POST" and form.is_valid():
        case = form.submit(
            lambda: services.case_open(actor=request.user, **form.service_fields()), once_for=request.user
        )
        if case is not None:
            messages.success(request, f"Case {case.reference} opened.")
            return redirect("service:case_detail", case.pk)
    status = 400 if form.is_bound else 200
    return render(request, "service/case_open.html", {"form": form, "customer": customer}, status=status)
