"""The simulator's tables that its foreign keys point to, analysed as they fill up.

PostgreSQL checks a foreign key with a query it plans once per session and keeps: at
the commit of a batch, `SELECT 1 FROM ONLY sim_order x WHERE id = $1 FOR KEY SHARE` for
each new order line. A session that plans it while the table is empty, or analysed
empty (a new database after `VACUUM ANALYZE`, before the first order), keeps a
sequential scan: every check then reads the whole order book, and a long-lived worker
delivering a backlog slows down as the ERP's tables grow (auto_explain on PostgreSQL 15,
a first relay run at 0 ms ERP latency). Analysing the table replaces that plan in every
session: planned again with the table's size known, the check reads the primary key.
Autovacuum would do it too, but a minute or more later.

`refresh_statistics()` runs after the write's transaction has committed (the ANALYZE
needs one of its own, `frontoffice.db_hints.analyze_if_stale`); inside a caller's
transaction (a test) it does nothing. SQLite plans each statement afresh: a no-op there.
"""

from __future__ import annotations

from backoffice_sync.simulator.models import SimCustomer, SimOrder
from frontoffice.db_hints import analyze_stale_tables

# What a delivery inserts rows into and a foreign key checks (an order's customer, a
# line's order). The tables the clock fills (lines, shipments, invoices) are checked by
# the ticker's own session, once per tick, not per message.
REFERENCED = (SimCustomer, SimOrder)
# From about a hundred rows the primary key beats reading the table; past the first
# analysis the plan stays on the index (the tables only grow), and the later ones
# (at half as many rows again each time) only keep the estimates right.
AT_LEAST = 100


def refresh_statistics() -> None:
    """Analyse those tables that changed by at least half since their last analysis
    (cost: one catalogue read for both; tens of milliseconds when one is analysed)."""
    analyze_stale_tables(
        [model._meta.db_table for model in REFERENCED], at_least=AT_LEAST, skip_in_transaction=True
    )
