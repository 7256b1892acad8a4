"""Dashboard and global search: cards and results from every app's hooks."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_safe

from frontoffice import plugin
from frontoffice import search as global_search


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
    """The global search box's results, as you type (an HTMX fragment): records found by
    their number (orders, quotes, cases: shown when there are some), then each app's hits."""
    user = request.user
    if not global_search.searches_anything(user):
        raise PermissionDenied("Your role searches nothing.")
    q = request.GET.get("q", "").strip()[: global_search.MAX_LENGTH]
    searched = len(q) >= global_search.MIN_LENGTH
    groups = [
        {
            "key": group.key,
            "title": group.title,
            "hits": group.hits,
            "noun": group.noun[0] if len(group.hits) == 1 else group.noun[1],
            "singular": group.noun[0],
            "more_url": group.more_url,
            "limited": group.limited,
        }
        for group in global_search.search_everything(q=q, user=user)
        if group.hits or not group.by_number
    ]
    context = {"groups": groups, "q": q, "searched": searched}
    response = render(request, "partials/search_results.html", context)
    patch_vary_headers(response, ("HX-Request",))
    return response
