"""The agent console: one page an agent lives in. Find the caller as you type (phone in
any format, e-mail, name), see their 360 and their orders line by line beside it, and log
the call (creating or attaching a case, resolving it on first contact) in one submit.

Keyboard-first: the search box has focus on load (Alt+K goes back to it), results are
links in tab order, Alt+L jumps to the call form, and Enter in the form logs the call.
Without JavaScript the search is a plain GET form; with htmx results update as you type.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_safe

from customers.models import Customer
from frontoffice.write_path import as_id
from service import calls, selectors
from service.choices import OPEN_STATUSES
from service.forms import CallLogForm
from service.models import Case
from service.selectors_console import console_lookup, console_summary, order_tracking


def _open_cases(customer: Customer) -> list[tuple[int, str]]:
    return [
        (pk, f"C-{pk:06d} {subject}")
        for pk, subject in Case.objects.filter(customer=customer, status__in=OPEN_STATUSES)
        .order_by("-created_at", "-id")
        .values_list("pk", "subject")[:10]
    ]


def _console(request: HttpRequest, *, form: CallLogForm | None = None, status: int = 200) -> HttpResponse:
    q = request.GET.get("q", "").strip()
    customer_id = as_id(request.GET.get("customer") or request.POST.get("customer"))
    customer = (
        Customer.objects.filter(pk=customer_id, merged_into__isnull=True).first() if customer_id else None
    )
    context: dict[str, object] = {
        "q": q,
        "results": console_lookup(q=q) if q else [],
        "customer": customer,
        "notifications": selectors.unread_notifications(actor=request.user),
    }
    if customer is not None:
        context["summary"] = console_summary(customer=customer, actor=request.user)
        context["orders"] = order_tracking(customer_id=customer.pk)
        context["call_form"] = form or CallLogForm(
            initial={"customer": customer.pk}, open_cases=_open_cases(customer)
        )
    return render(request, "service/console.html", context, status=status)


@require_http_methods(["GET", "HEAD", "POST"])
@permission_required("service.add_call", raise_exception=True)
def console(request: HttpRequest) -> HttpResponse:
    """The console; a POST logs a call (the form's one submit)."""
    if request.method == "POST":
        return _log_call(request)
    return _console(request)


@require_safe
@permission_required("service.add_call", raise_exception=True)
def console_lookup_results(request: HttpRequest) -> HttpResponse:
    """The results list alone (htmx swaps it in as the agent types)."""
    q = request.GET.get("q", "").strip()
    return render(request, "service/_console_results.html", {"q": q, "results": console_lookup(q=q)})


def _log_call(request: HttpRequest) -> HttpResponse:
    customer = Customer.objects.filter(pk=as_id(request.POST.get("customer")) or 0).first()
    open_cases = _open_cases(customer) if customer else []
    form = CallLogForm(request.POST, open_cases=open_cases)
    if form.is_valid():
        call = form.submit(lambda: calls.call_log(actor=request.user, **form.service_fields()))
        if call is not None:
            case = call.case
            if case is not None:
                state = (
                    "resolved on first contact"
                    if case.first_contact_resolved
                    else case.get_status_display().lower()
                )
                messages.success(request, f"Call logged on {case.reference} ({state}).")
                return redirect(reverse("service:case_detail", args=[case.pk]))
            messages.success(request, "Call logged.")
            return redirect(f"{reverse('service:console')}?customer={call.customer_id}")
    return _console(request, form=form, status=400)
