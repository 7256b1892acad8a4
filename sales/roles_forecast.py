"""Who sees the forecast and recommendations, and who publishes the forecast to the ERP;
declared in `SalesConfig.ready()`. Sales, sales managers and Admin read; Admin publishes."""

from __future__ import annotations

from frontoffice.roles import Role

READ = ["sales.view_forecastsnapshot", "sales.view_productaffinity"]
GRANTS = {
    Role.SALES: READ,
    Role.SALES_MANAGER: READ,
    Role.ADMIN: [*READ, "sales.add_forecastsnapshot"],
}
