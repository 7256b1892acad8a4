"""Rows straight into the tables (COPY on PostgreSQL, `executemany` a chunk at a time
elsewhere), a bigger SQLite page cache while seeding, planner statistics after the load.

Bulk inserts bypass the services and the audit history on purpose (this is seed
data); the invariants the services keep are kept by the generator and checked by
the tests.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from django.db import connection, models

BATCH = 5000  # rows per executemany call


def db_time_adapter() -> Callable[[int], Any]:
    """Epoch seconds -> what a raw INSERT takes for a DateTimeField: on SQLite the
    naive UTC text Django itself stores, elsewhere an aware datetime."""
    if connection.vendor == "sqlite":
        return lambda ts: time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(ts))
    return lambda ts: dt.datetime.fromtimestamp(ts, dt.UTC)


@contextmanager
def sqlite_page_cache(kib: int = 256 * 1024) -> Iterator[None]:
    """A bigger SQLite page cache for this connection while seeding: the indexes on
    e-mails and names take inserts all over the file, and with the default 2 MB cache
    most of those become reads."""
    if connection.vendor != "sqlite":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA cache_size")
        (previous,) = cursor.fetchone()
        cursor.execute(f"PRAGMA cache_size = -{int(kib)}")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"PRAGMA cache_size = {int(previous)}")


def insert_rows(model: type[models.Model], fields: Sequence[str], rows: list[tuple[Any, ...]]) -> None:
    """COPY on PostgreSQL, INSERT with executemany elsewhere.

    `bulk_create` builds a model instance and runs the SQL compiler for every value:
    measured here it made 100,000 customers take 3.5 minutes instead of about one.
    Rows must already be in database form: ids, texts, booleans, JSON text and
    `DemoSeeder.db_time` timestamps. Ids are given in insertion order either way.
    """
    if not rows:
        return
    quote = connection.ops.quote_name
    column_of = {f.name: f.column for f in model._meta.concrete_fields}
    columns = ", ".join(quote(column_of[name]) for name in fields)
    table = quote(model._meta.db_table)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # Names come from the model, values go in as COPY's data.
            with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            return
        placeholders = ", ".join(["%s"] * len(fields))
        # Names come from the model, values go in as parameters.
        sql = f"INSERT INTO {table} ({columns}) VALUES ({placeholders})"  # noqa: S608
        for start in range(0, len(rows), BATCH):
            cursor.executemany(sql, rows[start : start + BATCH])


def refresh_planner_statistics() -> None:
    """ANALYZE after the bulk load (well under a second for 100,000 customers).

    Without statistics SQLite reads "live customers, newest first" through the
    `merged_into` index and sorts all of them (about 100 ms a page at 100,000
    customers) instead of walking the `created_at` index (under 1 ms).
    The whole database, not a list of tables: a list missed the customer-tag table,
    and on PostgreSQL with autovacuum off `?tag=` then took 163 ms instead of 3 ms.
    """
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


CUSTOMER_COLUMNS = (
    "kind",
    "first_name",
    "last_name",
    "organisation_name",
    "display_name",
    "name_key",
    "parent",
    "lifecycle_stage",
    "owner",
    "attributes",
    "erp_customer_number",
    "preferred_channel",
    "version",
    "created_at",
    "updated_at",
)
CONTACT_POINT_COLUMNS = (
    "customer",
    "kind",
    "label",
    "value",
    "is_primary",
    "street",
    "postal_code",
    "city",
    "region",
    "country",
    "created_at",
    "updated_at",
)
RELATIONSHIP_COLUMNS = ("person", "organisation", "role", "is_primary_contact", "created_at", "updated_at")
CONSENT_COLUMNS = (
    "customer",
    "channel",
    "purpose",
    "granted",
    "source",
    "occurred_at",
    "actor",
    "note",
    "created_at",
)
ACTIVITY_COLUMNS = (
    "customer",
    "kind",
    "occurred_at",
    "actor",
    "source_app",
    "subject",
    "body",
    "ref_type",
    "ref_id",
    "payload",
    "created_at",
    "system_actor",
)
