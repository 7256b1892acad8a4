"""The Forecast page: the weighted pipeline by month (and by product for a chosen
month), the last published snapshots, and the accuracy of past months."""

from __future__ import annotations

import re

from django.contrib.auth.decorators import permission_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe

from frontoffice.dates import month_start
from sales.forecast import selectors, services

CURRENCY_RE = re.compile(r"^[A-Z]{3}$")


@require_safe
@permission_required("sales.view_forecastsnapshot", raise_exception=True)
def forecast_page(request: HttpRequest) -> HttpResponse:
    month_text = request.GET.get("month", "")
    # A month outside the business range (9999-12 typed by hand) shows every month.
    month = month_start(month_text)
    asked = request.GET.get("currency", "")
    currency = asked if CURRENCY_RE.fullmatch(asked) else None
    pipeline = selectors.weighted_pipeline(currency=currency, month=month)
    context = {
        "months": pipeline["months"],
        "products": pipeline["products"] if month else [],
        "month": month_text if month else "",
        "currency": currency or "",
        "snapshots": selectors.recent_snapshots(),
        "accuracy": selectors.forecast_accuracy(currency=currency),
        "can_publish": request.user.has_perm(services.PUBLISH_PERMISSION),
    }
    return render(request, "sales/forecast/forecast.html", context)
