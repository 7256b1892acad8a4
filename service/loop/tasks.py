"""Celery tasks of the service loop: thin, idempotent (registered through
`service/tasks.py`, the module Celery's autodiscovery reads)."""

from __future__ import annotations

from typing import Any

from celery import shared_task

from service.loop import csat, proactive

DELAY_MAX_BATCHES = 10


@shared_task(bind=True, name="service.tasks.proactive_delay_sweep", ignore_result=True)
def proactive_delay_sweep(self: Any) -> int:
    """Hourly: customers whose order is past its promised date and not shipped get a
    message, the order's owner a follow-up (once per order). At most 10 batches of 200
    orders, one transaction per order; when work remains it re-enqueues itself."""
    total = 0
    for _ in range(DELAY_MAX_BATCHES):
        batch = proactive.proactive_delay_sweep()
        total += batch.messaged
        if not batch.more:
            return total
    self.apply_async()
    return total


@shared_task(name="service.tasks.csat_sweep", ignore_result=True)
def csat_sweep() -> int:
    """Every 10 minutes: a satisfaction survey for each case resolved since the last
    run (one batch of 200 cases, one transaction each)."""
    return csat.csat_sweep().sent
