"""The sync monitor: how the outbox, the inbox and the pull are doing, and whether our
mirrors and the ERP agree (the reconciliation).

`sync_status` is the one read behind the monitor page and `GET /api/v1/sync/status/`;
`reconcile` is the periodic comparison, run by the `reconcile_erp` task.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Max, Min, Sum
from django.urls import reverse
from django.utils import timezone

from backoffice_sync.circuit import circuit_status
from backoffice_sync.erp import ErpAdapter, get_adapter
from backoffice_sync.models import (
    ErpOrderStatusChange,
    Invoice,
    OutboxMessage,
    OutboxStatus,
    ReconciliationDay,
)
from backoffice_sync.selectors import outbox_health, outbox_waiting_behind
from backoffice_sync.selectors_mirrors import inbox_counts, sync_cursor

log = logging.getLogger(__name__)

DEAD_LETTERS_SHOWN = 50
RECONCILE_DAYS = 14


def sync_status(*, actor: Any, window_minutes: int = 15) -> dict[str, Any]:
    """Everything the monitor shows (10 queries whatever the volume)."""
    health = outbox_health(actor=actor, window_minutes=window_minutes)
    breaker = circuit_status()
    cursor = sync_cursor()
    dead = list(
        OutboxMessage.objects.filter(status=OutboxStatus.DEAD).order_by("-dead_at", "-id")[
            :DEAD_LETTERS_SHOWN
        ]
    )
    waiting = outbox_waiting_behind(actor=actor, dead=dead)
    attempts = health.delivered_recently + health.failed_recently
    days = list(ReconciliationDay.objects.order_by("-day")[:RECONCILE_DAYS])
    return {
        "circuit": {
            "state": breaker.state,
            "since": breaker.since,
            "unavailable_since": breaker.unavailable_since,
            "unavailable_seconds": breaker.unavailable_seconds,
            "next_probe_at": breaker.next_probe_at,
            "failed_probes": breaker.probes,
            "last_error": breaker.last_error,
            "alerted_at": breaker.alerted_at,
        },
        "backlog": health.pending,
        "pending": health.pending,
        "in_flight": health.in_flight,
        "dead": health.dead,
        "blocked": health.blocked,
        "oldest_pending_age_seconds": (
            health.oldest_pending_age.total_seconds() if health.oldest_pending_age else None
        ),
        "window_minutes": window_minutes,
        "delivered_in_window": health.delivered_recently,
        "failed_in_window": health.failed_recently,
        "delivery_rate_per_minute": round(health.delivered_recently / window_minutes, 2),
        "error_rate": round(health.failed_recently / attempts, 4) if attempts else 0.0,
        "inbox": inbox_counts(),
        "last_successful_pull": cursor.last_success_at if cursor else None,
        "last_pull_error": cursor.last_error if cursor else "",
        "dead_letters": [
            {
                "id": m.pk,
                "kind": m.kind,
                "aggregate": m.aggregate,
                "sequence": m.sequence,
                "attempts": m.attempts,
                "last_error": m.last_error,
                "erp_answer": m.erp_answer,
                "erp_reason": m.erp_reason,
                "dead_at": m.dead_at,
                "replay_url": reverse("sync-outbox-replay", args=[m.pk]),
                "skip_url": reverse("sync-outbox-skip", args=[m.pk]),
                "waiting_count": waiting[m.pk].count,
                "waiting": [
                    {"id": w.pk, "kind": w.kind, "sequence": w.sequence, "created_at": w.created_at}
                    for w in waiting[m.pk].first
                ],
                "waiting_reason": (
                    f"Delivery is in order per aggregate: {waiting[m.pk].count} later message"
                    f"{'s' if waiting[m.pk].count != 1 else ''} of {m.aggregate} wait until message "
                    f"{m.pk} ({m.kind}) is replayed and delivered, or skipped."
                    if waiting[m.pk].count
                    else ""
                ),
            }
            for m in dead
        ],
        "reconciliation": [
            {
                "day": d.day,
                "orders_here": d.orders_here,
                "orders_erp": d.orders_erp,
                "invoiced_here": d.invoiced_here,
                "invoiced_erp": d.invoiced_erp,
                "drift": d.drift,
            }
            for d in days
        ],
        "reconciled_at": max((d.checked_at for d in days), default=None),
    }


def _money(amount: Decimal | None) -> str:
    return f"{(amount or Decimal(0)):.2f}"


def totals_here(*, since: dt.date, until: dt.date) -> dict[dt.date, tuple[int, dict[str, str]]]:
    """Per ERP day: orders first reported that day, and invoices issued, per currency
    (2 queries)."""
    start = dt.datetime.combine(since, dt.time.min, tzinfo=dt.UTC)
    end = dt.datetime.combine(until + dt.timedelta(days=1), dt.time.min, tzinfo=dt.UTC)
    # Orders whose first reported status falls in the window (GROUP BY ... HAVING: the
    # rows read are the window's orders, not the whole history).
    first_reported = (
        ErpOrderStatusChange.objects.values("order_id")
        .annotate(first=Min("occurred_at"))
        .filter(first__gte=start, first__lt=end)
        .values_list("first", flat=True)
    )
    orders: dict[dt.date, int] = defaultdict(int)
    for first in first_reported:
        orders[first.astimezone(dt.UTC).date()] += 1
    invoiced: dict[dt.date, dict[str, str]] = defaultdict(dict)
    rows = (
        Invoice.objects.filter(issued_on__range=(since, until))
        .values("issued_on", "currency")
        .annotate(total=Sum("amount"))
        .values_list("issued_on", "currency", "total")
    )
    for day, currency, total in rows:
        invoiced[day][currency] = _money(total)
    return {day: (orders.get(day, 0), invoiced.get(day, {})) for day in set(orders) | set(invoiced)}


def reconcile(
    *, adapter: ErpAdapter | None = None, days: int = RECONCILE_DAYS, until: dt.date | None = None
) -> list[ReconciliationDay]:
    """Compare the `days` ERP days up to `until` (default: the latest day either side has
    seen, so that a simulator whose clock runs ahead is followed) with the ERP; store and
    return each day's result. Raises ErpUnavailable when the ERP cannot answer (the task
    tries again on its schedule)."""
    adapter = adapter or get_adapter()
    if until is None:
        latest = Invoice.objects.aggregate(latest=Max("issued_on"))["latest"]
        until = max(filter(None, [latest, timezone.now().astimezone(dt.UTC).date()]))
    since = until - dt.timedelta(days=days - 1)
    erp = {t.day: t for t in adapter.daily_totals(since=since, until=until)}
    here = totals_here(since=since, until=until)
    now = timezone.now()
    results = []
    with transaction.atomic():
        for day in sorted(set(here) | set(erp)):
            orders_here, invoiced_here = here.get(day, (0, {}))
            theirs = erp.get(day)
            orders_erp = theirs.orders if theirs else 0
            invoiced_erp = {c: _money(a) for c, a in theirs.invoiced.items()} if theirs else {}
            drift = orders_here != orders_erp or ReconciliationDay.sums_differ(invoiced_here, invoiced_erp)
            row, _ = ReconciliationDay.objects.update_or_create(
                day=day,
                defaults={
                    "orders_here": orders_here,
                    "orders_erp": orders_erp,
                    "invoiced_here": invoiced_here,
                    "invoiced_erp": invoiced_erp,
                    "drift": drift,
                    "checked_at": now,
                },
            )
            results.append(row)
    drifting = [r.day.isoformat() for r in results if r.drift]
    if drifting:
        log.warning("reconciliation: drift with the ERP on %s", ", ".join(drifting))
    return results
