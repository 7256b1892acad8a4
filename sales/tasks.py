"""Celery tasks of sales: thin, idempotent, each calls a service."""

from __future__ import annotations

from typing import Any

from celery import shared_task

from sales import forecast, quote_expiry, recommendations

# Batches one run of the expiry sweep handles before it hands over to a fresh task.
EXPIRE_MAX_BATCHES = 20


@shared_task(name="sales.tasks.publish_forecast", ignore_result=True)
def publish_forecast() -> dict[str, object]:
    """Weekly: publish this ISO week's forecast to the ERP (idempotent per week and currency)."""
    result = forecast.forecast_publish()
    return {"week": result.week, "published": [s.forecast_ref for s in result.published]}


@shared_task(name="sales.tasks.recompute_affinities", ignore_result=True)
def recompute_affinities() -> int:
    """Daily: rebuild "customers who bought X also bought Y" from the ERP order mirror."""
    return recommendations.affinities_recompute()


@shared_task(bind=True, name="sales.tasks.expire_quotes", ignore_result=True)
def expire_quotes(self: Any, batch_size: int = quote_expiry.EXPIRE_BATCH) -> int:
    """Hourly: sent quotes past their validity date become expired, one timeline entry
    each (`quote_expiry.quotes_expire`). Idempotent. Cost: at most EXPIRE_MAX_BATCHES
    transactions of `batch_size` quotes, 3 queries each; when work remains it
    re-enqueues itself on the queue it came from."""
    expired = 0
    for _ in range(EXPIRE_MAX_BATCHES):
        batch = quote_expiry.quotes_expire(batch_size=batch_size)
        expired += batch.expired
        if not batch.more:
            return expired
    queue = (self.request.delivery_info or {}).get("routing_key") or None
    self.apply_async(kwargs={"batch_size": batch_size}, queue=queue)
    return expired
