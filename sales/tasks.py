"""Celery tasks of sales: thin, idempotent, each calls a service."""

from __future__ import annotations

from celery import shared_task

from sales import forecast, recommendations


@shared_task(name="sales.tasks.publish_forecast", ignore_result=True)
def publish_forecast() -> dict[str, object]:
    """Weekly: publish this ISO week's forecast to the ERP (idempotent per week and currency)."""
    result = forecast.forecast_publish()
    return {"week": result.week, "published": [s.forecast_ref for s in result.published]}


@shared_task(name="sales.tasks.recompute_affinities", ignore_result=True)
def recompute_affinities() -> int:
    """Daily: rebuild "customers who bought X also bought Y" from the ERP order mirror."""
    return recommendations.affinities_recompute()
