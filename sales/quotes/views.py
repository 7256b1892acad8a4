"""Quote pages: list, create, the builder (lines with ATP dates, totals, flags), the
actions (submit for approval, approve, send, revise), the print view and the PDF.
Thin: reads through `sales.quotes.selectors`, writes through `sales.quotes` services.

The page shows the sent quote's e-mail as it is: queued and sending until the worker has
handed it to the mail server, then e-mailed or failed (with why)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from frontoffice.errors import DomainError, StaleVersion
from frontoffice.write_path import as_id
from sales.orders.selectors import order_id_for_quote
from sales.orders.services import can_work_on_order as can_accept_quote
from sales.quotes import selectors, services
from sales.quotes.documents import quote_document_context, quote_pdf
from sales.quotes.forms import (
    QuoteAcceptForm,
    QuoteActionForm,
    QuoteAddLineForm,
    QuoteEditForm,
    QuoteSendForm,
    QuoteStartForm,
)
from sales.quotes.models import REVISABLE_STATUSES, QuoteStatus
from sales.quotes.services import can_work_on
from sales.request_actor import actor_of

VIEW = "sales.view_quote"
STALE_MESSAGE = (
    "Someone else changed this quote while you were editing; reload the page to see their "
    "changes, then apply yours again."
)


@require_safe
@permission_required(VIEW, raise_exception=True)
def quote_list(request: HttpRequest) -> HttpResponse:
    page = Paginator(selectors.quote_list(filters=request.GET), 25).get_page(request.GET.get("page"))
    return render(request, "sales/quotes/list.html", {"page": page})


@require_http_methods(["GET", "POST"])
@permission_required("sales.add_quote", raise_exception=True)
def quote_create(request: HttpRequest) -> HttpResponse:
    raw = request.POST.get("opportunity") if request.method == "POST" else request.GET.get("opportunity")
    opportunity_id = as_id(raw)
    if opportunity_id is None:
        raise Http404("Choose an opportunity to quote for.")
    opportunity = selectors.opportunity_for_quote(opportunity_id=opportunity_id)
    if not can_work_on(request.user, opportunity):
        raise PermissionDenied("You may only quote for opportunities you or your team own.")
    price_list, offered = selectors.quote_start_recommendations(opportunity=opportunity)
    form = QuoteStartForm(
        request.POST if request.method == "POST" else None,
        initial={"opportunity": opportunity_id},
        offered=offered,
    )
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            data = form.service_fields()
            try:
                quote = services.quote_create(
                    actor=actor_of(request), opportunity_id=data.pop("opportunity"), **data
                )
            except ValidationError as exc:
                form.apply_errors(exc)
            except DomainError as exc:
                form.add_error(None, exc.detail)
            else:
                messages.success(request, f"Quote {quote.reference} drafted: add its lines.")
                return redirect("sales:quote_detail", quote.pk)
    context = {"form": form, "opportunity": opportunity, "price_list": price_list, "recommendations": offered}
    return render(request, "sales/quotes/create.html", context, status=status)


def render_builder(
    request: HttpRequest,
    pk: int,
    *,
    form: QuoteEditForm | None = None,
    send_form: QuoteSendForm | None = None,
    accept_form: QuoteAcceptForm | None = None,
    status: int = 200,
    stale: bool = False,
    added: str = "",
    add_error: str = "",
) -> HttpResponse:
    data = selectors.quote_builder(quote_id=pk)
    quote = data.quote
    editable = can_work_on(request.user, quote)
    # The expiry sweep runs hourly: until it has, a sent quote past its date is expired too.
    past_validity = quote.valid_until < timezone.localdate()
    if form is None and editable and quote.is_editable:
        form = QuoteEditForm.for_quote(quote, data.lines)
    if accept_form is None:
        # The lines' ATP is live: a sent quote whose promise the back office can no longer
        # keep shows the new date and asks whether the customer accepts it before the click.
        live, promised = data.delivery.promised_on, quote.promised_delivery_on
        slipped = quote.status == QuoteStatus.SENT and live and promised and live > promised
        accept_form = QuoteAcceptForm(initial={"version": quote.version}, new_date=live if slipped else None)
    context = {
        "data": data,
        "quote": quote,
        "delivery": data.delivery,
        "can_edit": editable,
        "can_approve": services.may_approve(request.user, quote),
        "approves_elsewhere": request.user.has_perm(services.APPROVE)
        and services.set_the_discounts(request.user, quote),
        "form": form if editable and quote.is_editable else None,
        "send_form": send_form or QuoteSendForm(initial={"version": quote.version}, prefix="send"),
        "accept_form": accept_form,
        "stale": stale,
        "can_revise": quote.status in REVISABLE_STATUSES,
        "can_send": quote.status in (QuoteStatus.DRAFT, QuoteStatus.APPROVED),
        "past_validity": past_validity,
        "can_accept": quote.status == QuoteStatus.SENT
        and not past_validity
        and can_accept_quote(request.user, quote),
        "order_id": order_id_for_quote(quote_id=quote.pk) if quote.status == QuoteStatus.ACCEPTED else None,
        "recommendations": data.recommendations,
        "can_add": editable and quote.is_editable,
        "added": added,
        "add_error": add_error,
    }
    return _vary_on_htmx(render(request, "sales/quotes/builder.html", context, status=status))


def _vary_on_htmx(response: HttpResponse) -> HttpResponse:
    # The add-line answer is the same page for HTMX (which swaps a part) and without.
    patch_vary_headers(response, ("HX-Request",))
    return response


@require_POST
@permission_required(VIEW, raise_exception=True)
def quote_add_line(request: HttpRequest, pk: int) -> HttpResponse:
    """The builder's "Add" on a recommended product. Without JavaScript: back to the
    builder with a message. With HTMX: the builder again, which the page swaps in place
    (its forms then carry the new version)."""
    quote = selectors.quote_get(quote_id=pk)
    if not can_work_on(request.user, quote):
        raise PermissionDenied("You may only work on quotes of opportunities you or your team own.")
    form = QuoteAddLineForm(request.POST)
    added = error = ""
    if not form.is_valid():
        error = "The form was incomplete; reload the page and try again."
    else:
        sku = form.cleaned_data["sku"]
        try:
            services.quote_add_line(
                actor=actor_of(request),
                quote_id=pk,
                expected_version=form.cleaned_data["version"],
                sku=sku,
                quantity=form.cleaned_data["quantity"] or 1,
            )
        except StaleVersion:
            error = STALE_MESSAGE
        except ValidationError as exc:
            error = " ".join(exc.messages)
        except DomainError as exc:
            error = exc.detail
        else:
            added = f"Added {sku} to the quote."
    htmx = getattr(request, "htmx", None)
    if htmx and not htmx.history_restore_request:
        # 200 either way: HTMX swaps only successful answers, and the error is shown in place.
        return render_builder(request, pk, added=added, add_error=error)
    if error:
        messages.error(request, error)
    else:
        messages.success(request, added)
    return redirect("sales:quote_detail", pk)


@require_http_methods(["GET", "POST"])
@permission_required(VIEW, raise_exception=True)
def quote_detail(request: HttpRequest, pk: int) -> HttpResponse:
    if request.method == "GET":
        return render_builder(request, pk)
    quote = selectors.quote_get(quote_id=pk)
    if not can_work_on(request.user, quote):
        raise PermissionDenied("You may only work on quotes of opportunities you or your team own.")
    if not quote.is_editable:
        messages.error(request, "This quote was sent and cannot change: revise it to make a new revision.")
        return redirect("sales:quote_detail", pk)
    lines = list(quote.lines.all())
    form = QuoteEditForm.for_quote(quote, lines, request.POST)
    stale = False
    if form.is_valid():
        try:
            fields = form.service_fields()
            services.quote_update(
                actor=actor_of(request), quote_id=pk, expected_version=form.cleaned_data["version"], **fields
            )
        except StaleVersion:
            form.add_error(None, STALE_MESSAGE)
            stale = True
        except ValidationError as exc:
            form.apply_errors(exc)
        except DomainError as exc:
            form.add_error(None, exc.detail)
            form.apply_errors(exc.errors)
        else:
            messages.success(request, "Quote saved.")
            return redirect("sales:quote_detail", pk)
    return render_builder(request, pk, form=form, status=412 if stale else 400, stale=stale)


ACTIONS = {
    "submit": (services.quote_submit_for_approval, "Submitted for approval."),
    "approve": (services.quote_approve, "Discounts approved."),
    "revise": (services.quote_revise, "New revision drafted."),
}


@require_POST
@permission_required(VIEW, raise_exception=True)
def quote_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    if action not in ACTIONS:
        raise Http404("No such action.")
    service, done = ACTIONS[action]
    form = QuoteActionForm(request.POST)
    if not form.is_valid():
        messages.error(request, "The form was incomplete; reload the page and try again.")
        return redirect("sales:quote_detail", pk)
    try:
        quote = service(actor=actor_of(request), quote_id=pk, expected_version=form.cleaned_data["version"])
    except StaleVersion:
        messages.error(request, STALE_MESSAGE)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    except DomainError as exc:
        messages.error(request, exc.detail)
    else:
        messages.success(request, done)
        return redirect("sales:quote_detail", quote.pk)
    return redirect("sales:quote_detail", pk)


@require_POST
@permission_required(VIEW, raise_exception=True)
def quote_send(request: HttpRequest, pk: int) -> HttpResponse:
    form = QuoteSendForm(request.POST, prefix="send")
    if form.is_valid():
        try:
            services.quote_send(
                actor=actor_of(request),
                quote_id=pk,
                expected_version=form.cleaned_data["version"],
                to=form.cleaned_data["to"] or None,
                accept_later_delivery=form.cleaned_data["accept_later_delivery"] or None,
            )
        except StaleVersion:
            form.add_error(None, STALE_MESSAGE)
        except ValidationError as exc:
            form.apply_errors(exc)
        except DomainError as exc:
            form.add_error(None, exc.detail)
        else:
            messages.success(
                request, "Quote sent: its e-mail is on its way (the page shows when it is delivered)."
            )
            return redirect("sales:quote_detail", pk)
    return render_builder(request, pk, send_form=form, status=409)


@require_safe
@permission_required(VIEW, raise_exception=True)
def quote_print(request: HttpRequest, pk: int) -> HttpResponse:
    quote = selectors.quote_get(quote_id=pk)
    return render(request, "sales/quotes/print.html", quote_document_context(quote))


@require_safe
@permission_required(VIEW, raise_exception=True)
def quote_pdf_download(request: HttpRequest, pk: int) -> HttpResponse:
    quote = selectors.quote_get(quote_id=pk)
    pdf = quote_pdf(quote_document_context(quote))
    if pdf is None:
        raise Http404("PDF rendering is not available here; use the print view.")
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{quote.reference}-r{quote.revision}.pdf"'
    return response
