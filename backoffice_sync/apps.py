from __future__ import annotations

from django.apps import AppConfig


class BackofficeSyncConfig(AppConfig):
    """The bridge to the ERP: outbox, inbox, mirrors (plugs in through hooks.py)."""

    name = "backoffice_sync"
    verbose_name = "Backoffice sync"
