from __future__ import annotations

from django.apps import AppConfig


class SalesConfig(AppConfig):
    """Leads, pipelines, opportunities, quotes, orders and the forecast (plugs in through hooks.py)."""

    name = "sales"
    verbose_name = "Sales"
