from __future__ import annotations

from django.apps import AppConfig


class CustomersConfig(AppConfig):
    """The customer profile, the hub every app reads and writes (plugs in through hooks.py)."""

    name = "customers"
    verbose_name = "Customer profile"
