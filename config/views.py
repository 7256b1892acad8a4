"""Dashboard and global search."""

from __future__ import annotations

from django.contrib.auth.decorators import permission_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_safe

from customers import selectors

SEARCH_MIN_LENGTH = 2


@require_safe
def dashboard(request: HttpRequest) -> HttpResponse:
    """The landing page: what every role sees first, shaped by its permissions."""
    user = request.user
    context = {
        "summary": selectors.dashboard_summary(actor=user)
        if user.has_perm("customers.view_customer")
        else None,
        "can_merge": user.has_perm("customers.merge_customer"),
        "can_create": user.has_perm("customers.add_customer"),
    }
    return render(request, "dashboard.html", context)


@require_safe
@permission_required("customers.view_customer", raise_exception=True)
def search(request: HttpRequest) -> HttpResponse:
    """The global search box's results, as you type (an HTMX fragment)."""
    q = request.GET.get("q", "").strip()[:200]
    results = selectors.global_search(q=q)
    context = {"results": results, "q": q, "searched": len(q) >= SEARCH_MIN_LENGTH}
    response = render(request, "partials/search_results.html", context)
    patch_vary_headers(response, ("HX-Request",))
    return response
