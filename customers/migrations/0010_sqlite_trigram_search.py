"""SQLite only: trigram indexes for the search box, as PostgreSQL has (0002).

SQLite answers `LIKE '%fragment%'` by reading every row (83 ms for the e-mails of
100,000 customers); an FTS5 table with the trigram tokenizer answers "contains, in any
case" from an index. One per searched column, holding no copy of the text
(`content=` the table itself) and kept in step by triggers: contact point values
(e-mail and phone fragments) and customer display names. `customers.filters` reads them
(`contains_q`); tests/test_sqlite_trigram_search.py checks that they exist and follow
every write (a later migration that rebuilds one of these tables drops its triggers).
"""

# ruff: noqa: S608 - the tables and columns named are this module's constants
from __future__ import annotations

from django.db import migrations

# (table, column): the FTS5 table is named "<table>_<column>_trgm".
INDEXED = [("customers_contactpoint", "value"), ("customers_customer", "display_name")]


def _statements(table: str, column: str) -> list[str]:
    fts = f"{table}_{column}_trgm"
    return [
        f'CREATE VIRTUAL TABLE IF NOT EXISTS "{fts}" USING fts5("{column}", content="{table}",'
        " content_rowid=\"id\", tokenize='trigram')",
        f'CREATE TRIGGER IF NOT EXISTS "{fts}_insert" AFTER INSERT ON "{table}" BEGIN'
        f' INSERT INTO "{fts}" (rowid, "{column}") VALUES (new.id, new."{column}"); END',
        f'CREATE TRIGGER IF NOT EXISTS "{fts}_delete" AFTER DELETE ON "{table}" BEGIN'
        f' INSERT INTO "{fts}" ("{fts}", rowid, "{column}") VALUES (\'delete\', old.id, old."{column}"); END',
        f'CREATE TRIGGER IF NOT EXISTS "{fts}_update" AFTER UPDATE OF "{column}" ON "{table}" BEGIN'
        f' INSERT INTO "{fts}" ("{fts}", rowid, "{column}") VALUES (\'delete\', old.id, old."{column}");'
        f' INSERT INTO "{fts}" (rowid, "{column}") VALUES (new.id, new."{column}"); END',
        f'INSERT INTO "{fts}" ("{fts}") VALUES (\'rebuild\')',
    ]


def forward(apps, schema_editor):
    if schema_editor.connection.vendor != "sqlite":
        return
    for table, column in INDEXED:
        for statement in _statements(table, column):
            schema_editor.execute(statement)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor != "sqlite":
        return
    for table, column in INDEXED:
        fts = f"{table}_{column}_trgm"
        for trigger in ("insert", "delete", "update"):
            schema_editor.execute(f'DROP TRIGGER IF EXISTS "{fts}_{trigger}"')
        schema_editor.execute(f'DROP TABLE IF EXISTS "{fts}"')


class Migration(migrations.Migration):
    dependencies = [("customers", "0009_outbound_html_body")]

    operations = [migrations.RunPython(forward, backward, elidable=False)]
