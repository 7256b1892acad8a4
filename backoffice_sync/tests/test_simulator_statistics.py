"""The simulator analyses the tables its foreign keys check as they fill up
(engine/statistics.py), so that a long-lived session which planned those checks while
the tables were empty does not keep reading the whole order book for every new line."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from backoffice_sync.adapters.stub import StubAdapter
from backoffice_sync.erp import DeliveryStatus, MessageKind, OutboundMessage
from backoffice_sync.simulator import engine
from backoffice_sync.simulator.engine import batch
from backoffice_sync.simulator.engine.statistics import AT_LEAST, REFERENCED, refresh_statistics
from backoffice_sync.simulator.models import SimOrder

pytestmark = pytest.mark.django_db(transaction=True)

START = dt.datetime(2025, 3, 3, tzinfo=dt.UTC)
TABLES = [model._meta.db_table for model in REFERENCED]


@pytest.fixture
def empty_erp() -> Iterator[None]:
    """A fresh ERP whose order and customer tables were analysed empty (a new database
    after VACUUM ANALYZE), autovacuum kept off them meanwhile (PostgreSQL)."""
    StubAdapter().reset(seed=5, start=START)
    if connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cursor:
        for table in TABLES:
            cursor.execute(f"ALTER TABLE {table} SET (autovacuum_enabled = false)")
            cursor.execute(f"ANALYZE {table}")
    yield
    with connection.cursor() as cursor:
        for table in TABLES:
            cursor.execute(f"ALTER TABLE {table} RESET (autovacuum_enabled)")


def orders(first: int, count: int) -> list[OutboundMessage]:
    return [
        OutboundMessage(
            f"stat-{n}",
            MessageKind.ORDER_SUBMIT,
            f"order:STAT-{n}",
            {
                "order_ref": f"STAT-{n}",
                "customer_ref": f"STAT-CUST-{n}",
                "currency": "EUR",
                "requested_date": None,
                "lines": [{"line_no": 1, "sku": "FO-1001", "quantity": 1, "unit_price": "10.00"}],
                "ship_to": None,
            },
        )
        for n in range(first, first + count)
    ]


def statistics() -> dict[str, tuple[int, float]]:
    """Per table: manual analyses so far and the rows its statistics count (this
    session's pending counts flushed first, as a worker's are within a second)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_force_next_flush()")
        cursor.execute(
            "SELECT s.relname, s.analyze_count, c.reltuples FROM pg_stat_user_tables s"
            " JOIN pg_class c ON c.oid = s.relid WHERE s.relname = ANY(%s)",
            [TABLES],
        )
        return {name: (count, tuples) for name, count, tuples in cursor.fetchall()}


@pytest.mark.usefixtures("empty_erp")
def test_the_first_hundreds_of_orders_get_the_order_and_customer_tables_analysed() -> None:
    # given: a first batch of orders, each for a new customer, into tables analysed empty
    results = engine.deliver(orders(0, AT_LEAST + 50))
    assert {r.status for r in results} == {DeliveryStatus.ACCEPTED}
    if connection.vendor != "postgresql":
        return  # SQLite plans every statement afresh: no statistics to keep
    before = statistics()
    # when: the next batch, once the first one's changes show in the statistics
    engine.deliver(orders(AT_LEAST + 50, 10))
    # then: both tables analysed, their statistics counting what the first batch wrote
    after = statistics()
    for table in TABLES:
        assert after[table][0] == before[table][0] + 1, table
        assert after[table][1] >= AT_LEAST + 50, table


@pytest.mark.usefixtures("empty_erp")
def test_one_refresh_reads_the_catalogue_once_for_both_tables(monkeypatch: pytest.MonkeyPatch) -> None:
    # given: both tables grown past the threshold, the growth showing in the statistics;
    # the delivery's own refresh held back (it would analyse them itself whenever the
    # growth reached the statistics before its end, as on a loaded machine)
    monkeypatch.setattr(batch, "refresh_statistics", lambda: None)
    engine.deliver(orders(0, AT_LEAST + 50))
    if connection.vendor != "postgresql":
        return
    before = statistics()
    # when
    with CaptureQueriesContext(connection) as queries:
        refresh_statistics()
    # then: one catalogue read, then each table analysed in a statement of its own
    statements = [q["sql"] for q in queries.captured_queries]
    catalogue = [s for s in statements if "pg_stat_user_tables" in s]
    analysed = [s.split()[-1].strip('"') for s in statements if s.startswith("ANALYZE")]
    assert len(catalogue) == 1, statements
    assert analysed == TABLES
    assert {table: count for table, (count, _) in statistics().items()} == {
        table: count + 1 for table, (count, _) in before.items()
    }


@pytest.mark.usefixtures("empty_erp")
def test_a_few_orders_leave_the_statistics_alone() -> None:
    # given
    engine.deliver(orders(0, 5))
    if connection.vendor != "postgresql":
        return
    before = statistics()
    # when
    engine.deliver(orders(5, 5))
    # then
    assert statistics() == before


@pytest.mark.usefixtures("empty_erp")
def test_a_delivery_inside_a_callers_transaction_analyses_nothing_and_applies_the_batch() -> None:
    # given: enough orders to analyse, delivered inside a transaction (ANALYZE needs its own)
    before = statistics() if connection.vendor == "postgresql" else {}
    # when
    with transaction.atomic():
        results = engine.deliver(orders(0, AT_LEAST + 50))
    # then
    assert len(results) == AT_LEAST + 50
    assert SimOrder.objects.count() == AT_LEAST + 50
    if connection.vendor == "postgresql":
        assert {table: count for table, (count, _) in statistics().items()} == {
            table: count for table, (count, _) in before.items()
        }
