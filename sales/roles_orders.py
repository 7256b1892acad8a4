"""What each role may do with sales orders; declared in `SalesConfig.ready()`. Reps
accept quotes and cancel orders of opportunities they or their team own (the services
apply `can_edit_owned`); sales managers and Admins (`sales.change_any_quote`) do it for
anyone's; the back office reads."""

from __future__ import annotations

from frontoffice.roles import Role

VIEW_ORDERS = ["sales.view_salesorder", "sales.view_salesorderline"]
WORK_ORDERS = ["sales.add_salesorder", "sales.change_salesorder"]
GRANTS = {
    Role.SALES: [*VIEW_ORDERS, *WORK_ORDERS],
    Role.SALES_MANAGER: [*VIEW_ORDERS, *WORK_ORDERS],
    Role.BACK_OFFICE: VIEW_ORDERS,
    Role.SERVICE_AGENT: VIEW_ORDERS,
    Role.SERVICE_SUPERVISOR: VIEW_ORDERS,
    Role.ADMIN: [*VIEW_ORDERS, *WORK_ORDERS],
}
