"""Keyset pages for the HTML lists: "newer / older" links that carry the last row's
ordering values, instead of `?page=N` and its `OFFSET`, which reads and throws away
every row before the page (page 2,000 of a million customers took 149 ms against
55 ms for page 1), and without the `COUNT(*)` over the whole filtered set on every
page (68 ms at a million customers): the count stops at `count_cap`.

The cursor is the API's (frontoffice.api.CursorPagination): the same validation, the
same row comparison, so a page is one indexed range read at any depth.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet
from django.http import HttpRequest
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request

from frontoffice.api import CursorPagination

COUNT_CAP = 1000


class _PageCursor(CursorPagination):
    """The API's cursor; a page shows its first rows for a cursor that is not ours
    (an old bookmark, a hand-edited URL) where the API answers 400."""

    def _decode(self, request: Request) -> tuple[list[Any] | None, bool]:
        try:
            return super()._decode(request)
        except ValidationError:
            return None, False

    def get_page_size(self, request: Request) -> int:
        return self.page_size


@dataclass
class KeysetPage:
    object_list: list[Any]
    has_next: bool
    has_previous: bool
    next_cursor: str | None
    previous_cursor: str | None  # None with has_previous: the first page
    count: int
    count_capped: bool  # `count` stopped at the cap: there are more

    @property
    def has_other_pages(self) -> bool:
        return self.has_next or self.has_previous


def keyset_page(
    request: HttpRequest,
    queryset: QuerySet[Any],
    *,
    ordering: list[str],
    page_size: int,
    count_cap: int = COUNT_CAP,
) -> KeysetPage:
    """The page `?cursor=` names in `ordering` (ending with a unique column; every
    term one direction for the row comparison), and at most `count_cap` + 1 rows
    counted. A cursor that is not one of ours shows the first page."""
    paginator = _PageCursor()
    paginator.ordering = tuple(ordering)
    paginator.page_size = page_size
    rows = paginator.paginate_queryset(queryset, Request(request))
    fields = paginator.fields
    has_next = bool(paginator.has_next and rows)
    has_previous = bool(paginator.has_previous)
    # Counted up to the cap only: a bounded read whatever the size of the base.
    count = queryset.order_by()[: count_cap + 1].count()
    return KeysetPage(
        object_list=rows,
        has_next=has_next,
        has_previous=has_previous,
        next_cursor=paginator._encode(rows[-1], fields, reverse=False) if has_next else None,
        previous_cursor=paginator._encode(rows[0], fields, reverse=True) if has_previous and rows else None,
        count=min(count, count_cap),
        count_capped=count > count_cap,
    )
