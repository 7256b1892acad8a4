"""Marketing's staff pages: thin, over selectors and services (public pages: public.py)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from customers.guards import request_actor
from frontoffice.errors import DomainError
from frontoffice.write_path import as_id
from marketing.attribution.selectors import campaign_figures
from marketing.campaigns import launch as launching
from marketing.campaigns import selectors as campaign_selectors
from marketing.campaigns import services as campaign_services
from marketing.campaigns.preview import campaign_preview
from marketing.capture import scoring as scoring_services
from marketing.capture.services import lead_form_create
from marketing.choices import ExclusionReason
from marketing.forms import CampaignForm, LeadFormForm, RoutingForm, ScoringRuleForm, SegmentForm
from marketing.models import Campaign, LeadForm, ScoringRule, Segment
from marketing.segments import selectors as segment_selectors
from marketing.segments import services as segment_services

PAGE_SIZE = 25
EXAMPLE_RULES = {
    "all": [
        {"field": "consent.email.marketing", "op": "eq", "value": "granted"},
        {"field": "lifecycle_stage", "op": "in", "value": ["prospect", "customer"]},
    ]
}


# --- segments ---------------------------------------------------------------------------


@require_safe
@permission_required("marketing.view_segment", raise_exception=True)
def segment_list(request: HttpRequest) -> HttpResponse:
    page = Paginator(segment_selectors.segment_base(), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "marketing/segment_list.html", {"page": page})


@require_http_methods(["GET", "POST"])
@permission_required("marketing.view_segment", raise_exception=True)
def segment_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    """The builder: rules on the left, the live count and a sample on the right (HTMX)."""
    segment = Segment.objects.filter(pk=pk).first() if pk else None
    if pk and segment is None:
        raise Http404("No such segment.")
    needed = "marketing.change_segment" if segment else "marketing.add_segment"
    initial = (
        {
            "name": segment.name,
            "description": segment.description,
            "rules": json.dumps(segment.rules, indent=2),
        }
        if segment
        else {"rules": json.dumps(EXAMPLE_RULES, indent=2)}
    )
    form = SegmentForm(request.POST if request.method == "POST" else None, initial=initial)
    if request.method == "POST":
        if not request.user.has_perm(needed):
            raise _forbidden()
        if form.is_valid():
            data = form.cleaned_data
            actor = request_actor(request)
            if segment is None:
                saved = form.submit(lambda: segment_services.segment_create(actor=actor, **data))
            else:
                version = _int(request.POST.get("version"))
                saved = form.submit(
                    lambda: segment_services.segment_update(
                        actor=actor, segment_id=segment.pk, expected_version=version, **data
                    )
                )
            if saved is not None:
                messages.success(request, f"Segment “{saved.name}” saved.")
                return redirect("marketing:segment_edit", saved.pk)
    preview = _preview(form["rules"].value() if form.is_bound else initial["rules"])
    fields = segment_selectors.segment_fields()
    context = {
        "form": form,
        "segment": segment,
        "preview": preview,
        "fields": fields,
        "builder": json.dumps({"fields": fields, **segment_selectors.segment_builder_options()}),
    }
    return render(request, "marketing/segment_edit.html", context, status=400 if form.errors else 200)


def _forbidden() -> Exception:
    from django.core.exceptions import PermissionDenied

    return PermissionDenied("You may not change segments.")


def _int(raw: Any) -> int | None:
    return int(raw) if isinstance(raw, str) and raw.isdigit() and len(raw) < 10 else None


def _preview(text: Any) -> dict[str, Any]:
    """The count and sample, or the faults each with the path of the rule it names
    (`rules.all.0.op`: the builder shows it next to that rule)."""
    try:
        rules = json.loads(text) if isinstance(text, str) and text.strip() else {}
    except ValueError as exc:
        return {"errors": [{"path": "", "message": f"Not valid JSON: {exc}"}]}
    try:
        preview = segment_selectors.segment_preview(rules=rules)
    except ValidationError as exc:
        return {"errors": [{"path": key, "message": m} for key, ms in exc.message_dict.items() for m in ms]}
    return {"count": preview.count, "sample": preview.sample}


@require_POST
@permission_required("marketing.view_segment", raise_exception=True)
def segment_preview(request: HttpRequest) -> HttpResponse:
    """The builder's live count and sample for the rules typed so far (an HTMX partial)."""
    return render(
        request, "marketing/_segment_preview.html", {"preview": _preview(request.POST.get("rules", ""))}
    )


# --- campaigns --------------------------------------------------------------------------


@require_safe
@permission_required("marketing.view_campaign", raise_exception=True)
def campaign_list(request: HttpRequest) -> HttpResponse:
    page = Paginator(campaign_selectors.campaign_list(filters=request.GET), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    rows = campaign_figures(page.object_list)
    return render(request, "marketing/campaign_list.html", {"page": page, "rows": rows})


@require_http_methods(["GET", "POST"])
@permission_required("marketing.view_campaign", raise_exception=True)
def campaign_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    campaign = Campaign.objects.filter(pk=pk).first() if pk else None
    if pk and campaign is None:
        raise Http404("No such campaign.")
    initial: dict[str, Any] = {}
    if campaign is not None:
        initial = {f: getattr(campaign, f) for f in CampaignForm.base_fields if f != "segment"}
        initial["segment"] = campaign.segment_id
    form = CampaignForm(request.POST if request.method == "POST" else None, initial=initial)
    if request.method == "POST":
        if not request.user.has_perm("marketing.change_campaign" if campaign else "marketing.add_campaign"):
            raise _forbidden()
        if form.is_valid():
            actor = request_actor(request)
            fields = form.service_fields()
            if campaign is None:
                saved = form.submit(lambda: campaign_services.campaign_create(actor=actor, **fields))
            else:
                version = _int(request.POST.get("version"))
                saved = form.submit(
                    lambda: campaign_services.campaign_update(
                        actor=actor, campaign_id=campaign.pk, expected_version=version, **fields
                    )
                )
            if saved is not None:
                messages.success(request, f"Campaign “{saved.name}” saved.")
                return redirect("marketing:campaign_detail", saved.pk)
    status = 412 if form.stale else 400 if form.errors else 200
    return render(
        request, "marketing/campaign_edit.html", {"form": form, "campaign": campaign}, status=status
    )


@require_safe
@permission_required("marketing.view_campaign", raise_exception=True)
def campaign_detail(request: HttpRequest, pk: int) -> HttpResponse:
    campaign = campaign_selectors.campaign_base().filter(pk=pk).first()
    if campaign is None:
        raise Http404("No such campaign.")
    figures = campaign_figures([campaign])[0]
    exclusions = [
        (ExclusionReason(reason).label, count)
        for reason, count in sorted(campaign.exclusions.items())
        if count
    ]
    members = campaign_selectors.member_list(campaign=campaign).order_by("id")[:20]
    context = {
        "campaign": campaign,
        "figures": figures,
        "exclusions": exclusions,
        "excluded_total": sum(n for _, n in exclusions),
        "members": members,
        "preview": campaign_preview(campaign=campaign, request=request) if campaign.sends_email else None,
        "forms": LeadForm.objects.filter(campaign=campaign),
        "lead_form": LeadFormForm(),
        "can_launch": request.user.has_perm("marketing.launch_campaign"),
    }
    return render(request, "marketing/campaign_detail.html", context)


ACTIONS: dict[str, Callable[..., Campaign]] = {
    "launch": launching.campaign_launch,
    "schedule": campaign_services.campaign_schedule,
    "unschedule": campaign_services.campaign_unschedule,
    "cancel": campaign_services.campaign_cancel,
    "complete": campaign_services.campaign_complete,
}


@require_POST
@permission_required("marketing.launch_campaign", raise_exception=True)
def campaign_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    service = ACTIONS.get(action)
    if service is None:
        raise Http404("No such action.")
    try:
        campaign = service(
            actor=request_actor(request), campaign_id=pk, expected_version=_int(request.POST.get("version"))
        )
    except ValidationError as exc:
        for key, texts in exc.message_dict.items():
            for text in texts:
                messages.error(request, f"{key.replace('_', ' ').capitalize()}: {text}")
        return redirect("marketing:campaign_detail", pk)
    except DomainError as exc:
        messages.error(request, exc.detail)
        return redirect("marketing:campaign_detail", pk)
    messages.success(request, f"Campaign “{campaign.name}” is now {campaign.get_status_display().lower()}.")
    return redirect("marketing:campaign_detail", pk)


@require_POST
@permission_required("marketing.add_leadform", raise_exception=True)
def lead_form_new(request: HttpRequest, pk: int) -> HttpResponse:
    form = LeadFormForm(request.POST)
    if form.is_valid():
        made = form.submit(
            lambda: lead_form_create(
                actor=request_actor(request), campaign_id=pk, name=form.cleaned_data["name"]
            )
        )
        if made is not None:
            messages.success(
                request,
                f"Lead form “{made.name}” created: {reverse('marketing:public_form', args=[made.public_key])}",
            )
            return redirect("marketing:campaign_detail", pk)
    for error in form.errors.values():
        messages.error(request, " ".join(str(e) for e in error))
    return redirect("marketing:campaign_detail", pk)


# --- lead scoring and routing -------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@permission_required("marketing.view_scoringrule", raise_exception=True)
def scoring(request: HttpRequest) -> HttpResponse:
    """Scoring rules (a list and a form to add one) and the routing of leads over the
    threshold; admins change them (the services check the rights)."""
    routing = scoring_services.routing_settings()
    rule_form = ScoringRuleForm(request.POST if request.POST.get("form") == "rule" else None)
    routing_form = RoutingForm(
        request.POST if request.POST.get("form") == "routing" else None,
        initial={
            "threshold": routing.threshold,
            "method": routing.method,
            "territory_attribute": routing.territory_attribute,
            "territories": routing.territories,
        },
    )
    status = 200
    if request.method == "POST":
        actor = request_actor(request)
        if rule_form.is_bound and rule_form.is_valid():
            data = dict(rule_form.cleaned_data)
            made = rule_form.submit(lambda: scoring_services.scoring_rule_create(actor=actor, **data))
            if made is not None:
                messages.success(request, f"Scoring rule “{made.name}” added.")
                return redirect("marketing:scoring")
        elif routing_form.is_bound and routing_form.is_valid():
            fields = routing_form.service_fields()
            saved = routing_form.submit(
                lambda: scoring_services.routing_settings_update(
                    actor=actor, expected_version=as_id(request.POST.get("version")), **fields
                )
            )
            if saved is not None:
                messages.success(request, "Lead routing saved.")
                return redirect("marketing:scoring")
        status = 412 if rule_form.stale or routing_form.stale else 400
    context = {
        "rules": ScoringRule.objects.order_by("kind", "name", "id"),
        "routing": routing,
        "rule_form": rule_form,
        "routing_form": routing_form,
        "reps": scoring_services.sales_reps(),
    }
    return render(request, "marketing/scoring.html", context, status=status)
