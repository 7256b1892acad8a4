"""Customer pages (server-rendered, HTMX partials): thin, over selectors and services."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse


def _todo(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    return HttpResponse("")


customer_list = customer_create = duplicates = customer_detail = customer_edit = _todo
timeline_more = activity_create = contact_point_create = consent_create = merge = _todo
