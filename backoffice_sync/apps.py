from __future__ import annotations

from django.apps import AppConfig


class BackofficeSyncConfig(AppConfig):
    name = "backoffice_sync"
    verbose_name = "Backoffice sync"
