"""The service desk's measures, per period and per queue, from the same tables the
desk works on (3 queries whatever the period):

- first-contact resolution rate: cases resolved in the period that were resolved on
  first contact, over all cases resolved in the period;
- SLA attainment: of the cases resolved in the period under a policy, those resolved
  in time;
- median time to first response (cases opened in the period) and to resolution (cases
  resolved in the period), in minutes of wall-clock time;
- CSAT: the average score of cases resolved in the period that were rated;
- complaints per 100 orders: complaints opened in the period per 100 orders placed in it.
"""

from __future__ import annotations

import datetime as dt
import statistics
from dataclasses import asdict, dataclass, field
from typing import Any

from django.db.models import Q
from django.utils import timezone

from sales.orders.models import SalesOrder
from service.choices import CaseKind
from service.models import Case, Queue

ALL_QUEUES = "all"


@dataclass
class Measures:
    queue_id: int | None
    queue: str
    opened: int = 0
    resolved: int = 0
    complaints: int = 0
    fcr_rate: float | None = None
    sla_attainment: float | None = None
    median_first_response_minutes: float | None = None
    median_resolution_minutes: float | None = None
    csat_average: float | None = None
    csat_answers: int = 0
    complaints_per_100_orders: float | None = None
    _first: list[float] = field(default_factory=list, repr=False)
    _resolution: list[float] = field(default_factory=list, repr=False)
    _fcr: int = 0
    _sla_met: int = 0
    _sla_measured: int = 0
    _csat: list[int] = field(default_factory=list, repr=False)

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if not k.startswith("_")}


def _ratio(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _median(values: list[float]) -> float | None:
    return round(statistics.median(values), 1) if values else None


def _finish(m: Measures, orders: int) -> Measures:
    m.fcr_rate = _ratio(m._fcr, m.resolved)
    m.sla_attainment = _ratio(m._sla_met, m._sla_measured)
    m.median_first_response_minutes = _median(m._first)
    m.median_resolution_minutes = _median(m._resolution)
    m.csat_answers = len(m._csat)
    m.csat_average = round(sum(m._csat) / len(m._csat), 2) if m._csat else None
    m.complaints_per_100_orders = round(100 * m.complaints / orders, 2) if orders else None
    return m


def service_metrics(*, start: dt.datetime, end: dt.datetime, queue_id: int | None = None) -> dict[str, Any]:
    """The measures of [start, end) overall and per queue (see the module docstring)."""
    in_period = Q(created_at__gte=start, created_at__lt=end) | Q(resolved_at__gte=start, resolved_at__lt=end)
    cases = Case.objects.filter(in_period)
    if queue_id is not None:
        cases = cases.filter(queue_id=queue_id)
    rows = cases.values_list(
        "queue_id",
        "kind",
        "created_at",
        "first_response_at",
        "resolved_at",
        "first_contact_resolved",
        "resolution_met",
        "csat_score",
    )
    names = dict(Queue.objects.values_list("pk", "name"))
    orders = SalesOrder.objects.filter(created_at__gte=start, created_at__lt=end).count()
    total = Measures(queue_id=queue_id, queue=names.get(queue_id, "") if queue_id else ALL_QUEUES)
    per_queue: dict[int | None, Measures] = {}
    for qid, kind, created, first, resolved, fcr, met, csat in rows:
        bucket = per_queue.setdefault(
            qid, Measures(queue_id=qid, queue=names.get(qid, "") if qid else "No queue")
        )
        for m in (total, bucket):
            if start <= created < end:
                m.opened += 1
                if kind == CaseKind.COMPLAINT:
                    m.complaints += 1
                if first is not None:
                    m._first.append((first - created).total_seconds() / 60)
            if resolved is not None and start <= resolved < end:
                m.resolved += 1
                m._resolution.append((resolved - created).total_seconds() / 60)
                m._fcr += bool(fcr)
                if met is not None:
                    m._sla_measured += 1
                    m._sla_met += bool(met)
                if csat is not None:
                    m._csat.append(csat)
    return {
        "start": start,
        "end": end,
        "orders": orders,
        "total": _finish(total, orders).as_dict(),
        "queues": [
            _finish(m, orders).as_dict()
            for m in sorted(per_queue.values(), key=lambda m: (m.queue_id is None, m.queue))
        ],
    }


def default_period(now: dt.datetime | None = None, days: int = 30) -> tuple[dt.datetime, dt.datetime]:
    end = now or timezone.now()
    return end - dt.timedelta(days=days), end
