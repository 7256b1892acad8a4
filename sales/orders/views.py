"""Order pages: the list, the order page (lines, the ERP's status history, promised
versus actual delivery, shipments, invoices), accepting a quote and cancelling an order.
Thin: reads through `sales.orders.selectors`, writes through `sales.orders` services."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST, require_safe

from frontoffice.errors import DomainError, StaleVersion
from frontoffice.forms import FORM_TOKEN
from frontoffice.idempotency import once
from sales.orders import selectors, services
from sales.orders.choices import OrderState
from sales.orders.forms import CancelForm
from sales.quotes.forms import QuoteAcceptForm
from sales.quotes.views import render_builder
from sales.request_actor import actor_of

VIEW = "sales.view_salesorder"
STALE_MESSAGE = "Someone else changed this while you were looking; reload the page and try again."


@require_safe
@permission_required(VIEW, raise_exception=True)
def order_list(request: HttpRequest) -> HttpResponse:
    page = Paginator(selectors.order_list(filters=request.GET), 25).get_page(request.GET.get("page"))
    for order in page:
        selectors.decorate(order)
    return render(
        request,
        "sales/orders/list.html",
        {"page": page, "states": OrderState.choices, "status": request.GET.get("status", "")},
    )


def _render_order(request: HttpRequest, pk: int, *, cancel_form: CancelForm | None = None, status: int = 200):
    data = selectors.order_page(order_id=pk)
    order = data.order
    can_cancel = (
        services.can_work_on_order(request.user, order.opportunity)
        and order.cancel_requested_at is None
        and getattr(order, "erp_status", None) not in services.NOT_CANCELLABLE
    )
    context = {
        "data": data,
        "order": order,
        "can_cancel": can_cancel,
        "cancel_form": cancel_form or CancelForm(initial={"version": order.version}),
    }
    return render(request, "sales/orders/detail.html", context, status=status)


@require_safe
@permission_required(VIEW, raise_exception=True)
def order_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _render_order(request, pk)


@require_POST
@permission_required(VIEW, raise_exception=True)
def order_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    form = CancelForm(request.POST)
    if form.is_valid():
        try:
            services.order_cancel(
                actor=actor_of(request),
                order_id=pk,
                reason=form.cleaned_data["reason"],
                expected_version=form.cleaned_data["version"],
            )
        except StaleVersion:
            form.add_error(None, STALE_MESSAGE)
        except ValidationError as exc:
            form.add_error(None, " ".join(exc.messages))
        except DomainError as exc:
            form.add_error(None, exc.detail)
        else:
            messages.success(request, "Cancellation requested from the back office.")
            return redirect("sales:order_detail", pk)
    return _render_order(request, pk, cancel_form=form, status=409 if form.is_bound and form.errors else 400)


@require_POST
@permission_required(VIEW, raise_exception=True)
def quote_accept(request: HttpRequest, pk: int) -> HttpResponse:
    """Place the order. When the back office can no longer keep the quote's promised date
    (and the rep did not tick that the customer accepts the new one, or it slipped again):
    409, the builder again with the message and the checkbox for the new date."""
    form = QuoteAcceptForm(request.POST)
    if not form.is_valid():
        messages.error(request, "The form was incomplete; reload the page and try again.")
        return redirect("sales:quote_detail", pk)
    try:
        # One-time form token: a double click on Accept shows the order twice, never a conflict.
        order = once(
            user=request.user,
            token=form.form_token,
            call=lambda: services.quote_accept(actor=actor_of(request), quote_id=pk, **form.service_fields()),
        )
    except services.PromiseNotKept as exc:
        return render_builder(request, pk, accept_form=_refused(form, exc), status=409)
    except StaleVersion:
        messages.error(request, STALE_MESSAGE)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    except DomainError as exc:
        messages.error(request, exc.detail)
    else:
        messages.success(request, f"Quote accepted: order {order.order_ref} sent to the back office.")
        return redirect("sales:order_detail", order.pk)
    return redirect("sales:quote_detail", pk)


def _refused(form: QuoteAcceptForm, exc: services.PromiseNotKept) -> QuoteAcceptForm:
    """The accept form again, for the new earliest date, unticked, with why."""
    new_date = exc.earliest_on.isoformat()
    refused = QuoteAcceptForm(
        {
            "version": form.cleaned_data["version"],
            "accepted_delivery_on": new_date,
            FORM_TOKEN: form.form_token,
        },
        new_date=exc.earliest_on,
    )
    refused.is_valid()
    if exc.accepted_on is not None:
        message = (
            f"The earliest possible delivery is now {new_date}, later than the "
            f"{exc.accepted_on.isoformat()} the customer accepted: ask the customer again."
        )
    else:
        message = (
            f"The back office can no longer deliver by the promised {exc.promised_on.isoformat()}: "
            f"the earliest possible date is now {new_date}. Tick that the customer accepts the new "
            "date, or revise the quote."
        )
    refused.add_error(None, message)
    return refused
