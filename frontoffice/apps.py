from __future__ import annotations

from typing import cast

from django.apps import AppConfig, apps


class FrontofficeConfig(AppConfig):
    """The kernel: staff users and teams, and the plumbing every app builds on."""

    name = "frontoffice"
    verbose_name = "Frontoffice"

    def ready(self) -> None:
        from django.conf import settings
        from django.contrib.auth.signals import user_logged_in
        from django.db.models.signals import post_migrate

        from frontoffice import lookups, plugin, roles
        from frontoffice.middleware import SessionIdleTimeoutMiddleware

        del lookups  # imported for its registration of the `ilike` lookup
        # Every app's hooks, once, now that every model is loaded.
        for loaded in plugin.load():
            sender = apps.get_app_config(loaded.app_label)
            for receiver in loaded.hooks.post_migrate:
                post_migrate.connect(
                    receiver, sender=sender, dispatch_uid=f"{receiver.__module__}.{receiver.__qualname__}"
                )
        # The apps' names for their OpenAPI enums (drf-spectacular reads them lazily, at
        # the schema's first generation).
        overrides = cast(
            "dict[str, object]", settings.SPECTACULAR_SETTINGS.setdefault("ENUM_NAME_OVERRIDES", {})
        )
        for loaded in plugin.load():
            overrides.update(loaded.hooks.api_enums)
        # After every app's post_migrate work (sync_roles creates the permissions it
        # needs itself), after `migrate` and after the test runner's flushes.
        post_migrate.connect(roles.sync_roles, sender=self, dispatch_uid="frontoffice.sync_roles")
        user_logged_in.connect(
            SessionIdleTimeoutMiddleware.mark_login, dispatch_uid="frontoffice.session_seen_at_login"
        )
