from __future__ import annotations

from django.apps import AppConfig


class BackofficeSyncConfig(AppConfig):
    name = "backoffice_sync"
    verbose_name = "Backoffice sync"

    def ready(self) -> None:
        from backoffice_sync.roles import GRANTS
        from frontoffice.roles import declare

        declare(GRANTS)

        from backoffice_sync.panels import register_inbox_hooks

        register_inbox_hooks()

        from backoffice_sync.customer_sync import on_profile_changed
        from customers.services import PROFILE_CHANGED
        from frontoffice import events

        events.subscribe(PROFILE_CHANGED, on_profile_changed)
