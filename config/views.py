"""Dashboard and global search: cards and results from every app's hooks."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_safe

from frontoffice import plugin

SEARCH_MIN_LENGTH = 2
SEARCH_LIMIT = 8


@require_safe
def dashboard(request: HttpRequest) -> HttpResponse:
    """The landing page: each app's card, as far as the user's roles reach."""
    user = request.user
    cards = [
        {"key": card.key, "title": card.title, "template": card.template, "data": card.loader(actor=user)}
        for card in plugin.dashboard_cards()
        if plugin.allowed(user, card.permission)
    ]
    return render(request, "dashboard.html", {"cards": cards})


@require_safe
def search(request: HttpRequest) -> HttpResponse:
    """The global search box's results, as you type (an HTMX fragment): each app's hits."""
    user = request.user
    q = request.GET.get("q", "").strip()[:200]
    searched = len(q) >= SEARCH_MIN_LENGTH
    providers = [p for p in plugin.search_providers() if plugin.allowed(user, p.permission)]
    if not providers:
        raise PermissionDenied("Your role searches nothing.")
    groups = []
    for provider in providers:
        hits = provider.search(q=q, actor=user, limit=SEARCH_LIMIT) if searched else []
        groups.append(
            {
                "key": provider.key,
                "title": provider.title,
                "hits": hits,
                "noun": provider.noun[0] if len(hits) == 1 else provider.noun[1],
                "singular": provider.noun[0],
                "more_url": provider.more_url(q) if provider.more_url and searched else "",
                "limited": len(hits) == SEARCH_LIMIT,
            }
        )
    context = {"groups": groups, "q": q, "searched": searched}
    response = render(request, "partials/search_results.html", context)
    patch_vary_headers(response, ("HX-Request",))
    return response
