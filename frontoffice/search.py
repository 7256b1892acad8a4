"""The global search: each app's search providers and number lookups, as far as the
user's roles reach. Read by the search box (`config.views.search`) and by
`GET /api/v1/search/` alike; neither names an app."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from frontoffice import plugin
from frontoffice.numbers import read_number

MIN_LENGTH = 2
MAX_LENGTH = 200
LIMIT = 8


@dataclass
class SearchGroup:
    key: str
    title: str
    noun: tuple[str, str]
    hits: list[plugin.SearchHit | plugin.NumberHit] = field(default_factory=list)
    more_url: str = ""
    by_number: bool = False

    @property
    def limited(self) -> bool:
        return len(self.hits) >= LIMIT


def searches_anything(user: Any) -> bool:
    return any(plugin.allowed(user, p.permission) for p in plugin.search_providers()) or any(
        plugin.allowed(user, n.permission) for n in plugin.number_lookups()
    )


def search_everything(*, q: str, user: Any, limit: int = LIMIT) -> list[SearchGroup]:
    """One group per number lookup and per search provider the user may use: the
    records whose number starts with `q` first (when `q` reads as a number), then
    each provider's hits. Below MIN_LENGTH characters nothing is looked up."""
    q = (q or "").strip()[:MAX_LENGTH]
    searched = len(q) >= MIN_LENGTH
    number = read_number(q) if searched else None
    groups = [
        SearchGroup(
            key=lookup.key,
            title=lookup.title,
            noun=lookup.noun,
            hits=list(lookup.find(number=number, actor=user, limit=limit)) if number else [],
            by_number=True,
        )
        for lookup in plugin.number_lookups()
        if plugin.allowed(user, lookup.permission)
    ]
    for provider in plugin.search_providers():
        if not plugin.allowed(user, provider.permission):
            continue
        groups.append(
            SearchGroup(
                key=provider.key,
                title=provider.title,
                noun=provider.noun,
                hits=list(provider.search(q=q, actor=user, limit=limit)) if searched else [],
                more_url=provider.more_url(q) if provider.more_url and searched else "",
            )
        )
    return groups
