from __future__ import annotations

from django.apps import AppConfig


class FrontofficeConfig(AppConfig):
    name = "frontoffice"
    verbose_name = "Frontoffice"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in
        from django.db.models.signals import post_migrate

        from frontoffice import roles
        from frontoffice.middleware import SessionIdleTimeoutMiddleware

        roles.declare(roles.GRANTS)
        # After every app's post_migrate work (sync_roles creates the permissions it
        # needs itself), after `migrate` and after the test runner's flushes.
        post_migrate.connect(roles.sync_roles, sender=self, dispatch_uid="frontoffice.sync_roles")
        user_logged_in.connect(
            SessionIdleTimeoutMiddleware.mark_login, dispatch_uid="frontoffice.session_seen_at_login"
        )
