"""Template helpers for timeline entries: `{{ entry.kind|timeline_kind }}` and
`{% timeline_link entry as url %}`."""

from __future__ import annotations

from typing import Any

from django import template

from customers.timeline_kinds import kind_of, link_for
from frontoffice.plugin import TimelineKind

register = template.Library()


@register.filter
def timeline_kind(code: str) -> TimelineKind:
    return kind_of(code)


@register.simple_tag(takes_context=True)
def timeline_link(context: Any, entry: Any) -> str | None:
    request = context.get("request")
    user = getattr(request, "user", None)
    return link_for(entry, user) if user is not None else None
