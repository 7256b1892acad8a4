"""How a timeline entry is shown: each kind's label, icon, tone and link, from the hooks
of the app that writes it. A kind no app declares (an old row, a removed app) shows as
"Activity": a raw code never reaches a person."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from customers.models import Activity
from frontoffice import plugin
from frontoffice.permissions import readable_by
from frontoffice.plugin import TimelineKind, TimelineTone

UNKNOWN = TimelineKind(code="", label="Activity", icon="•", tone=TimelineTone.NEUTRAL)


def kind_of(code: str) -> TimelineKind:
    return plugin.timeline_kinds().get(code, UNKNOWN)


def kind_choices() -> list[tuple[str, str]]:
    """(code, label) of every declared kind, by label: the timeline's filter."""
    return sorted(((k.code, k.label) for k in plugin.timeline_kinds().values()), key=lambda c: c[1])


def hidden_kinds(user: Any) -> list[str]:
    """The kinds whose entries `user` may not see (their `view_permission`)."""
    return sorted(
        k.code
        for k in plugin.timeline_kinds().values()
        if k.view_permission and not plugin.allowed(user, k.view_permission)
    )


def visible_to(user: Any, entries: QuerySet[Activity]) -> QuerySet[Activity]:
    """`entries` without those `user` may not see, by their kind's `view_permission` or
    their own (a message about an invoice): every reader of the timeline (page, 360 API,
    timeline and activities endpoints) filters through here."""
    hidden = hidden_kinds(user)
    return readable_by(user, entries.exclude(kind__in=hidden) if hidden else entries)


def visible_kind_choices(user: Any) -> list[tuple[str, str]]:
    """`kind_choices` less the kinds `user` may not see: the page's filter."""
    hidden = set(hidden_kinds(user))
    return [(code, label) for code, label in kind_choices() if code not in hidden]


def link_for(entry: Any, user: Any) -> str | None:
    """The page of the record `entry` refers to, when its kind links there and `user`
    may open it."""
    kind = plugin.timeline_kinds().get(entry.kind)
    if kind is None or kind.link is None or not entry.ref_id:
        return None
    if kind.ref_type and entry.ref_type != kind.ref_type:
        return None
    if not plugin.allowed(user, kind.link_permission):
        return None
    return kind.link(entry.ref_id)
