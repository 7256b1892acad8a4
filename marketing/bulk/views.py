"""The bulk actions page: a segment, or the customer list as filtered, and what to do
with all of it (tag, owner, campaign, CSV export)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_safe

from customers.guards import request_actor
from frontoffice.errors import DomainError
from frontoffice.models import User
from marketing.bulk import services
from marketing.choices import CampaignStatus
from marketing.models import Campaign, Segment

SOURCE_KEYS = ("segment", "q", "kind", "lifecycle_stage", "tag", "owner")


def _source(request: HttpRequest) -> dict[str, Any]:
    data = request.POST if request.method == "POST" else request.GET
    return {k: data[k] for k in SOURCE_KEYS if data.get(k)} | {
        k: data[k] for k in data if k.startswith("attr.") and data.get(k)
    }


def _customers(source: dict[str, Any]) -> Any:
    filters = {k: v for k, v in source.items() if k != "segment"}
    return services.customers_for(segment_id=source.get("segment"), filters=filters)


@require_http_methods(["GET", "POST"])
@permission_required("customers.view_customer", raise_exception=True)
def bulk_actions(request: HttpRequest) -> HttpResponse:
    source = _source(request)
    try:
        customers = _customers(source)
    except ValidationError as exc:
        return render(request, "marketing/bulk.html", {"error": " ".join(exc.messages)}, status=400)
    if request.method == "POST":
        actor = request_actor(request)
        action = request.POST.get("action")
        try:
            if action == "tag":
                done = services.bulk_tag(actor=actor, customers=customers, tag=request.POST.get("tag", ""))
                messages.success(request, f"Tagged {done} customer{'s' if done != 1 else ''}.")
            elif action == "owner":
                done = services.bulk_assign_owner(
                    actor=actor, customers=customers, owner_id=request.POST.get("owner_id")
                )
                messages.success(request, f"{done} customer{'s' if done != 1 else ''} reassigned.")
            elif action == "campaign":
                done = services.bulk_add_to_campaign(
                    actor=actor, customers=customers, campaign_id=request.POST.get("campaign_id")
                )
                messages.success(request, f"{done} customer{'s' if done != 1 else ''} added to the campaign.")
            else:
                messages.error(request, "Choose an action.")
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        except (DomainError, PermissionDenied) as exc:
            messages.error(request, str(getattr(exc, "detail", "") or exc or "You may not do this."))
        query = "&".join(f"{k}={v}" for k, v in source.items())
        return redirect(f"{request.path}?{query}")
    context = {
        "source": source,
        "segment": Segment.objects.filter(pk=source["segment"]).first() if "segment" in source else None,
        "count": customers.count(),
        "owners": User.objects.filter(is_active=True).order_by("username")[:200],
        "campaigns": Campaign.objects.filter(status=CampaignStatus.RUNNING).order_by("name")[:200],
        "query": request.GET.urlencode(),
    }
    return render(request, "marketing/bulk.html", context)


@require_safe
@permission_required("marketing.export_customers", raise_exception=True)
def bulk_export(request: HttpRequest) -> StreamingHttpResponse | HttpResponse:
    """The set as CSV, streamed (formula-safe cells)."""
    try:
        customers = _customers(_source(request))
    except ValidationError as exc:
        return HttpResponse(" ".join(exc.messages), status=400, content_type="text/plain")
    rows = services.export_rows(actor=request_actor(request), customers=customers)
    response = StreamingHttpResponse(rows, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = (
        f'attachment; filename="customers-{timezone.localdate().isoformat()}.csv"'
    )
    return response
