"""Celery tasks of the service desk: thin, they call a service."""

from __future__ import annotations

from celery import shared_task

from frontoffice.actors import SCHEDULER
from service.escalation import sla_sweep as run_sla_sweep


@shared_task(name="service.tasks.sla_sweep", ignore_result=True)
def sla_sweep() -> dict[str, int]:
    """Warn before and escalate on SLA breaches: at most 200 cases of each per run, one
    short transaction per case."""
    report = run_sla_sweep(actor=SCHEDULER)
    return {"warned": report.warned, "escalated": report.escalated}


# The service loop's tasks live with it; imported here for Celery's autodiscovery.
from service.loop.tasks import csat_sweep, proactive_delay_sweep  # noqa: E402, F401
