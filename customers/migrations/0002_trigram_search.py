"""PostgreSQL only: pg_trgm and trigram indexes for name search and fuzzy duplicates.

SQLite has no trigram index; the selectors fall back to a portable match there.
"""

from __future__ import annotations

from django.db import migrations

from frontoffice.migration_ops import postgresql_only

FORWARD = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE INDEX IF NOT EXISTS customer_display_name_trgm "
    "ON customers_customer USING gin (display_name gin_trgm_ops)",
    "CREATE INDEX IF NOT EXISTS contactpoint_value_trgm "
    "ON customers_contactpoint USING gin (value gin_trgm_ops)",
]
BACKWARD = [
    "DROP INDEX IF EXISTS contactpoint_value_trgm",
    "DROP INDEX IF EXISTS customer_display_name_trgm",
]


class Migration(migrations.Migration):
    dependencies = [("customers", "0001_initial")]

    operations = [postgresql_only(FORWARD, BACKWARD)]
