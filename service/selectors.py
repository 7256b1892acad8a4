"""Every non-trivial read of the service desk, each with a fixed query count."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db.models import QuerySet
from django.urls import reverse

from service.choices import OPEN_STATUSES
from service.filters import CaseFilter
from service.models import Case

PANEL_LIMIT = 5


def case_base() -> QuerySet[Case]:
    return Case.objects.select_related("customer", "assignee")


def case_list(*, filters: Mapping[str, Any] | None = None, actor: Any = None) -> QuerySet[Case]:
    """Cases, filtered, with what a list row shows (one query per page)."""
    cases: QuerySet[Case] = CaseFilter(filters or {}, queryset=case_base()).qs
    return cases


def open_cases_panel(*, customer: Any, actor: Any) -> dict[str, Any]:
    """The 360 panel "Open cases": the newest open ones and how many there are (1 query)."""
    rows = list(
        Case.objects.filter(customer=customer, status__in=OPEN_STATUSES)
        .order_by("-created_at", "-id")
        .values("id", "kind", "subject", "priority", "status", "created_at")[: PANEL_LIMIT + 1]
    )
    return {
        "cases": [
            {
                **row,
                "reference": f"C-{row['id']:06d}",
                "url": reverse("service:case_detail", args=[row["id"]]),
            }
            for row in rows[:PANEL_LIMIT]
        ],
        "more": len(rows) > PANEL_LIMIT,
    }
