"""Reads of the service loop: problem queues, the voice of the customer; each in a fixed
number of queries."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

from django.db.models import Avg, Count, Prefetch, Q, QuerySet
from django.db.models.functions import TruncWeek
from django.http import Http404
from django.utils import timezone

from frontoffice.write_path import as_id
from service.choices import CaseKind
from service.loop.choices import ProblemCategory
from service.loop.models import CsatSurvey, Problem, ProblemCase
from service.models import Case


def problem_base() -> QuerySet[Problem]:
    return Problem.objects.select_related("product", "owner", "opened_by", "resolved_by").annotate(
        case_count=Count("links")
    )


def problem_list(*, team: str | None = None, status: str | None = None) -> QuerySet[Problem]:
    """Problems, open first; one query with their case counts."""
    queryset = problem_base()
    if team:
        queryset = queryset.filter(team=team)
    if status == "open":
        queryset = queryset.exclude(status="resolved")
    elif status:
        queryset = queryset.filter(status=status)
    return queryset.order_by("resolved_at", "-created_at", "-id")


def problem_get(*, problem_id: object) -> Problem:
    """One problem with its cases, their customers and agents (2 queries)."""
    pk = as_id(problem_id)
    links = ProblemCase.objects.select_related("case__customer", "case__assignee").order_by("id")
    problem = (
        problem_base().prefetch_related(Prefetch("links", queryset=links)).filter(pk=pk).first()
        if pk
        else None
    )
    if problem is None:
        raise Http404("No such problem.")
    return problem


@dataclass
class CategoryTrend:
    category: str
    label: str
    weekly: list[int] = field(default_factory=list)
    total: int = 0
    csat: float | None = None
    csat_answers: int = 0


@dataclass
class VoiceOfCustomer:
    weeks: list[dt.date]
    trends: list[CategoryTrend]
    complaints: list[Case]
    praise: list[CsatSurvey]
    criticism: list[CsatSurvey]


def voice_of_customer(*, now: dt.datetime | None = None, weeks: int = 8, limit: int = 10) -> VoiceOfCustomer:
    """Recent complaints and praise, from cases and CSAT comments, with complaints per
    category per week and CSAT per category over `weeks` weeks (5 queries)."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    first_week = today - dt.timedelta(days=today.weekday() + 7 * (weeks - 1))
    since = dt.datetime.combine(first_week, dt.time.min, tzinfo=timezone.get_current_timezone())
    week_list = [first_week + dt.timedelta(days=7 * i) for i in range(weeks)]
    complaints_qs = Case.objects.filter(kind=CaseKind.COMPLAINT, created_at__gte=since, created_at__lte=now)
    counts: dict[str, dict[dt.date, int]] = defaultdict(dict)
    rows = (
        complaints_qs.annotate(week=TruncWeek("created_at"))
        .values("category", "week")
        .annotate(n=Count("id"))
        .order_by()
    )
    for row in rows:
        week = row["week"].date() if isinstance(row["week"], dt.datetime) else row["week"]
        counts[row["category"]][week] = row["n"]
    answered = CsatSurvey.objects.filter(answered_at__gte=since, answered_at__lte=now)
    csat = {
        row["case__category"]: row
        for row in answered.values("case__category").annotate(avg=Avg("score"), n=Count("id")).order_by()
    }
    trends = []
    for value, label in ProblemCategory.choices:
        weekly = [counts[value].get(week, 0) for week in week_list]
        score = csat.get(value)
        trends.append(
            CategoryTrend(
                category=value,
                label=label,
                weekly=weekly,
                total=sum(weekly),
                csat=round(float(score["avg"]), 2) if score and score["avg"] is not None else None,
                csat_answers=score["n"] if score else 0,
            )
        )
    recent = answered.exclude(comment="").select_related("case", "customer").order_by("-answered_at", "-id")
    return VoiceOfCustomer(
        weeks=week_list,
        trends=trends,
        complaints=list(complaints_qs.select_related("customer").order_by("-created_at", "-id")[:limit]),
        praise=list(recent.filter(score__gte=4)[:limit]),
        criticism=list(recent.filter(score__lte=2)[:limit]),
    )


def open_problem_count_by_team() -> dict[str, int]:
    return dict(
        Problem.objects.filter(~Q(status="resolved")).values_list("team").annotate(n=Count("id")).order_by()
    )
