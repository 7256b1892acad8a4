"""Sales' admin screens, registered from each subdomain's `admin.py` (Django's admin
autodiscovery reads `<app>.admin`)."""

from sales.pipeline import admin as pipeline_admin  # noqa: F401 - registers on import
from sales.pricing import admin as pricing_admin  # noqa: F401 - registers on import
from sales.quotes import admin as quotes_admin  # noqa: F401 - registers on import
