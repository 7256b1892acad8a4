"""What the working day (bench/locustfile.py) asks of the app: its URLs, named once here
so that a test can resolve every one of them without importing locust (which patches
the standard library with gevent on import)."""

from __future__ import annotations

# The locust request name -> its method and path ({id}: a record's id).
REQUESTS = {
    "search": ("GET", "/api/v1/customers/"),
    "360": ("GET", "/api/v1/customers/{id}/360/"),
    "timeline": ("GET", "/api/v1/customers/{id}/timeline/"),
    "log call": ("POST", "/api/v1/activities/"),
    "list filtered": ("GET", "/api/v1/customers/"),
    "cases open": ("GET", "/api/v1/service/cases/"),
    "case read": ("GET", "/api/v1/service/cases/{id}/"),
    "case update": ("PATCH", "/api/v1/service/cases/{id}/"),
    "case note": ("POST", "/api/v1/service/cases/{id}/note/"),
    "opportunities": ("GET", "/api/v1/sales/opportunities/"),
    "quote create": ("POST", "/api/v1/sales/quotes/"),
    "quote update": ("PATCH", "/api/v1/sales/quotes/{id}/"),
}

# The demo staff who work the day (bench.load_day gives each an API token).
SALES_USER = "sales1"
AGENT_USER = "agent1"

# SKUs of the bench's small catalogue (bench.load_day puts them on the EUR price list).
SKUS = tuple(f"BENCH-{n:03d}" for n in range(1, 21))


def path(name: str, pk: int | None = None) -> str:
    template = REQUESTS[name][1]
    return template.format(id=pk) if "{id}" in template else template
