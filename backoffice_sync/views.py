"""The sync monitor page: the back office watches the ERP link and replays dead letters."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST, require_safe

from backoffice_sync.outbox import outbox_replay
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
            "can_replay": request.user.has_perm("backoffice_sync.replay_outboxmessage"),
        },
    )


@require_POST
@permission_required("backoffice_sync.replay_outboxmessage", raise_exception=True)
def replay(request: HttpRequest, message_id: int) -> HttpResponse:
    try:
        message = outbox_replay(actor=request.user, message_id=message_id)
    except DomainError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(
            request, f"Message {message.pk} ({message.kind}, {message.aggregate}) is queued again."
        )
    return redirect("backoffice_sync:monitor")
