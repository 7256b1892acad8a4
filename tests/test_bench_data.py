"""The benchmark's data generator (bench/data.py) on PostgreSQL, at a small scale: the
counts asked for, every row pointing at a row that exists, the indexes it drops for
the load all back as they were, and the data reused when asked again.

It builds a database of its own (BENCH_TEST_DATABASE_URL, default fo_bench_data_test on
127.0.0.1), through `manage.py migrate` and `seed_demo` as `make bench` does: slow."""

from __future__ import annotations

import os

import psycopg
import pytest

from bench.data import FILLED, _recreate, ensure_data, manage

URL = os.environ.get("BENCH_TEST_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/fo_bench_data_test")
CUSTOMERS = 300
ACTIVITIES = 5000

# (table, column, the table it points at): the generator's rows and their foreign keys.
REFERENCES = (
    ("customers_activity", "customer_id", "customers_customer"),
    ("customers_contactpoint", "customer_id", "customers_customer"),
    ("customers_consentevent", "customer_id", "customers_customer"),
    ("customers_customer_tags", "customer_id", "customers_customer"),
    ("customers_customer_tags", "tag_id", "customers_tag"),
    ("customers_relationship", "person_id", "customers_customer"),
    ("customers_relationship", "organisation_id", "customers_customer"),
    ("customers_customer", "parent_id", "customers_customer"),
)


def _indexes(conn: psycopg.Connection) -> list[tuple[str, str, str]]:
    return [
        (str(t), str(n), str(d))
        for t, n, d in conn.execute(
            "SELECT tablename, indexname, indexdef FROM pg_indexes WHERE tablename = ANY(%s) ORDER BY 1, 2",
            [list(FILLED)],
        )
    ]


def _count(conn: psycopg.Connection, sql: str) -> int:
    row = conn.execute(sql).fetchone()
    assert row is not None
    return int(row[0])


@pytest.mark.slow
def test_the_generated_data_is_whole_indexed_and_reused() -> None:
    # given: a database with the schema and no data
    _recreate(URL)
    manage("migrate", "--noinput", "-v", "0", database_url=URL)
    with psycopg.connect(URL) as conn:
        schema_indexes = _indexes(conn)
    # when
    built = ensure_data(database_url=URL, customers=CUSTOMERS, activities=ACTIVITIES, seed=3)
    again = ensure_data(database_url=URL, customers=CUSTOMERS, activities=ACTIVITIES, seed=3)
    # then
    assert built.built
    assert not again.built
    with psycopg.connect(URL) as conn:
        assert _count(conn, "SELECT count(*) FROM customers_customer") == CUSTOMERS
        assert _count(conn, "SELECT count(*) FROM customers_activity") == ACTIVITIES
        assert again.activities == ACTIVITIES
        for table, column, target in REFERENCES:
            orphans = _count(
                conn,
                f"SELECT count(*) FROM {table} r WHERE r.{column} IS NOT NULL"  # noqa: S608 - names above
                f" AND NOT EXISTS (SELECT 1 FROM {target} t WHERE t.id = r.{column})",
            )
            assert orphans == 0, (table, column)
        assert _indexes(conn) == schema_indexes
        invalid = _count(conn, "SELECT count(*) FROM pg_index WHERE NOT indisvalid")
        assert invalid == 0
        # the heavy customers' timelines: page 50 exists
        assert (
            _count(
                conn, "SELECT max(n) FROM (SELECT count(*) n FROM customers_activity GROUP BY customer_id) s"
            )
            >= 3000
        )
        # statistics for the planner after the load
        analysed = _count(
            conn,
            "SELECT count(*) FROM pg_stat_user_tables WHERE relname = 'customers_activity' AND last_analyze IS NOT NULL",
        )
        assert analysed == 1
