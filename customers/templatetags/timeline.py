"""Template helpers for timeline entries: `{{ entry.kind|timeline_kind }}`,
`{% timeline_link entry as url %}` and `{% timeline_entries entries %}`, the entries'
list items rendered in one pass (the 360 page shows 50 of them on every visit)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django import template
from django.template.defaultfilters import capfirst, linebreaksbr, truncatechars
from django.template.loader import render_to_string
from django.utils import dateformat, timezone, translation
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from customers.timeline_kinds import kind_of, link_for
from frontoffice import plugin
from frontoffice.plugin import TimelineKind

register = template.Library()

BODY_CHARS = 600  # what an entry shows of its body; the rest is behind its record's link

# The markup of one entry, with the whitespace customers/_timeline_entry.html had as an include.
ENTRY = """<li class="timeline__item"{focus}>
  {badge}
  <div class="timeline__body">
    <p class="timeline__subject">{subject}</p>
    {body}
    <p class="timeline__meta">
      <time datetime="{iso}">{moment}</time>
      · {who} · {source}
    </p>
  </div>
</li>
"""
FOCUS = SafeString(' tabindex="-1" data-focus-on-load')


@register.filter
def timeline_kind(code: str) -> TimelineKind:
    return kind_of(code)


@register.simple_tag(takes_context=True)
def timeline_link(context: Any, entry: Any) -> str | None:
    request = context.get("request")
    user = getattr(request, "user", None)
    return link_for(entry, user) if user is not None else None


# A kind's badge is the same on every entry: rendered from its template once per kind,
# language and set of installed hooks (tests plug kinds in and out).
_badges: dict[tuple[int, str, str], SafeString] = {}


def timeline_badge(code: str) -> SafeString:
    key = (plugin.generation(), translation.get_language() or "", code)
    badge = _badges.get(key)
    if badge is None:
        if len(_badges) > 1000:  # codes come from rows: keep the memo bounded
            _badges.clear()
        badge = _badges[key] = render_to_string("customers/_timeline_badge.html", {"kind": code})
    return badge


class _Moments:
    """A moment as the `date` filter prints it in the current time zone: `c` (ISO 8601)
    and "j M Y, H:i" (the month's short name read once per month, not per entry)."""

    def __init__(self) -> None:
        self.months: dict[int, str] = {}

    def __call__(self, moment: Any) -> tuple[str, str]:
        if moment is None:  # an unsaved entry: the filter prints nothing
            return "", ""
        local = timezone.localtime(moment) if timezone.is_aware(moment) else moment
        month = self.months.get(local.month)
        if month is None:
            month = self.months[local.month] = dateformat.format(local, "M")
        return (
            local.isoformat(),
            f"{local.day} {month} {local.year:04d}, {local.hour:02d}:{local.minute:02d}",
        )


def _who(entry: Any) -> Any:
    if entry.actor:
        return entry.actor
    if entry.system_actor:
        return format_html("System ({})", entry.system_actor)
    return "System"


def entries_html(entries: Iterable[Any], *, user: Any, appended: bool = False) -> SafeString:
    """The list items of `entries` (newest first), as an include of one entry printed
    them: each kind's badge, its link when `user` may follow it, the body's
    first 600 characters with line breaks, when and who. `appended`: the first item
    takes the focus (the entries after "Load more")."""
    moments = _Moments()
    links: dict[tuple[str, str, str], str | None] = {}
    items = []
    for position, entry in enumerate(entries):
        link = None
        if user is not None and entry.ref_id:
            key = (entry.kind, entry.ref_type, entry.ref_id)
            if key not in links:
                links[key] = link_for(entry, user)
            link = links[key]
        iso, moment = moments(entry.occurred_at)
        items.append(
            format_html(
                ENTRY,
                focus=FOCUS if appended and position == 0 else "",
                badge=timeline_badge(entry.kind),
                subject=format_html('<a href="{}">{}</a>', link, entry.subject) if link else entry.subject,
                body=(
                    format_html(
                        '<p class="timeline__text">{}</p>',
                        linebreaksbr(truncatechars(entry.body, BODY_CHARS)),
                    )
                    if entry.body
                    else ""
                ),
                iso=iso,
                moment=moment,
                who=_who(entry),
                source=capfirst(entry.source_app),
            )
        )
    return format_html_join("", "{}", ((item,) for item in items))


@register.simple_tag(takes_context=True)
def timeline_entries(context: Any, entries: Iterable[Any], appended: bool = False) -> SafeString:
    request = context.get("request")
    return entries_html(entries, user=getattr(request, "user", None), appended=appended)


@register.simple_tag(takes_context=True)
def timeline_entry(context: Any, entry: Any) -> SafeString:
    """One entry (customers/_timeline_entry.html), in a loop of the caller's or alone."""
    request = context.get("request")
    forloop = context.get("forloop") or {}
    appended = bool(context.get("appended")) and bool(forloop.get("first"))
    return entries_html([entry], user=getattr(request, "user", None), appended=appended)
