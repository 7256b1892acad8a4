"""Every non-trivial read of cases and queues, each with a fixed query count.
(The console's reads: `selectors_console`; the measures: `selectors_metrics`.)"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db.models import Count, Prefetch, Q, QuerySet
from django.urls import reverse

from frontoffice.actors import user_of
from service.choices import OPEN_STATUSES, CaseKind, GoodwillStatus
from service.filters import CallFilter, CaseFilter, GoodwillFilter
from service.models import AgentNotification, Call, Case, CaseNote, GoodwillCredit, Queue, SlaPolicy

PANEL_LIMIT = 5


def open_complaint_customers() -> QuerySet[Case, Any]:
    """The ids of customers with an open complaint (a case of kind complaint not yet
    resolved or closed): the `open_complaint` customer fact, a subquery (no query here)."""
    return Case.objects.filter(kind=CaseKind.COMPLAINT, status__in=OPEN_STATUSES).values("customer_id")


def case_base() -> QuerySet[Case]:
    return Case.objects.select_related("customer", "assignee", "queue", "related_order")


def case_list(*, filters: Mapping[str, Any] | None = None, actor: Any = None) -> QuerySet[Case]:
    """Cases, filtered, with what a list row shows (one query per page)."""
    cases: QuerySet[Case] = CaseFilter(filters or {}, queryset=case_base()).qs
    return cases


def my_cases(*, actor: Any, filters: Mapping[str, Any] | None = None) -> QuerySet[Case]:
    """The actor's open cases, most urgent due first (one query per page)."""
    return (
        case_list(filters=filters)
        .filter(assignee_id=getattr(actor, "pk", None), status__in=OPEN_STATUSES)
        .order_by("resolution_due_at", "-created_at", "-id")
    )


def queue_cases(*, queue_id: int, filters: Mapping[str, Any] | None = None) -> QuerySet[Case]:
    """A queue's open cases, soonest due first (one query per page)."""
    return (
        case_list(filters=filters)
        .filter(queue_id=queue_id, status__in=OPEN_STATUSES)
        .order_by("resolution_due_at", "-created_at", "-id")
    )


def case_detail(*, case_id: int) -> Case | None:
    """One case with its notes, calls and goodwill (4 queries)."""
    return (
        case_base()
        .select_related("opened_by", "sla_policy")
        .prefetch_related(
            Prefetch("notes", queryset=CaseNote.objects.order_by("created_at", "id")),
            Prefetch("calls", queryset=Call.objects.select_related("agent").order_by("-occurred_at", "-id")),
            Prefetch(
                "goodwill", queryset=GoodwillCredit.objects.select_related("requested_by", "decided_by")
            ),
        )
        .filter(pk=case_id)
        .first()
    )


def queue_list(*, actor: Any = None) -> QuerySet[Queue]:
    """Queues with their members and open case counts (2 queries)."""
    return (
        Queue.objects.select_related("escalation_queue")
        .prefetch_related("members")
        .annotate(
            open_cases=Count("cases", filter=Q(cases__status__in=OPEN_STATUSES)),
            breached_cases=Count(
                "cases", filter=Q(cases__status__in=OPEN_STATUSES, cases__sla_breached=True)
            ),
        )
        .order_by("name")
    )


def my_queues(*, actor: Any) -> QuerySet[Queue]:
    return queue_list().filter(members=getattr(actor, "pk", None))


def sla_policy_list() -> QuerySet[SlaPolicy]:
    return SlaPolicy.objects.select_related("calendar").order_by("priority", "tier", "id")


def call_list(*, filters: Mapping[str, Any] | None = None) -> QuerySet[Call]:
    calls: QuerySet[Call] = CallFilter(
        filters or {}, queryset=Call.objects.select_related("customer", "agent", "case")
    ).qs
    return calls


def goodwill_list(*, filters: Mapping[str, Any] | None = None) -> QuerySet[GoodwillCredit]:
    credits_: QuerySet[GoodwillCredit] = GoodwillFilter(
        filters or {},
        queryset=GoodwillCredit.objects.select_related("case", "customer", "requested_by", "decided_by"),
    ).qs
    return credits_


def pending_goodwill_count() -> int:
    return GoodwillCredit.objects.filter(status=GoodwillStatus.PENDING).count()


def unread_notifications(*, actor: Any, limit: int = 10) -> list[AgentNotification]:
    user = user_of(actor)
    if user is None:
        return []
    return list(
        AgentNotification.objects.filter(recipient=user, read_at__isnull=True)
        .select_related("case")
        .order_by("-created_at", "-id")[:limit]
    )


def open_cases_panel(*, customer: Any, actor: Any) -> dict[str, Any]:
    """The 360 panel "Open cases": the newest open ones and how many there are (1 query)."""
    rows = list(
        Case.objects.filter(customer=customer, status__in=OPEN_STATUSES)
        .order_by("-created_at", "-id")
        .values("id", "kind", "subject", "priority", "status", "created_at", "sla_breached")[
            : PANEL_LIMIT + 1
        ]
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
