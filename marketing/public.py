"""Marketing's public pages (no login, rate limited): the open pixel, click redirects,
the one-click unsubscribe and the embeddable lead forms.

A forged or altered token changes nothing; a click whose token is not ours never leaves
the site (it lands on a page saying so).
"""

from __future__ import annotations

import base64

from csp.decorators import csp_replace
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_safe

from marketing.campaigns.responses import TRACKING, member_respond, member_unsubscribe
from marketing.capture.services import LEAD_FORMS, form_submit, form_token
from marketing.choices import MemberStatus
from marketing.forms import PublicLeadForm
from marketing.models import LeadForm
from marketing.throttle import allow
from marketing.tokens import OPEN, UNSUBSCRIBE, read_click, read_member

PIXEL = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")


def _too_many() -> HttpResponse:
    response = HttpResponse(
        "Too many requests; try again in a minute.", status=429, content_type="text/plain"
    )
    response["Retry-After"] = "60"
    return response


@login_not_required
@require_safe
def open_pixel(request: HttpRequest, token: str) -> HttpResponse:
    """A 1x1 GIF; a valid token records the open (once)."""
    if allow(request, "tracking"):
        member_id = read_member(token, OPEN)
        if member_id is not None:
            member_respond(actor=TRACKING, member_id=member_id, status=MemberStatus.OPENED)
    response = HttpResponse(PIXEL, content_type="image/gif")
    response["Cache-Control"] = "no-store"
    return response


@login_not_required
@require_safe
def click(request: HttpRequest, token: str) -> HttpResponse:
    """Record the click and go to the link's target; a forged token stays here."""
    if not allow(request, "tracking"):
        return _too_many()
    found = read_click(token)
    if found is None:
        return render(request, "marketing/public/link_invalid.html", status=404)
    member_respond(
        actor=TRACKING,
        member_id=found.member_id,
        status=MemberStatus.CLICKED,
        payload={"url": found.url[:500]},
    )
    # The target was signed by us with the member: it is the campaign's own link.
    return HttpResponseRedirect(found.url)


@login_not_required
@csrf_exempt  # mail clients' one-click POST (RFC 8058) carries no CSRF token: the signed token is the proof
@require_http_methods(["GET", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    """GET: a page with one button (link scanners GET links; they must not unsubscribe).
    POST (the button, or a mail client's List-Unsubscribe-Post): withdraw consent."""
    if not allow(request, "unsubscribe"):
        return _too_many()
    member_id = read_member(token, UNSUBSCRIBE)
    if member_id is None:
        return render(request, "marketing/public/unsubscribe.html", {"invalid": True}, status=404)
    if request.method == "GET":
        return render(request, "marketing/public/unsubscribe.html", {"token": token})
    member = member_unsubscribe(actor=TRACKING, member_id=member_id)
    if member is None:
        return render(request, "marketing/public/unsubscribe.html", {"invalid": True}, status=404)
    return render(request, "marketing/public/unsubscribe.html", {"done": True})


@login_not_required
@xframe_options_exempt
@csp_replace({"frame-ancestors": ["*"]})  # type: ignore[arg-type]  # its stubs know views without URL arguments only
@csrf_exempt  # embedded in other sites (no session); the signed form token guards replays
@require_http_methods(["GET", "POST"])
def public_form(request: HttpRequest, key: str) -> HttpResponse:
    """A campaign's lead form, embeddable in another site (an iframe)."""
    lead_form = LeadForm.objects.select_related("campaign").filter(public_key=key[:32], active=True).first()
    if lead_form is None:
        return render(request, "marketing/public/form_closed.html", status=404)
    if request.method == "GET":
        form = PublicLeadForm(initial={"token": form_token()})
        return render(request, "marketing/public/form.html", {"form": form, "lead_form": lead_form})
    if not allow(request, "form"):
        return _too_many()
    form = PublicLeadForm(request.POST)
    if not form.is_valid():
        return render(
            request, "marketing/public/form.html", {"form": form, "lead_form": lead_form}, status=400
        )
    data = form.cleaned_data
    if data.get("website"):
        # The honeypot: people never see it, bots fill it. Thank them, write nothing.
        return render(request, "marketing/public/form_done.html", {"lead_form": lead_form})
    try:
        form_submit(actor=LEAD_FORMS, form_key=key, token=data.get("token", ""), data=data)
    except ValidationError as exc:
        for field, messages in exc.message_dict.items():
            target = field if field in form.fields and field != "token" else None
            for message in messages:
                form.add_error(target, message)
        data = request.POST.copy()
        data["token"] = form_token()  # a fresh token: the refused one may have expired
        form.data = data
        return render(
            request, "marketing/public/form.html", {"form": form, "lead_form": lead_form}, status=400
        )
    return render(request, "marketing/public/form_done.html", {"lead_form": lead_form})
