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
"""

from __future__ import annotations

from django.db import connections


def claim_in_index_order(using: str = "default") -> None:
    """Inside the claim's transaction, before its SELECT: read in index order, never sort."""
    connection = connections[using]
    if connection.vendor != "postgresql":
        return
    if not connection.in_atomic_block:
        raise RuntimeError("claim_in_index_order() belongs inside the claim's transaction.")
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_sort = off")
