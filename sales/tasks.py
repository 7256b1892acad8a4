"""Sales' Celery tasks, for Celery's autodiscovery (which reads `<app>.tasks`): each lives
with its subdomain and keeps the name beat and the queues know it by."""

from __future__ import annotations

from sales.forecast.tasks import publish_forecast, recompute_affinities
from sales.quotes.tasks import expire_quotes, send_quote_email

__all__ = ["expire_quotes", "publish_forecast", "recompute_affinities", "send_quote_email"]
