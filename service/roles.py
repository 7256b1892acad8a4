"""What each role may do with the service desk; listed in hooks.py."""

from __future__ import annotations

from frontoffice.roles import Role

WORK_CASES = ["service.view_case", "service.add_case", "service.change_case"]

GRANTS = {
    Role.SERVICE_AGENT: WORK_CASES,
    Role.SERVICE_SUPERVISOR: WORK_CASES,
    # Account owners see their customers' cases; the back office sees what it must fix.
    Role.SALES: ["service.view_case"],
    Role.SALES_MANAGER: ["service.view_case"],
    Role.BACK_OFFICE: ["service.view_case"],
    Role.ADMIN: [*WORK_CASES, "service.delete_case"],
}
