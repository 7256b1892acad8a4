"""What one member of a campaign is sent: the subject and body rendered for them, every
link turned into a signed click redirect, the unsubscribe link, the List-Unsubscribe /
List-Unsubscribe-Post headers (RFC 2369, RFC 8058), and an HTML alternative of the body
(the same text, escaped, its links clickable) carrying the open pixel: the e-mail goes
as multipart/alternative, so opens are tracked whenever a client shows the HTML part
and loads its images."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.urls import reverse
from django.utils.html import escape, urlize

from marketing.campaigns.content import context_for, render
from marketing.models import Campaign
from marketing.tokens import OPEN, UNSUBSCRIBE, click_token, member_token, safe_target

LINK = re.compile(r"https?://[^\s<>\"')]+")


@dataclass(frozen=True)
class Composed:
    subject: str
    body: str
    headers: dict[str, str]
    unsubscribe_url: str
    pixel_url: str
    html_body: str


def site_url() -> str:
    """Where the links of e-mails point (SITE_URL, e.g. https://crm.example.com)."""
    return str(settings.SITE_URL).rstrip("/")


def absolute(path: str) -> str:
    return f"{site_url()}{path}"


def unsubscribe_url(member_id: int) -> str:
    return absolute(reverse("marketing:unsubscribe", args=[member_token(member_id, UNSUBSCRIBE)]))


def _track_links(body: str, member_id: int) -> str:
    def replace(match: re.Match[str]) -> str:
        url = match.group(0)
        if not safe_target(url) or url.startswith(site_url()):
            return url
        return absolute(reverse("marketing:click", args=[click_token(member_id, url)]))

    return LINK.sub(replace, body)


def compose(campaign: Campaign, *, customer: Any, member_id: int, email: str) -> Composed:
    """The e-mail of one member (the customer as they are now, the address of the launch)."""
    unsubscribe = unsubscribe_url(member_id)
    context = context_for(customer, email=email, unsubscribe_url=unsubscribe)
    subject = render(campaign.subject_template, context).replace("\r", " ").replace("\n", " ")[:200]
    body = _track_links(render(campaign.body_template, context), member_id)
    if unsubscribe not in body:
        body = f"{body}\n\n--\nUnsubscribe: {unsubscribe}"
    headers = {
        "List-Unsubscribe": f"<{unsubscribe}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }
    pixel = absolute(reverse("marketing:open", args=[member_token(member_id, OPEN)]))
    return Composed(
        subject=subject,
        body=body,
        headers=headers,
        unsubscribe_url=unsubscribe,
        pixel_url=pixel,
        html_body=html_version(body, subject=subject, pixel_url=pixel),
    )


def html_version(body: str, *, subject: str, pixel_url: str) -> str:
    """The text body as HTML: escaped, paragraphs and line breaks kept, its links (the
    tracked ones, the unsubscribe link) clickable, and the 1x1 open pixel at the end."""
    paragraphs = [p for p in re.split(r"\n\s*\n", body.strip()) if p.strip()]
    html = "\n".join(
        f"<p>{urlize(p, nofollow=True, autoescape=True).replace(chr(10), '<br>')}</p>" for p in paragraphs
    )
    return (
        '<!DOCTYPE html>\n<html><head><meta charset="utf-8">'
        f"<title>{escape(subject)}</title></head><body>\n{html}\n"
        f'<img src="{escape(pixel_url)}" width="1" height="1" alt="">\n</body></html>\n'
    )
