"""Customer pages (server-rendered, HTMX partials): thin, over selectors and services.

Every page works without JavaScript; with HTMX, the list's filters, the timeline's
"Load more" and the possible-duplicates panel update in place.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponsePermanentRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from customers import selectors, selectors_duplicates, selectors_history, selectors_panels, services
from customers.consent import consent_record
from customers.filters import CUSTOMER_ORDERINGS, TimelineFilter
from customers.forms import (
    ActivityForm,
    ConsentForm,
    ContactPointForm,
    CustomerCreateForm,
    CustomerEditForm,
    CustomerFilterForm,
    MergeForm,
)
from customers.guards import may_write, request_actor
from customers.merge import customer_merge
from customers.models import Activity, Customer
from customers.timeline import activity_log
from customers.timeline_kinds import visible_kind_choices
from frontoffice.forms import ServiceForm
from frontoffice.keyset import keyset_page

F = TypeVar("F", bound=ServiceForm)
VIEW = "customers.view_customer"
PAGE_SIZE = 25
DEFAULT_ORDERING = "-created_at"
COLUMN_LABELS = {
    "display_name": "Name",
    "lifecycle_stage": "Stage",
    "created_at": "Created",
    "updated_at": "Updated",
}
MERGE_STALE_MESSAGE = (
    "Someone else changed this customer since you previewed the merge; nothing was merged. "
    "Review what will move below and confirm again."
)


def _htmx(request: HttpRequest) -> Any:
    """django-htmx's details of an HTMX request that wants a fragment, else None (a
    history restore wants a full page)."""
    htmx = getattr(request, "htmx", None)
    return htmx if htmx and not htmx.history_restore_request else None


def _htmx_fragment(request: HttpRequest) -> bool:
    return _htmx(request) is not None


def _htmx_target(request: HttpRequest, target: str) -> bool:
    """True for an HTMX request that swaps `target`."""
    htmx = _htmx(request)
    return htmx is not None and htmx.target == target


def _vary_on_htmx(response: HttpResponse) -> HttpResponse:
    # The same URL answers a full page or a fragment: caches must keep both apart.
    patch_vary_headers(response, ("HX-Request", "HX-Target"))
    return response


def can_edit(user: Any, customer: Customer) -> bool:
    return user.has_perm("customers.change_customer") and may_write(user, customer)


def _moved(customer: Customer, url_name: str, query: str = "") -> HttpResponsePermanentRedirect:
    url = reverse(url_name, args=[customer.merged_into_id])
    return HttpResponsePermanentRedirect(f"{url}?{query}" if query else url)


def _timeline_filter(request: HttpRequest) -> tuple[TimelineFilter, str | None]:
    """The timeline's filter as asked for (`?kind=`) and the kind to show: None for
    all, or for a kind no app declares (the form then says so; nothing is hidden)."""
    timeline_filter = TimelineFilter(request.GET, queryset=Activity.objects.none())
    # Only the kinds this user may see are offered (and accepted).
    kind_field: Any = timeline_filter.form.fields["kind"]
    kind_field.choices = visible_kind_choices(request.user)  # "All kinds" comes first by itself
    timeline_filter.is_valid()
    return timeline_filter, timeline_filter.form.cleaned_data.get("kind") or None


# --- list ----------------------------------------------------------------------------


def _ordering(raw: str | None) -> tuple[str, list[str]]:
    key = raw if raw and raw.lstrip("-") in CUSTOMER_ORDERINGS else DEFAULT_ORDERING
    # An id tiebreaker keeps pages stable when many rows share a value.
    return key, [key, "-id" if key.startswith("-") else "id"]


@require_safe
@permission_required(VIEW, raise_exception=True)
def customer_list(request: HttpRequest) -> HttpResponse:
    form = CustomerFilterForm(request.GET)
    form.is_valid()  # to show what was not understood; CustomerFilter ignores it too
    ordering, order_by = _ordering(request.GET.get("ordering"))
    customers = selectors.customer_list(filters=request.GET, actor=request_actor(request), for_page=True)
    page = keyset_page(request, customers, ordering=order_by, page_size=PAGE_SIZE)
    rows = selectors.customer_list_rows(page.object_list)
    columns = {}
    for key, label in COLUMN_LABELS.items():
        sort = None
        if ordering.lstrip("-") == key:
            sort = "descending" if ordering.startswith("-") else "ascending"
        # Clicking the sorted column flips it; another column starts ascending.
        columns[key] = {"label": label, "sort": sort, "next": f"-{key}" if sort == "ascending" else key}
    fragment = _htmx_target(request, "customer-results")
    context = {
        "form": form,
        "page": page,
        "rows": rows,
        "columns": columns,
        "ordering": ordering,
        "can_create": request.user.has_perm("customers.add_customer"),
        "can_import": request.user.has_perms(["customers.add_customer", "customers.import_customers"]),
        "fragment": fragment,
    }
    template = "customers/_list_results.html" if fragment else "customers/list.html"
    return _vary_on_htmx(render(request, template, context))


# --- the 360 page ------------------------------------------------------------------------


def _render_360(
    request: HttpRequest, pk: int, *, forms: dict[str, ServiceForm] | None = None, status: int = 200
) -> HttpResponse:
    user = request.user
    timeline_filter, kind = _timeline_filter(request)
    data = selectors.customer_360(customer_id=pk, actor=user, timeline_kind=kind)
    customer = data.customer
    if customer.merged_into_id is not None:
        return _moved(customer, "customers:detail", request.GET.urlencode())
    editable = can_edit(user, customer)
    writable = may_write(user, customer)
    page_messages, section_messages = _messages_by_section(request)  # the one rule of every write on it
    forms = forms or {}
    context = {
        "data": data,
        "customer": customer,
        "can_edit": editable,
        "can_merge": user.has_perm("customers.merge_customer"),
        "activity_form": (
            forms.get("activity") or ActivityForm(prefix="activity")
            if writable and user.has_perm("customers.add_activity")
            else None
        ),
        "contact_form": (
            forms.get("contact") or ContactPointForm(prefix="contact")
            if editable and user.has_perm("customers.add_contactpoint")
            else None
        ),
        "consent_form": (
            forms.get("consent") or ConsentForm(prefix="consent", initial={"source": "Told staff"})
            if writable and user.has_perm("customers.add_consentevent")
            else None
        ),
        "history": (
            selectors_history.customer_history_changes(records=data.history)
            if data.history is not None
            else None
        ),
        "attributes": [(_humanise(key), value) for key, value in sorted((customer.attributes or {}).items())],
        "panels": data.panels,  # titles only: each loads in a request of its own
        "timeline_filter": timeline_filter.form,
        "kind": kind,
        "page_messages": page_messages,
        "section_messages": section_messages,
    }
    return render(request, "customers/detail.html", context, status=status)


SECTION_TAG = "section-"


def _messages_by_section(request: HttpRequest) -> tuple[list[Any], dict[str, list[Any]]]:
    """The request's messages: those for the whole page, and those a form's section
    shows next to the form (its confirmation, where the person is looking)."""
    page: list[Any] = []
    sections: dict[str, list[Any]] = {}
    for message in messages.get_messages(request):
        tag = next((t for t in message.extra_tags.split() if t.startswith(SECTION_TAG)), None)
        if tag is None:
            page.append(message)
        else:
            sections.setdefault(tag.removeprefix(SECTION_TAG), []).append(message)
    return page, sections


def _humanise(key: Any) -> str:
    return str(key).replace("_", " ").strip().capitalize()


def _as_text(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, list | tuple):
        return ", ".join(_as_text(v) for v in value)
    if isinstance(value, dict):
        return "; ".join(f"{_humanise(k)}: {_as_text(v)}" for k, v in value.items())
    return str(value)


def generic_panel(data: Any) -> dict[str, Any]:
    """Shape a panel loader's JSON-able data for `_panel_generic.html`: an object
    becomes label/value rows, a list becomes items (rows or texts), anything else text."""
    shape: dict[str, Any]
    if isinstance(data, dict):
        shape = {"kind": "mapping", "rows": [(_humanise(k), _as_text(v)) for k, v in data.items()]}
        return shape
    if isinstance(data, list | tuple):
        items: list[dict[str, Any]] = [
            {"rows": [(_humanise(k), _as_text(v)) for k, v in item.items()]}
            if isinstance(item, dict)
            else {"text": _as_text(item)}
            for item in data
        ]
        return {"kind": "list", "items": items}
    return {"kind": "text", "text": "" if data is None else _as_text(data)}


@require_safe
@permission_required(VIEW, raise_exception=True)
def customer_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _render_360(request, pk)


@require_safe
@permission_required(VIEW, raise_exception=True)
def customer_panel(request: HttpRequest, pk: int, key: str) -> HttpResponse:
    """One panel of the 360 page: a fragment the page loads with HTMX, or a page of its
    own when followed as a link (without JavaScript)."""
    customer = selectors.customer_get(customer_id=pk)
    if customer.merged_into_id is not None:
        return HttpResponsePermanentRedirect(reverse("customers:panel", args=[customer.merged_into_id, key]))
    loaded = selectors_panels.customer_panel(customer=customer, key=key, actor=request_actor(request))
    panel = {
        "key": loaded.key,
        "title": loaded.title,
        "template": loaded.template,
        "data": loaded.data,
        "generic": generic_panel(loaded.data),
    }
    context = {"customer": customer, "panel": panel}
    template = "customers/_panel_body.html" if _htmx_fragment(request) else "customers/panel.html"
    return _vary_on_htmx(render(request, template, context))


@require_safe
@permission_required(VIEW, raise_exception=True)
def timeline_more(request: HttpRequest, pk: int) -> HttpResponse:
    """The timeline from a cursor, of one kind or all: the entries after "Load more" (a
    fragment, or a page without JavaScript), or the whole list again when the filter
    of the 360 page changes (the fragment HTMX swaps for `#timeline-list`)."""
    customer = selectors.customer_get(customer_id=pk)
    if customer.merged_into_id is not None:
        return _moved(customer, "customers:timeline", request.GET.urlencode())
    timeline_filter, kind = _timeline_filter(request)
    entries, cursor = selectors.timeline_page(
        customer=customer, actor=request.user, cursor=request.GET.get("cursor"), kind=kind
    )
    context = {
        "customer": customer,
        "entries": entries,
        "cursor": cursor,
        "kind": kind,
        "timeline_filter": timeline_filter.form,
        "appended": True,
    }
    if _htmx_target(request, "timeline-list"):
        context.update(appended=False, filtered=True)
        return _vary_on_htmx(render(request, "customers/_timeline_list.html", context))
    if _htmx_fragment(request):
        return _vary_on_htmx(render(request, "customers/_timeline_more.html", context))
    return _vary_on_htmx(render(request, "customers/timeline.html", context))


def _post_to_360(
    request: HttpRequest,
    pk: int,
    *,
    form: F,
    key: str,
    write: Callable[[F], object],
    success: str,
) -> HttpResponse:
    """Validate `form`, call `write(form)`; on success back to the 360 page (PRG),
    otherwise the 360 page again with the service's errors next to the fields."""
    customer = selectors.customer_get(customer_id=pk)
    if customer.merged_into_id is not None:
        messages.error(request, "This customer was merged into another one; please try again there.")
        return redirect("customers:detail", customer.merged_into_id)
    if form.is_valid() and form.submit(lambda: write(form), once_for=request.user) is not None:
        # Shown in the section the person just used (where the page opens), not at
        # the top of the page: see `_render_360`.
        messages.success(request, success, extra_tags=f"{SECTION_TAG}{key}")
        return redirect(reverse("customers:detail", args=[pk]) + f"#{key}-done")
    return _render_360(request, pk, forms={key: form}, status=400)


@require_POST
@permission_required("customers.add_activity", raise_exception=True)
def activity_create(request: HttpRequest, pk: int) -> HttpResponse:
    form = ActivityForm(request.POST, prefix="activity")
    return _post_to_360(
        request,
        pk,
        form=form,
        key="activity",
        write=lambda f: activity_log(actor=request_actor(request), customer_id=pk, **f.cleaned_data),
        success="Logged on the timeline.",
    )


@require_POST
@permission_required("customers.add_contactpoint", raise_exception=True)
def contact_point_create(request: HttpRequest, pk: int) -> HttpResponse:
    form = ContactPointForm(request.POST, prefix="contact")
    return _post_to_360(
        request,
        pk,
        form=form,
        key="contact",
        write=lambda f: services.contact_point_add(
            actor=request_actor(request), customer_id=pk, data=f.service_data()
        ),
        success="Contact point added.",
    )


@require_POST
@permission_required("customers.add_consentevent", raise_exception=True)
def consent_create(request: HttpRequest, pk: int) -> HttpResponse:
    form = ConsentForm(request.POST, prefix="consent")
    return _post_to_360(
        request,
        pk,
        form=form,
        key="consent",
        write=lambda f: consent_record(actor=request_actor(request), customer_id=pk, **f.cleaned_data),
        success="Consent recorded.",
    )


# --- create and edit ----------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@permission_required("customers.add_customer", raise_exception=True)
def customer_create(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        form = CustomerCreateForm(request.POST)
        customer = (
            form.submit(
                lambda: services.customer_create(actor=request_actor(request), **form.service_fields()),
                once_for=request.user,
            )
            if form.is_valid()
            else None
        )
        if customer is not None:
            messages.success(request, f"{customer.display_name} was created.")
            return redirect("customers:detail", customer.pk)
        return render(request, "customers/form.html", {"form": form, "creating": True}, status=400)
    form = CustomerCreateForm(initial={"owner": request.user.pk})
    return render(request, "customers/form.html", {"form": form, "creating": True})


@require_http_methods(["GET", "POST"])
@permission_required("customers.change_customer", raise_exception=True)
def customer_edit(request: HttpRequest, pk: int) -> HttpResponse:
    customer = selectors.customer_get(customer_id=pk)
    if customer.merged_into_id is not None:
        return _moved(customer, "customers:edit")
    if not can_edit(request.user, customer):
        raise PermissionDenied("You may only edit customers you or your team own.")
    tags = list(customer.tags.all())
    form = CustomerEditForm.for_customer(customer, tags, request.POST if request.method == "POST" else None)
    status = 200
    if request.method == "POST":
        saved = (
            form.submit(
                lambda: services.customer_update(
                    actor=request_actor(request),
                    customer_id=customer.pk,
                    expected_version=form.cleaned_data["version"],
                    **form.service_fields(),
                )
            )
            if form.is_valid()
            else None
        )
        if saved is not None:
            messages.success(request, "Changes saved.")
            return redirect("customers:detail", customer.pk)
        status = 412 if form.stale else 400
    context = {"form": form, "customer": customer, "creating": False, "stale": form.stale}
    return render(request, "customers/form.html", context, status=status)


# --- duplicates and merge -------------------------------------------------------------


@require_safe
@permission_required("customers.merge_customer", raise_exception=True)
def duplicates(request: HttpRequest) -> HttpResponse:
    """All candidate pairs; with `?customer=<id>`, the candidates for one customer
    (the 360 page loads that as a fragment)."""
    customer = None
    raw = request.GET.get("customer")
    if raw:
        customer = selectors.customer_get(customer_id=raw)
        if customer.merged_into_id is not None:
            return HttpResponsePermanentRedirect(
                reverse("customers:duplicates") + f"?customer={customer.merged_into_id}"
            )
        pairs = selectors_duplicates.duplicates_for(customer=customer)
    else:
        pairs = selectors_duplicates.duplicate_candidates(limit=100)
    context = {"pairs": pairs, "customer": customer}
    if _htmx_target(request, "possible-duplicates"):
        return _vary_on_htmx(render(request, "customers/_possible_duplicates.html", context))
    return _vary_on_htmx(render(request, "customers/duplicates.html", context))


@require_http_methods(["GET", "POST"])
@permission_required("customers.merge_customer", raise_exception=True)
def merge(request: HttpRequest, pk: int) -> HttpResponse:
    """GET previews merging `?duplicate=` into this customer; POST merges, if the
    customer kept is still at the version the preview showed."""
    raw = (request.POST if request.method == "POST" else request.GET).get("duplicate", "")[:20]
    survivor = selectors.customer_get(customer_id=pk)
    if survivor.merged_into_id is not None:
        if request.method == "POST":
            messages.error(request, "This customer was merged meanwhile; review the merge from here.")
            return redirect(_merge_url(survivor.merged_into_id, raw))
        return HttpResponsePermanentRedirect(_merge_url(survivor.merged_into_id, raw))
    error, status = None, 200
    if request.method == "POST":
        form = MergeForm(request.POST)
        merged = (
            form.submit(
                lambda: customer_merge(
                    actor=request_actor(request),
                    survivor_id=survivor.pk,
                    duplicate_id=form.cleaned_data["duplicate"],
                    expected_version=form.cleaned_data["version"],
                )
            )
            if form.is_valid()
            else None
        )
        if merged is not None:
            messages.success(request, f"Merged customer #{raw} into {merged.display_name}.")
            return redirect("customers:detail", merged.pk)
        error = MERGE_STALE_MESSAGE if form.stale else " ".join(form.all_errors())
        status = 412 if form.stale else 400
    preview = None
    duplicate_id = _positive_int(raw)
    if not raw:
        pass  # first visit without a choice: just the form to choose one
    elif duplicate_id is None:
        error = error or "Enter the number of an existing customer."
    elif duplicate_id == survivor.pk:
        error = error or "A customer cannot be merged into itself."
    else:
        try:
            preview = selectors_duplicates.merge_preview(survivor_id=survivor.pk, duplicate_id=duplicate_id)
        except Http404:
            error = error or f"No customer has number {duplicate_id}."
        else:
            problem = None
            if preview.duplicate.merged_into_id is not None:
                problem = "That customer was already merged."
            elif preview.duplicate.kind != survivor.kind:
                problem = "A person and an organisation cannot be merged."
            # After a stale confirmation the fresh preview stays, to review and confirm again.
            if problem or (error and status != 412):
                error = error or problem
                preview = None
    if error and status == 200:
        status = 400
    context = {"survivor": survivor, "preview": preview, "error": error, "duplicate_id": raw}
    return render(request, "customers/merge.html", context, status=status)


def _merge_url(survivor_id: int, duplicate: str) -> str:
    return reverse("customers:merge", args=[survivor_id]) + "?" + urlencode({"duplicate": duplicate})


def _positive_int(raw: Any) -> int | None:
    try:
        value = int(str(raw)[:20])
    except (TypeError, ValueError):
        return None
    return value if 0 < value < 2**62 else None
