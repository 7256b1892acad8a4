"""The kernel's own part: staff administration grants, the dashboard and API docs links,
beat's heartbeat."""

from __future__ import annotations

from celery.schedules import crontab

from frontoffice.api_search import SearchViewSet
from frontoffice.api_tokens import ApiTokenViewSet
from frontoffice.plugin import ApiRoute, AppHooks, NavItem, PeriodicTask
from frontoffice.roles import GRANTS

HOOKS = AppHooks(
    roles=GRANTS,
    navigation=[NavItem("Dashboard", "dashboard", order=0), NavItem("API docs", "api-docs", order=90)],
    api_routes=[
        ApiRoute("auth/tokens", ApiTokenViewSet, "api-token"),
        ApiRoute("search", SearchViewSet, "search"),
    ],
    periodic_tasks=[
        PeriodicTask("heartbeat", "frontoffice.tasks.heartbeat", 60.0),
        # Sessions that ended (idle or logged out elsewhere) leave rows behind.
        PeriodicTask(
            "clear-expired-sessions", "frontoffice.tasks.clear_expired_sessions", crontab(minute=15, hour=4)
        ),
        # Idempotency-Keys and one-time form tokens past IDEMPOTENCY_KEY_TTL_HOURS.
        PeriodicTask(
            "purge-idempotency-keys", "frontoffice.tasks.purge_idempotency_keys", crontab(minute=40)
        ),
        # Expired API tokens are refused when used; their rows go here.
        PeriodicTask(
            "purge-expired-api-tokens", "frontoffice.tasks.purge_expired_api_tokens", crontab(minute=45)
        ),
    ],
)
