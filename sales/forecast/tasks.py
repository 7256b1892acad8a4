"""Celery tasks of the forecast: thin, idempotent, each calls a service. (Registered by
name through `sales/tasks.py`, the module Celery's autodiscovery reads.)"""

from __future__ import annotations

from celery import shared_task

from frontoffice.actors import SCHEDULER
from sales.forecast import services


@shared_task(name="sales.tasks.publish_forecast", ignore_result=True)
def publish_forecast() -> dict[str, object]:
    """Weekly: publish this ISO week's forecast to the ERP (idempotent per week and currency)."""
    result = services.forecast_publish(actor=SCHEDULER)
    return {"week": result.week, "published": [s.forecast_ref for s in result.published]}


@shared_task(name="sales.tasks.recompute_affinities", ignore_result=True)
def recompute_affinities() -> int:
    """Daily: rebuild "customers who bought X also bought Y" from the ERP order mirror."""
    return services.affinities_recompute(actor=SCHEDULER)
