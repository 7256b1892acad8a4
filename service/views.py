"""Service desk pages: thin, over selectors and services. (The console: `views_console`.)"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from customers.models import Customer
from frontoffice.write_path import as_id
from service import goodwill, selectors, services
from service.forms import CaseFilterForm, CaseOpenForm, DecisionForm, GoodwillForm, NoteForm, TransitionForm
from service.models import Queue
from service.selectors_metrics import default_period, service_metrics
from service.services import TRANSITIONS

PAGE_SIZE = 25


def _page(request: HttpRequest, rows: object) -> object:
    return Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))  # type: ignore[arg-type]


@require_safe
@permission_required("service.view_case", raise_exception=True)
def case_list(request: HttpRequest) -> HttpResponse:
    filters = CaseFilterForm(request.GET)
    page = _page(request, selectors.case_list(filters=request.GET))
    return render(request, "service/case_list.html", {"page": page, "filters": filters, "title": "Cases"})


@require_safe
@permission_required("service.change_case", raise_exception=True)
def my_cases(request: HttpRequest) -> HttpResponse:
    page = _page(request, selectors.my_cases(actor=request.user))
    queues = selectors.my_queues(actor=request.user)
    return render(request, "service/my_cases.html", {"page": page, "queues": queues})


@require_safe
@permission_required("service.view_queue", raise_exception=True)
def queue_list(request: HttpRequest) -> HttpResponse:
    return render(request, "service/queue_list.html", {"queues": selectors.queue_list()})


@require_safe
@permission_required("service.view_queue", raise_exception=True)
def queue_detail(request: HttpRequest, pk: int) -> HttpResponse:
    queue = Queue.objects.filter(pk=pk).first()
    if queue is None:
        raise Http404("No such queue.")
    page = _page(request, selectors.queue_cases(queue_id=queue.pk, filters=request.GET))
    return render(request, "service/queue_detail.html", {"queue": queue, "page": page})


def _detail_context(request: HttpRequest, pk: int) -> dict[str, object]:
    case = selectors.case_detail(case_id=pk)
    if case is None:
        raise Http404("No such case.")
    allowed = TRANSITIONS.get(case.status, frozenset())
    transition = TransitionForm(initial={"version": case.version}, auto_id="status-%s")
    transition.allow_only(allowed)
    return {
        "case": case,
        "transition_form": transition,
        "note_form": NoteForm(initial={"version": case.version}, auto_id="note-%s"),
        "goodwill_form": GoodwillForm(auto_id="goodwill-%s"),
        "decision_form": DecisionForm(auto_id="decision-%s"),
        "goodwill_limit": goodwill.goodwill_limit_for(request.user),
    }


@require_safe
@permission_required("service.view_case", raise_exception=True)
def case_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return render(request, "service/case_detail.html", _detail_context(request, pk))


def _refused(request: HttpRequest, pk: int, form_name: str, form: object) -> HttpResponse:
    context = _detail_context(request, pk)
    context[form_name] = form
    status = 412 if getattr(form, "stale", False) else 400
    return render(request, "service/case_detail.html", context, status=status)


@require_POST
@permission_required("service.change_case", raise_exception=True)
def case_transition(request: HttpRequest, pk: int) -> HttpResponse:
    form = TransitionForm(request.POST, auto_id="status-%s")
    if form.is_valid():
        data = form.cleaned_data
        case = form.submit(
            lambda: services.case_transition(
                actor=request.user,
                case_id=pk,
                status=data["status"],
                resolution=data["resolution"],
                expected_version=data["version"],
            )
        )
        if case is not None:
            messages.success(request, f"{case.reference} is now {case.get_status_display().lower()}.")
            return redirect("service:case_detail", pk)
    return _refused(request, pk, "transition_form", form)


@require_POST
@permission_required("service.change_case", raise_exception=True)
def case_note(request: HttpRequest, pk: int) -> HttpResponse:
    form = NoteForm(request.POST, auto_id="note-%s")
    if form.is_valid():
        data = form.cleaned_data
        case = form.submit(
            lambda: services.case_note_add(
                actor=request.user,
                case_id=pk,
                body=data["body"],
                visibility=data["visibility"],
                expected_version=data["version"],
            )
        )
        if case is not None:
            messages.success(request, "Note added.")
            return redirect("service:case_detail", pk)
    return _refused(request, pk, "note_form", form)


@require_POST
@permission_required("service.change_case", raise_exception=True)
def case_take(request: HttpRequest, pk: int) -> HttpResponse:
    case = services.case_assign(actor=request.user, case_id=pk)
    messages.success(request, f"{case.reference} is yours.")
    return redirect("service:case_detail", pk)


@require_POST
@permission_required("service.add_goodwillcredit", raise_exception=True)
def goodwill_grant(request: HttpRequest, pk: int) -> HttpResponse:
    form = GoodwillForm(request.POST, auto_id="goodwill-%s")
    if form.is_valid():
        data = form.cleaned_data
        credit = form.submit(
            lambda: goodwill.goodwill_grant(
                actor=request.user,
                case_id=pk,
                amount=data["amount"],
                reason=data["reason"],
                invoice_number=data["invoice_number"],
            )
        )
        if credit is not None:
            if credit.status == "applied":
                messages.success(
                    request,
                    f"Credit {credit.credit_ref} of {credit.amount} {credit.currency} sent to the ERP.",
                )
            else:
                messages.info(
                    request,
                    f"{credit.amount} {credit.currency} is above your limit: a supervisor will decide.",
                )
            return redirect("service:case_detail", pk)
    return _refused(request, pk, "goodwill_form", form)


@require_POST
@permission_required("service.approve_goodwill", raise_exception=True)
def goodwill_decide(request: HttpRequest, pk: int, decision: str) -> HttpResponse:
    form = DecisionForm(request.POST, auto_id="decision-%s")
    credit_case = selectors.goodwill_list().filter(pk=pk).values_list("case_id", flat=True).first()
    if credit_case is None:
        raise Http404("No such goodwill credit.")
    if form.is_valid():
        data = form.cleaned_data
        service = goodwill.goodwill_approve if decision == "approve" else goodwill.goodwill_refuse
        credit = form.submit(
            lambda: service(
                actor=request.user, goodwill_id=pk, reason=data["reason"], expected_version=data["version"]
            )
        )
        if credit is not None:
            messages.success(request, f"Goodwill {credit.get_status_display().lower()}.")
            if request.POST.get("next") == "approvals":
                return redirect("service:goodwill_list")
            return redirect("service:case_detail", credit_case)
    return _refused(request, credit_case, "decision_form", form)


@require_safe
@permission_required("service.view_goodwillcredit", raise_exception=True)
def goodwill_list(request: HttpRequest) -> HttpResponse:
    filters = request.GET.copy()
    filters.setdefault("status", "pending")
    page = _page(request, selectors.goodwill_list(filters=filters))
    return render(
        request,
        "service/goodwill_list.html",
        {"page": page, "decision_form": DecisionForm(auto_id="decision-%s"), "status": filters["status"]},
    )


@require_safe
@permission_required("service.view_case", raise_exception=True)
def metrics(request: HttpRequest) -> HttpResponse:
    days = as_id(request.GET.get("days")) or 30
    start, end = default_period(days=min(days, 3660))
    data = service_metrics(start=start, end=end)
    return render(request, "service/metrics.html", {"metrics": data, "days": days})


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
