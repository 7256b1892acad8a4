"""Celery tasks of the back-office sync: thin, idempotent, each calls a service."""

from __future__ import annotations

from typing import Any

from celery import shared_task
from django.conf import settings

from backoffice_sync import outbox


@shared_task(bind=True, name="backoffice_sync.tasks.relay_outbox", ignore_result=True)
def relay_outbox(self: Any, lease_seconds: int | None = None, fan_out: bool = True) -> dict[str, int]:
    """Deliver due outbox messages to the ERP; kicked on commit and swept by beat.

    Idempotent and safe to run in parallel (leases per aggregate, per-message idempotency
    keys). Cost: at most 50 ERP calls of OUTBOX_BATCH_SIZE messages, 4-7 queries each,
    within about a minute; when work remains it re-enqueues itself on the queue it came
    from. When its first batch comes back full (a backlog, e.g. after an outage), a kicked
    or swept run (`fan_out`) also starts OUTBOX_RELAY_CONCURRENCY - 1 more runs, at most
    once per FAN_OUT_SECONDS, so that every worker drains; those never fan out themselves.
    Waits between attempts live on the rows (`next_attempt_at`) and on the circuit
    breaker's row, never in a countdown.
    """
    outbox.clear_kick()
    queue = (self.request.delivery_info or {}).get("routing_key") or None

    def spread() -> None:
        if not fan_out or not outbox.claim_fan_out():
            return
        for _ in range(settings.OUTBOX_RELAY_CONCURRENCY - 1):
            self.apply_async(kwargs={"lease_seconds": lease_seconds, "fan_out": False}, queue=queue)

    report, more = outbox.relay_due(lease_seconds=lease_seconds, on_full_batch=spread)
    if more:
        self.apply_async(kwargs={"lease_seconds": lease_seconds, "fan_out": False}, queue=queue)
    return {
        "claimed": report.claimed,
        "delivered": report.delivered,
        "retrying": report.retrying,
        "dead": report.dead,
    }


# --- inbox: polling the ERP ------------------------------------------------------------

POLL_MAX_PAGES = 10


@shared_task(bind=True, name="backoffice_sync.tasks.poll_erp", ignore_result=True)
def poll_erp(self: Any) -> dict[str, Any]:
    """Pull the ERP's changes since the stored cursor into the inbox and apply them;
    then apply what earlier attempts left stored but unapplied. Swept by beat.

    Idempotent (events are keyed by id; the cursor moves only after a page is stored).
    Cost: at most POLL_MAX_PAGES ERP calls of 500 events, a few queries per event; when
    more remains it re-enqueues itself. An unreachable ERP is recorded on the cursor and
    left to the next beat (no retry loop here).
    """
    # Imported here so that this block stays apart from the outbox tasks above.
    from backoffice_sync.erp import ErpError
    from backoffice_sync.inbox import inbox_apply_pending, pull_changes_once

    totals = {"received": 0, "duplicates": 0, "applied": 0, "pages": 0}
    more = False
    for _ in range(POLL_MAX_PAGES):
        try:
            report = pull_changes_once()
        except ErpError as exc:
            return {**totals, "error": f"{type(exc).__name__}: {exc}"[:300]}
        totals["pages"] += 1
        totals["received"] += report.received
        totals["duplicates"] += report.duplicates
        totals["applied"] += report.applied
        more = report.has_more
        if not more:
            break
    totals["swept"] = inbox_apply_pending()
    if more:
        queue = (self.request.delivery_info or {}).get("routing_key") or None
        self.apply_async(queue=queue)
    return totals


# --- reconciliation and the simulator's clock --------------------------------------------


@shared_task(name="backoffice_sync.tasks.reconcile_erp", ignore_result=True)
def reconcile_erp() -> dict[str, Any]:
    """Compare order counts and invoice sums per day with the ERP (monitor page).
    Idempotent: each run overwrites the days it checks. An unreachable ERP is left to
    the next beat."""
    from backoffice_sync.erp import ErpError
    from backoffice_sync.sync_status import reconcile

    try:
        days = reconcile()
    except ErpError as exc:
        return {"error": f"{type(exc).__name__}: {exc}"[:300]}
    return {"days": len(days), "drift": sum(1 for day in days if day.drift)}


@shared_task(name="backoffice_sync.tasks.tick_simulator", ignore_result=True)
def tick_simulator(hours: float = 6.0) -> str | None:
    """With the in-process `stub` ERP, move the simulator's clock up to now, by at most
    `hours` per run (a machine that slept catches up over a few runs), so that orders
    ship, get invoiced and paid as real time passes and no ERP fact is ever dated after
    now (a real ERP has its own clock). Idempotent: a redelivered or overlapping run
    finds the clock already at now. Cost: one simulator step, plus one per midnight crossed."""
    from django.conf import settings
    from django.utils import timezone

    from backoffice_sync.adapters.stub import StubAdapter
    from backoffice_sync.erp import get_adapter

    adapter = get_adapter()
    if not isinstance(adapter, StubAdapter) or not settings.ERP_SIMULATOR_TICK_HOURS:
        return None
    return adapter.catch_up(until=timezone.now(), max_hours=hours).isoformat()
