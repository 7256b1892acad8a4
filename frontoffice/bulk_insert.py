"""Inserting many rows fast, below the ORM, for bulk loads that must stay in one
transaction (the customer CSV import): ids reserved first, then the rows sent in one
statement stream — PostgreSQL's COPY, elsewhere one prepared INSERT executed many times.

`bulk_create` builds a model instance and prepares every value through its field for
each row (about 10 µs a value); at 100,000 customers with their contact points, tags
and audit history that is most of an import's time. Here a row is a dict of column
values, filled with the fields' defaults; the caller has validated it (the model's
`full_clean` rules, as the services do) and the database's constraints still hold.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, models


def _json(value: Any) -> str:
    return json.dumps(value, cls=DjangoJSONEncoder)


def reserve_ids(model: type[models.Model], count: int) -> list[int]:
    """`count` new primary keys of `model`'s table, never handed out again. Inside a
    transaction on SQLite (which holds the database's write lock until it ends)."""
    if count <= 0:
        return []
    table = model._meta.db_table
    column = model._meta.pk.column
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                [connection.ops.quote_name(table), column, count],
            )
            return [row[0] for row in cursor.fetchall()]
        # SQLite: AUTOINCREMENT never reuses an id: start past the highest ever given.
        cursor.execute("SELECT seq FROM sqlite_sequence WHERE name = %s", [table])
        row = cursor.fetchone()
        highest = f"SELECT MAX({connection.ops.quote_name(column)}) FROM {connection.ops.quote_name(table)}"  # noqa: S608  # names from the model
        cursor.execute(highest)
        start = max(row[0] if row else 0, cursor.fetchone()[0] or 0)
        ids = list(range(start + 1, start + count + 1))
        cursor.execute("INSERT OR REPLACE INTO sqlite_sequence (name, seq) VALUES (%s, %s)", [table, ids[-1]])
        return ids


class Inserter:
    """Rows of one model as dicts (attribute name -> value) -> its table. Fields left
    out take their default; the primary key is left to the database unless given."""

    def __init__(self, model: type[models.Model], *, with_pk: bool) -> None:
        self.fields = [f for f in model._meta.concrete_fields if with_pk or not f.primary_key]
        self.table = model._meta.db_table
        self.columns = [
            (f.attname, f.get_default() if f.has_default() else (None if f.null else "")) for f in self.fields
        ]
        self.conversions: list[tuple[int, Any]] = []
        for index, f in enumerate(self.fields):
            if isinstance(f, models.JSONField):
                self.conversions.append((index, _json))
            elif isinstance(f, models.DateTimeField) and connection.vendor != "postgresql":
                self.conversions.append((index, connection.ops.adapt_datetimefield_value))

    def _values(self, row: Mapping[str, Any]) -> tuple[Any, ...]:
        # The hot loop of a bulk load (one call per row): plain lookups, conversions only
        # where a column needs one.
        values = [row.get(name, default) for name, default in self.columns]
        for index, convert in self.conversions:
            if values[index] is not None:
                values[index] = convert(values[index])
        return tuple(values)

    def insert(self, rows: Iterable[Mapping[str, Any]]) -> None:
        insert_rows(self.table, [f.column for f in self.fields], (self._values(row) for row in rows))


def insert_rows(table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """`rows` (values in the order of `columns`, ready for the database) into `table`:
    COPY on PostgreSQL, one prepared INSERT executed many times elsewhere. For a table
    without a model (a temporary one) as for `Inserter`'s."""
    names = ", ".join(connection.ops.quote_name(column) for column in columns)
    quoted = connection.ops.quote_name(table)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # COPY: one stream of rows, parsed by the server in bulk.
            with cursor.cursor.copy(f"COPY {quoted} ({names}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            marks = ", ".join(["%s"] * len(columns))
            cursor.executemany(
                f"INSERT INTO {quoted} ({names}) VALUES ({marks})",  # noqa: S608  # names from the caller's schema
                list(rows),
            )
