"""Pages of the service loop: "My follow-ups" (problems, voice of the customer, the
survey and the knowledge base have their own modules)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST, require_safe

from service.loop import followups


@require_safe
@permission_required("service.view_followup", raise_exception=True)
def follow_up_list(request: HttpRequest) -> HttpResponse:
    items = followups.follow_ups_of(user=request.user)[:100]
    return render(request, "service/loop/follow_ups.html", {"follow_ups": items})


@require_POST
@permission_required("service.change_followup", raise_exception=True)
def follow_up_done(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        done = followups.follow_up_done(actor=request.user, follow_up_id=pk)
        messages.success(request, f"Done: {done.title}")
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect("service:follow_ups")
