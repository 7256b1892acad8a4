"""Planner hints for the work queues' claims, which must not depend on fresh statistics.

A queue's claim reads "the first N due rows, in the order of an index" (`ORDER BY ...
LIMIT N ... FOR UPDATE SKIP LOCKED`). Right after a burst (an outbox that was empty
takes 20,000 messages; autovacuum analyses the table only a minute or more later)
PostgreSQL still believes the table holds a handful of rows and may read every due row
and sort them, on every claim: 65-77 ms per batch of 200 at a 20,000-message backlog,
where the index, read in its order, gives the first 200 in under 1 ms (measured with
EXPLAIN ANALYZE on PostgreSQL 15). A relay draining that backlog then slows down by the
size of the backlog, just when it matters.

`claim_in_index_order()` turns sorting off for the rest of the current transaction
(`SET LOCAL`: the claim's own short transaction, never the connection; safe behind
PgBouncer in transaction mode), so that the planner takes the ordered index whatever
its statistics say. SQLite has no such choice to make: a no-op there.

Other plans cannot be steered that way: with statistics that say nothing is pending,
the relay's outcome UPDATE (a VALUES list joined to the outbox by primary key) reads
every pending row through the due index, for every batch (auto_explain on PostgreSQL
15; a first relay run on a database that had never relayed delivered 780 messages/s, a
second run right after 1,317/s). `analyze_if_stale()` lets the code that just met a
burst bring the statistics up to date itself, at once, rather than a minute later when
autovacuum gets to it.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from django.db import OperationalError, connections, transaction
from django.db.backends.base.base import BaseDatabaseWrapper

log = logging.getLogger(__name__)

# SQLSTATE lock_not_available: the lock timeout ran out.
LOCK_NOT_AVAILABLE = "55P03"


def claim_in_index_order(using: str = "default") -> None:
    """Inside the claim's transaction, before its SELECT: read in index order, never sort."""
    connection = connections[using]
    if connection.vendor != "postgresql":
        return
    if not connection.in_atomic_block:
        raise RuntimeError("claim_in_index_order() belongs inside the claim's transaction.")
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_sort = off")


def analyze_if_stale(
    table: str,
    *,
    share: float = 0.5,
    at_least: int = 1000,
    using: str = "default",
    skip_in_transaction: bool = False,
) -> bool:
    """ANALYZE `table` when the rows changed since its last analysis are at least
    `at_least` and at least `share` of the rows its statistics count; returns whether it
    analysed. PostgreSQL only (False elsewhere).

    Outside any transaction only: the ANALYZE runs in a short transaction of its own, so
    that its lock is not held until a caller's commit and the new statistics (and the
    replanning of cached plans they cause) are visible to every session at once. Inside
    one it raises RuntimeError, or with `skip_in_transaction` does nothing and returns
    False (for a caller that may run inside someone else's transaction, a test or a
    shell, and leaves the statistics to its next run of its own). It never waits behind
    a VACUUM, an autovacuum or another ANALYZE of the table: after `lock_timeout` 200 ms
    it gives up and returns False (that one is bringing the statistics up to date anyway).

    Cost: one catalogue read; when stale, one ANALYZE (a sample of at most 30,000 rows
    with the default statistics target: tens of milliseconds).
    """
    analysed = analyze_stale_tables(
        [table], share=share, at_least=at_least, using=using, skip_in_transaction=skip_in_transaction
    )
    return table in analysed


def analyze_stale_tables(
    tables: Sequence[str],
    *,
    share: float = 0.5,
    at_least: int = 1000,
    using: str = "default",
    skip_in_transaction: bool = False,
) -> list[str]:
    """`analyze_if_stale()` for several tables with one catalogue read for them all: each
    table is analysed on its own terms, in its own transaction, in the order given; returns
    those analysed. Cost: one catalogue read; one ANALYZE per stale table."""
    connection = connections[using]
    if connection.vendor != "postgresql" or not tables:
        return []
    if connection.in_atomic_block:
        if skip_in_transaction:
            return []
        raise RuntimeError("analyze_if_stale() runs outside any transaction, in one of its own.")
    quoted = {connection.ops.quote_name(table): table for table in tables}
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT t.name, s.n_mod_since_analyze, c.reltuples FROM unnest(%s::text[]) AS t(name)"
            " JOIN pg_stat_user_tables s ON s.relid = t.name::regclass"
            " JOIN pg_class c ON c.oid = s.relid",
            [list(quoted)],
        )
        counts = {quoted[name]: (int(changed or 0), float(counted or 0)) for name, changed, counted in cursor}
    analysed = []
    for table in tables:
        if table not in counts:
            continue
        changed, counted = counts[table]
        # reltuples is -1 for a table never analysed (nor vacuumed).
        if changed < at_least or changed < share * max(counted, 0.0):
            continue
        if _analyze(connection, table, using=using):
            log.info(
                "analyze_if_stale: analysed %s (%d rows changed, %.0f counted before)",
                table,
                changed,
                counted,
            )
            analysed.append(table)
    return analysed


def _analyze(connection: BaseDatabaseWrapper, table: str, *, using: str) -> bool:
    """ANALYZE `table` in a transaction of its own; False when the lock timeout ran out."""
    try:
        with transaction.atomic(using=using), connection.cursor() as cursor:
            cursor.execute("SET LOCAL lock_timeout = '200ms'")
            cursor.execute(f"ANALYZE {connection.ops.quote_name(table)}")
    except OperationalError as exc:
        if getattr(exc.__cause__, "sqlstate", None) != LOCK_NOT_AVAILABLE:
            raise
        log.info("analyze_if_stale: %s is locked (a VACUUM or ANALYZE at work), skipped", table)
        return False
    return True
