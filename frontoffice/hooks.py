"""The kernel's own part: staff administration grants, the dashboard and API docs links,
beat's heartbeat."""

from __future__ import annotations

from frontoffice.plugin import AppHooks, NavItem, PeriodicTask
from frontoffice.roles import GRANTS

HOOKS = AppHooks(
    roles=GRANTS,
    navigation=[NavItem("Dashboard", "dashboard", order=0), NavItem("API docs", "api-docs", order=90)],
    periodic_tasks=[PeriodicTask("heartbeat", "frontoffice.tasks.heartbeat", 60.0)],
)
