"""Dashboard and global search."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from customers import selectors


def dashboard(request: HttpRequest) -> HttpResponse:
    return render(request, "dashboard.html", {})


def search(request: HttpRequest) -> HttpResponse:
    results = []
    if request.user.has_perm("customers.view_customer"):
        results = selectors.global_search(q=request.GET.get("q", ""))
    return render(
        request, "partials/search_results.html", {"results": results, "q": request.GET.get("q", "")}
    )
