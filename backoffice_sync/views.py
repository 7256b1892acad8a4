"""The sync monitor page: the back office watches the ERP link and replays dead letters."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST, require_safe

from backoffice_sync import atp
from backoffice_sync.forms import AvailabilityForm
from backoffice_sync.models import Product
from backoffice_sync.outbox_replay import REPLAY_PERMISSION, SKIP_PERMISSION, outbox_replay, outbox_skip
from backoffice_sync.sync_status import sync_status
from frontoffice.errors import DomainError

VIEW = "backoffice_sync.view_outboxmessage"


@require_safe
@permission_required(VIEW, raise_exception=True)
def monitor(request: HttpRequest) -> HttpResponse:
    status = sync_status(actor=request.user)
    drifting = [day for day in status["reconciliation"] if day["drift"]]
    return render(
        request,
        "backoffice_sync/monitor.html",
        {
            "status": status,
            "drifting": drifting,
            "can_replay": request.user.has_perm(REPLAY_PERMISSION),
            "can_skip": request.user.has_perm(SKIP_PERMISSION),
        },
    )


@require_POST
@permission_required(REPLAY_PERMISSION, raise_exception=True)
def replay(request: HttpRequest, message_id: int) -> HttpResponse:
    try:
        message = outbox_replay(
            actor=request.user, message_id=message_id, reason=request.POST.get("reason", "")
        )
    except DomainError as exc:
        messages.error(request, str(exc))
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(
            request, f"Message {message.pk} ({message.kind}, {message.aggregate}) is queued again."
        )
    return redirect("backoffice_sync:monitor")


@require_POST
@permission_required(SKIP_PERMISSION, raise_exception=True)
def skip(request: HttpRequest, message_id: int) -> HttpResponse:
    try:
        message = outbox_skip(
            actor=request.user, message_id=message_id, reason=request.POST.get("reason", "")
        )
    except DomainError as exc:
        messages.error(request, str(exc))
    except ValidationError as exc:
        messages.error(request, f"Message {message_id} was not skipped: {' '.join(exc.messages)}")
    else:
        messages.success(
            request,
            f"Message {message.pk} ({message.kind}, {message.aggregate}) is skipped; "
            "the later messages of its aggregate go on.",
        )
    return redirect("backoffice_sync:monitor")


@require_safe
@permission_required("backoffice_sync.view_product", raise_exception=True)
def availability(request: HttpRequest) -> HttpResponse:
    """Sales and service ask: when can the back office deliver this quantity of that SKU?"""
    promise = None
    form = AvailabilityForm(request.GET or None)
    if form.is_valid():
        try:
            promise = atp.promise(
                sku=form.cleaned_data["sku"],
                quantity=form.cleaned_data["quantity"],
                requested_on=form.cleaned_data["requested_date"],
            )
        except ValidationError as exc:
            form.apply_errors(exc)
    products = Product.objects.filter(active=True).order_by("sku")[:200]
    return render(
        request,
        "backoffice_sync/availability.html",
        {"form": form, "promise": promise, "products": products},
    )
