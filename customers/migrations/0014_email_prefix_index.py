"""PostgreSQL only: the e-mail addresses in byte order, so that an address typed from
its start ("ada.l@ex") is one range of an index, read in order and no further than
the search needs (`customers.filters.email_matches`).

The `kind, value` index cannot serve this: it orders by the database's collation,
where a range of text is not the texts starting with it. SQLite compares bytes
already, so its `kind, value` index does.
"""

from __future__ import annotations

from django.db import migrations

from frontoffice.migration_ops import postgresql_only

FORWARD = [
    'CREATE INDEX IF NOT EXISTS contactpoint_email_address ON customers_contactpoint ((value COLLATE "C"), id) '
    "WHERE kind = 'email'",
]
BACKWARD = ["DROP INDEX IF EXISTS contactpoint_email_address"]


class Migration(migrations.Migration):
    dependencies = [("customers", "0013_name_neighbours")]

    operations = [postgresql_only(FORWARD, BACKWARD)]
