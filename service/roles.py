"""What each role may do with the service desk; listed in hooks.py."""

from __future__ import annotations

from frontoffice.roles import Role

READ = [
    "service.view_case",
    "service.view_call",
    "service.view_goodwillcredit",
    "service.view_queue",
    "service.view_slapolicy",
]
WORK_CASES = [
    *READ,
    "service.add_case",
    "service.change_case",
    "service.add_call",
    "service.add_goodwillcredit",
]
SETTINGS = [
    "service.manage_service_settings",
    "service.add_queue",
    "service.change_queue",
    "service.add_slapolicy",
    "service.change_slapolicy",
    "service.view_goodwilllimit",
    "service.add_goodwilllimit",
    "service.change_goodwilllimit",
    "service.view_businesscalendar",
    "service.add_businesscalendar",
    "service.change_businesscalendar",
]

GRANTS = {
    Role.SERVICE_AGENT: WORK_CASES,
    Role.SERVICE_SUPERVISOR: [*WORK_CASES, "service.approve_goodwill"],
    # Account owners see their customers' cases; the back office sees what it must fix.
    Role.SALES: ["service.view_case"],
    Role.SALES_MANAGER: ["service.view_case"],
    Role.BACK_OFFICE: ["service.view_case"],
    Role.ADMIN: [*WORK_CASES, *SETTINGS, "service.approve_goodwill", "service.delete_case"],
}


def _with_loop(grants: dict[str, list[str]]) -> dict[str, list[str]]:
    """The service loop's grants (service/loop/plug.py) added to the case desk's."""
    from service.loop.plug import GRANTS as LOOP

    return {role: [*grants.get(role, []), *LOOP.get(role, [])] for role in {*grants, *LOOP}}


GRANTS = _with_loop(GRANTS)
