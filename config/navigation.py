"""The navigation each role sees."""

from __future__ import annotations

from dataclasses import dataclass

from django.http import HttpRequest
from django.urls import reverse


@dataclass(frozen=True)
class NavItem:
    label: str
    url_name: str
    permission: str | None = None

    @property
    def url(self) -> str:
        return reverse(self.url_name)


NAV = [
    NavItem("Dashboard", "dashboard"),
    NavItem("Customers", "customers:list", "customers.view_customer"),
    NavItem("Duplicates", "customers:duplicates", "customers.merge_customer"),
    NavItem("Pipeline", "sales:board", "sales.view_opportunity"),
    NavItem("Opportunities", "sales:opportunity_list", "sales.view_opportunity"),
    NavItem("Leads", "sales:lead_list", "sales.view_lead"),
    NavItem("Quotes", "sales:quote_list", "sales.view_quote"),
    NavItem("Orders", "sales:order_list", "sales.view_salesorder"),
    NavItem("Forecast", "sales:forecast", "sales.view_forecastsnapshot"),
    NavItem("Availability", "backoffice_sync:availability", "backoffice_sync.view_product"),
    NavItem("Sync monitor", "backoffice_sync:monitor", "backoffice_sync.view_outboxmessage"),
    NavItem("API docs", "api-docs"),
]


def navigation(request: HttpRequest) -> dict:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_items": []}
    items = [item for item in NAV if item.permission is None or user.has_perm(item.permission)]
    if user.is_staff:
        items.append(NavItem("Admin", "admin:index"))
    path = request.path
    # The most specific match is current: /customers/duplicates/ is "Duplicates", not "Customers".
    matches = [i.url for i in items if path == i.url or (i.url != "/" and path.startswith(i.url))]
    current = max(matches, key=len, default=None)
    return {"nav_items": [{"label": i.label, "url": i.url, "current": i.url == current} for i in items]}
