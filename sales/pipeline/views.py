"""Pipeline pages: the board and the opportunities (list, create, edit, page, lose).
Every page works without JavaScript; with HTMX a board move swaps the board in place,
and `static/js/board.js` adds drag and drop on top of the per-card "Move to" control.
Thin: reads through `sales.pipeline.selectors`, writes through its services."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from frontoffice.errors import DomainError, StaleVersion
from sales.pipeline import selectors, services
from sales.pipeline.forms import BoardFilterForm, MoveForm, OpportunityFilterForm, OpportunityForm, ReasonForm
from sales.pipeline.models import StageKind
from sales.quotes.services import can_work_on as can_work_on_quote
from sales.request_actor import actor_of

VIEW_OPPORTUNITY = "sales.view_opportunity"
PAGE_SIZE = 25


def _htmx_target(request: HttpRequest) -> str | None:
    """The part of the page an HTMX request swaps (None without HTMX, or on a history restore)."""
    htmx = getattr(request, "htmx", None)
    if not htmx or htmx.history_restore_request:
        return None
    target: str | None = htmx.target
    return target


def _is_board_swap(request: HttpRequest) -> bool:
    return _htmx_target(request) == "board"


def _vary(response: HttpResponse) -> HttpResponse:
    patch_vary_headers(response, ("HX-Request", "HX-Target"))
    return response


# --- the board ---------------------------------------------------------------------------


def _board_filters(data: Any) -> dict[str, str]:
    return {key: data.get(key, "") for key in ("pipeline", "owner", "close_month") if data.get(key)}


def _render_board(
    request: HttpRequest, filters: dict[str, str], *, status: int = 200, error: str = "", moved: str = ""
) -> HttpResponse:
    pipeline = selectors.pipeline_for_board(filters.get("pipeline"))
    form = BoardFilterForm(filters or None, today=timezone.localdate())
    valid = form.is_valid() if filters else True
    board = None
    if pipeline is not None:
        clean = {k: v for k, v in filters.items() if k != "pipeline" and (valid or k not in form.errors)}
        board = selectors.board(pipeline=pipeline, filters=clean, actor=actor_of(request))
        for column in board.columns:
            # "n more" opens the opportunity list on the same cards: this stage, these filters.
            vars(column)["more_query"] = urlencode(
                {**clean, "pipeline": pipeline.pk, "stage": column.stage.pk}
            )
            for card in column.cards:
                vars(card)["editable"] = services.can_edit_opportunity(request.user, card)
    context = {
        "board": board,
        "form": form,
        "filters": filters,
        "query": urlencode(filters),
        "error": error,
        "moved": moved,
        "today": timezone.localdate(),
        "pipelines": list(selectors.pipeline_list().filter(active=True).values("id", "name")),
        "can_create": request.user.has_perm("sales.add_opportunity"),
    }
    template = "sales/_board.html" if _is_board_swap(request) else "sales/board.html"
    return _vary(render(request, template, context, status=status))


@require_safe
@permission_required(VIEW_OPPORTUNITY, raise_exception=True)
def board(request: HttpRequest) -> HttpResponse:
    return _render_board(request, _board_filters(request.GET))


@require_POST
@permission_required("sales.change_opportunity", raise_exception=True)
def opportunity_move(request: HttpRequest, pk: int) -> HttpResponse:
    """The keyboard/no-JS control and the drag-and-drop both post here."""
    opp = selectors.opportunity_get(opportunity_id=pk)
    if not services.can_edit_opportunity(request.user, opp):
        raise PermissionDenied("You may only move opportunities you or your team own.")
    form = MoveForm(request.POST)
    filters = _board_filters(request.POST)
    if request.POST.get("next") == "detail":
        back = reverse("sales:opportunity_detail", args=[pk])
    else:
        back = reverse("sales:board") + (f"?{urlencode(filters)}" if filters else "")
    error = ""
    if not form.is_valid():
        error = "Choose a stage to move to."
    else:
        try:
            moved = services.opportunity_move(
                actor=actor_of(request),
                opportunity_id=pk,
                stage=form.cleaned_data["stage"],
                reason=request.POST.get("reason", ""),
                expected_version=form.cleaned_data.get("version"),
            )
        except StaleVersion:
            error = "Someone else changed this opportunity meanwhile; the board now shows the latest."
        except ValidationError as exc:
            error = " ".join(m for ms in exc.message_dict.values() for m in ms)
            if "reason" in exc.message_dict:
                error = "To mark it lost, open the opportunity and give a reason."
        except DomainError as exc:
            error = exc.detail
        else:
            text = f"{moved.name} moved to {moved.stage.name}."
            if _is_board_swap(request):
                return _render_board(request, filters, moved=text)
            messages.success(request, text)
            return redirect(back)
    if _is_board_swap(request):
        return _render_board(request, filters, status=409, error=error)
    messages.error(request, error)
    return redirect(back)


# --- the opportunity list ------------------------------------------------------------------

LIST_COLUMNS = {
    "name": "Opportunity",
    "customer": "Customer",
    "stage": "Stage",
    "amount": "Amount",
    "expected_close_date": "Expected close",
    "updated_at": "Updated",
}


@require_safe
@permission_required(VIEW_OPPORTUNITY, raise_exception=True)
def opportunity_list(request: HttpRequest) -> HttpResponse:
    """A table of opportunities with the API's filters (`OpportunityFilter`), sortable
    columns and pages; with HTMX the filters and pages swap the results in place."""
    pipelines = list(selectors.pipeline_list())
    form = OpportunityFilterForm(request.GET, pipelines=pipelines, today=timezone.localdate())
    form.is_valid()  # to show what was not understood; the FilterSet ignores it too
    ordering, rows = selectors.opportunity_page(
        filters=request.GET, ordering=request.GET.get("ordering"), actor=actor_of(request)
    )
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    columns = {}
    for key, label in LIST_COLUMNS.items():
        sort = None
        if ordering.lstrip("-") == key:
            sort = "descending" if ordering.startswith("-") else "ascending"
        # Clicking the sorted column flips it; another column starts ascending.
        columns[key] = {"label": label, "sort": sort, "next": f"-{key}" if sort == "ascending" else key}
    fragment = _htmx_target(request) == "opportunity-results"
    context = {
        "form": form,
        "page": page,
        "columns": columns,
        "ordering": ordering,
        "fragment": fragment,
        "can_create": request.user.has_perm("sales.add_opportunity"),
    }
    template = "sales/_opportunity_results.html" if fragment else "sales/opportunity_list.html"
    return _vary(render(request, template, context))


# --- create and edit ----------------------------------------------------------------------

STALE_MESSAGE = (
    "Someone else changed this opportunity while you were editing; nothing was saved. Reload "
    "the page to see their changes, then apply yours again."
)


def _save_opportunity(request: HttpRequest, form: OpportunityForm, save: Any) -> tuple[Any, bool]:
    """Runs `save(fields)` for a valid form; returns (the opportunity or None, stale)."""
    if not form.is_valid():
        return None, False
    try:
        return save(form.service_fields()), False
    except StaleVersion:
        form.add_error(None, STALE_MESSAGE)
        return None, True
    except ValidationError as exc:
        form.apply_errors(exc)
    except DomainError as exc:
        form.add_error(None, exc.detail)
        form.apply_errors(exc.errors)
    return None, False


def _form_page(request: HttpRequest, context: dict[str, Any], *, status: int = 200) -> HttpResponse:
    context.setdefault("products", selectors.product_choices())
    return render(request, "sales/opportunity_form.html", context, status=status)


@require_http_methods(["GET", "POST"])
@permission_required("sales.add_opportunity", raise_exception=True)
def opportunity_create(request: HttpRequest) -> HttpResponse:
    """A new opportunity for a customer: `?customer=<id>` picks the customer (the 360
    page links here so); without it the page first searches for one."""
    raw_customer = request.POST.get("customer") if request.method == "POST" else request.GET.get("customer")
    customer = selectors.customer_for_new_opportunity(customer_id=raw_customer) if raw_customer else None
    if customer is None and request.method == "GET":
        query = request.GET.get("q", "")
        context = {
            "query": query,
            "matches": selectors.customer_choices(query=query),
            "unknown_customer": bool(raw_customer),
        }
        return render(request, "sales/opportunity_pick_customer.html", context)
    pipelines = list(selectors.pipeline_list().filter(active=True))
    if request.method == "GET" and customer is not None:
        default = next((p for p in pipelines if p.is_default), pipelines[0] if pipelines else None)
        initial = {"customer": customer.pk, "owner": request.user.pk, "currency": "EUR"}
        if default is not None:
            initial["pipeline"] = str(default.pk)
        form = OpportunityForm.build(pipelines=pipelines, initial=initial)
        return _form_page(request, {"form": form, "customer": customer, "creating": True})
    form = OpportunityForm.build(pipelines=pipelines, data=request.POST)
    opp, _ = _save_opportunity(
        request,
        form,
        lambda fields: services.opportunity_create(actor=actor_of(request), **fields),
    )
    if opp is not None:
        messages.success(request, f"{opp.name} was created for {opp.customer.display_name}.")
        return redirect("sales:opportunity_detail", opp.pk)
    return _form_page(request, {"form": form, "customer": customer, "creating": True}, status=400)


@require_http_methods(["GET", "POST"])
@permission_required("sales.change_opportunity", raise_exception=True)
def opportunity_edit(request: HttpRequest, pk: int) -> HttpResponse:
    opp = selectors.opportunity_get(opportunity_id=pk)
    if not services.can_edit_opportunity(request.user, opp):
        raise PermissionDenied("You may only edit opportunities you or your team own.")
    pipelines = list(selectors.pipeline_list().filter(pk=opp.pipeline_id))
    lines = list(opp.lines.all())
    data = request.POST if request.method == "POST" else None
    form = OpportunityForm.build(pipelines=pipelines, opportunity=opp, lines=lines, data=data)
    context = {"form": form, "customer": opp.customer, "opp": opp, "creating": False}
    if request.method == "GET":
        return _form_page(request, context)
    saved, stale = _save_opportunity(
        request,
        form,
        lambda fields: services.opportunity_edit(
            actor=actor_of(request),
            opportunity_id=pk,
            expected_version=form.cleaned_data["version"],
            **fields,
        ),
    )
    if saved is not None:
        messages.success(request, "Changes saved.")
        return redirect("sales:opportunity_detail", pk)
    context["stale"] = stale
    return _form_page(request, context, status=412 if stale else 400)


# --- opportunity page ------------------------------------------------------------------


@require_safe
@permission_required(VIEW_OPPORTUNITY, raise_exception=True)
def opportunity_detail(request: HttpRequest, pk: int) -> HttpResponse:
    opp = selectors.opportunity_get(opportunity_id=pk)
    activities = selectors.opportunity_activities(opportunity=opp)
    stages = selectors.pipeline_stages(pipeline_id=opp.pipeline_id)
    context = {
        "opp": opp,
        "lines": list(opp.lines.all()),
        "activities": activities,
        "stages": [s for s in stages if s.kind != StageKind.LOST],
        "lost_stage": next((s for s in stages if s.kind == StageKind.LOST), None),
        "can_edit": services.can_edit_opportunity(request.user, opp),
        # The quote builder's own rule (quotes.quote_create checks it again).
        "can_quote": request.user.has_perm("sales.add_quote") and can_work_on_quote(request.user, opp),
    }
    return render(request, "sales/opportunity_detail.html", context)


@require_POST
@permission_required("sales.change_opportunity", raise_exception=True)
def opportunity_lose(request: HttpRequest, pk: int) -> HttpResponse:
    form = ReasonForm(request.POST)
    form.is_valid()
    try:
        services.opportunity_lose(
            actor=actor_of(request), opportunity_id=pk, reason=form.cleaned_data.get("reason", "")
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    except DomainError as exc:
        messages.error(request, exc.detail)
    else:
        messages.success(request, "Marked as lost.")
    return redirect("sales:opportunity_detail", pk)
