"""The relay's claim reads the due index in its order whatever the planner's statistics
say (frontoffice.db_hints): right after a burst, a table analysed while nearly empty must
not make every claim read and sort the whole backlog. And the relay brings those
statistics up to date itself at its first full batch (`analyze_if_stale`), for the plans
no hint steers (the outcome UPDATE's join)."""

from __future__ import annotations

import datetime as dt
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connection, connections, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from backoffice_sync import outbox
from backoffice_sync.erp import DeliveryResult, DeliveryStatus, MessageKind
from backoffice_sync.models import OutboxMessage, OutboxStatus
from backoffice_sync.simulator.models import SimOrder
from backoffice_sync.tests.outbox_fakes import FakeErp
from frontoffice.db_hints import analyze_if_stale, analyze_stale_tables, claim_in_index_order

pytestmark = pytest.mark.django_db

BACKLOG = 3000
BATCH = 200
TABLE = OutboxMessage._meta.db_table


def messages(count: int, *, first: int, **fields: Any) -> list[OutboxMessage]:
    due = timezone.now() - dt.timedelta(minutes=5)
    return [
        OutboxMessage(
            idempotency_key=uuid.uuid4().hex,
            kind=MessageKind.ORDER_SUBMIT,
            aggregate=f"order:SO-{n}",
            sequence=1,
            payload={"n": n},
            next_attempt_at=due + dt.timedelta(microseconds=n),
            **fields,
        )
        for n in range(first, first + count)
    ]


def burst_after_stale_statistics() -> None:
    """The steady state the planner last saw (every message delivered, nothing pending),
    then a burst of pending messages it has not seen: an ERP back from an outage, a
    bulk change. Autovacuum analyses the table only a minute or more later."""
    delivered = timezone.now() - dt.timedelta(days=1)
    OutboxMessage.objects.bulk_create(
        messages(BACKLOG, first=0, status=OutboxStatus.DELIVERED, delivered_at=delivered), batch_size=2000
    )
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {OutboxMessage._meta.db_table}")
    OutboxMessage.objects.bulk_create(messages(BACKLOG, first=BACKLOG), batch_size=2000)


def claim_statement() -> str:
    with CaptureQueriesContext(connection) as queries:
        outbox._claim(batch_size=BATCH, lease=dt.timedelta(minutes=1), token="plan-test")
    selects = [q["sql"] for q in queries.captured_queries if q["sql"].lstrip().upper().startswith("SELECT")]
    assert len(selects) == 1, selects
    return selects[0]


def plan_of(sql: str) -> str:
    with transaction.atomic(), connection.cursor() as cursor:
        claim_in_index_order()
        cursor.execute("EXPLAIN " + sql)
        return "\n".join(row[0] for row in cursor.fetchall())


def test_the_claim_takes_the_oldest_due_batch_and_hints_the_order_before_its_select() -> None:
    # given
    burst_after_stale_statistics()
    # when
    with CaptureQueriesContext(connection) as queries:
        batch = outbox._claim(batch_size=BATCH, lease=dt.timedelta(minutes=1), token="plan-test")
    # then: the oldest due messages, in their order
    oldest = list(
        OutboxMessage.objects.filter(status=OutboxStatus.PENDING)
        .order_by("next_attempt_at", "id")
        .values_list("pk", flat=True)[:BATCH]
    )
    assert [m.pk for m in batch] == oldest
    statements = [q["sql"] for q in queries.captured_queries]
    hints = [i for i, s in enumerate(statements) if "enable_sort" in s]
    select = next(i for i, s in enumerate(statements) if s.lstrip().upper().startswith("SELECT"))
    if connection.vendor == "postgresql":
        assert len(hints) == 1
        assert hints[0] < select
        assert statements[hints[0]] == "SET LOCAL enable_sort = off"
    else:
        assert hints == []  # SQLite has no planner choice to steer


def test_after_a_burst_the_claim_reads_the_due_index_in_order_and_sorts_nothing() -> None:
    # given
    burst_after_stale_statistics()
    sql = claim_statement()
    if connection.vendor != "postgresql":
        # SQLite: the same statement, answered in the index's order
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN QUERY PLAN " + sql)
            plan = " ".join(str(row) for row in cursor.fetchall())
        assert "USE TEMP B-TREE FOR ORDER BY" not in plan
        return
    # when
    plan = plan_of(sql)
    # then: the due index read in its order, the backlog never sorted (on PostgreSQL 15,
    # without the hint, statistics taken before a 20,000-message burst made it sort
    # the whole backlog on each claim: 65-77 ms, against 0.6 ms; frontoffice/db_hints.py)
    assert "Sort" not in plan, plan
    assert "outbox_due_idx" in plan, plan


def outcome_update_statement() -> str:
    """The UPDATE that records a claimed batch as delivered."""
    batch = outbox._claim(batch_size=BATCH, lease=dt.timedelta(minutes=1), token="plan-test")
    results = {m.idempotency_key: DeliveryResult(m.idempotency_key, DeliveryStatus.ACCEPTED) for m in batch}
    with CaptureQueriesContext(connection) as queries:
        outbox._record(
            batch=batch, token="plan-test", results=results, failure="", unavailable=False, max_attempts=5
        )
    updates = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("UPDATE")]
    assert len(updates) == 1, updates
    return updates[0]


def test_once_a_burst_is_analysed_the_outcome_update_reads_the_batch_by_primary_key() -> None:
    # given: a burst, analysed as the relay's first full batch has it (analyze_if_stale);
    # the statistics cannot know the relay's fresh token, and estimate one row for it
    burst_after_stale_statistics()
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {TABLE}")
    sql = outcome_update_statement()
    # when
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("EXPLAIN " + sql)
        else:
            cursor.execute("EXPLAIN QUERY PLAN " + sql)
        plan = "\n".join(" ".join(str(col) for col in row) for row in cursor.fetchall())
    # then: the batch's rows through the primary key, never the whole outbox nor every
    # pending row (on PostgreSQL 15, without the list of keys, a sequential scan of the
    # outbox joined to the VALUES by a nested loop; with statistics older than the burst,
    # before the relay's ANALYZE, the planner reads the due index's backlog instead)
    if connection.vendor == "postgresql":
        assert f"Seq Scan on {TABLE}" not in plan, plan
        assert "outbox_due_idx" not in plan, plan
        assert f"{TABLE}_pkey" in plan, plan
    else:
        assert f"SCAN {TABLE}" not in plan, plan


@pytest.mark.django_db(transaction=True)
def test_the_hint_outside_a_transaction_is_refused_on_postgresql() -> None:
    # given: no transaction (SET LOCAL would vanish with the statement and steer nothing)
    assert not connection.in_atomic_block
    # when / then
    if connection.vendor == "postgresql":
        with pytest.raises(RuntimeError, match="inside the claim's transaction"):
            claim_in_index_order()
    else:
        claim_in_index_order()  # SQLite: nothing to steer, wherever it is called


# --- analyze_if_stale ------------------------------------------------------------------


@pytest.fixture
def outbox_statistics() -> Iterator[None]:
    """The outbox analysed as it is (empty), with autovacuum kept off it meanwhile, so
    that only the code under test analyses it (PostgreSQL; nothing to do on SQLite)."""
    if connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute(f"ALTER TABLE {TABLE} SET (autovacuum_enabled = false)")
        cursor.execute(f"ANALYZE {TABLE}")
    yield
    with connection.cursor() as cursor:
        cursor.execute(f"ALTER TABLE {TABLE} RESET (autovacuum_enabled)")


def analyses() -> tuple[int, Any]:
    """The outbox's manual ANALYZE count and last time, as the statistics show them now
    (this session's pending counts flushed first)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_force_next_flush()")
        cursor.execute(
            "SELECT analyze_count, last_analyze FROM pg_stat_user_tables WHERE relid = %s::regclass", [TABLE]
        )
        count, last = cursor.fetchone()
    return count, last


def insert_pending(count: int) -> None:
    OutboxMessage.objects.bulk_create(messages(count, first=0), batch_size=2000)
    if connection.vendor == "postgresql":
        analyses()  # makes the inserts visible in pg_stat_user_tables


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("outbox_statistics")
def test_a_burst_gets_the_outbox_analysed_once() -> None:
    # given: 1,200 messages the statistics have not seen (analysed empty)
    insert_pending(1200)
    if connection.vendor != "postgresql":
        assert analyze_if_stale(TABLE) is False  # SQLite: no statistics to refresh
        return
    count_before, last_before = analyses()
    # when
    first = analyze_if_stale(TABLE)
    second = analyze_if_stale(TABLE)
    # then: analysed by the first call; the second finds the statistics fresh
    count_after, last_after = analyses()
    assert (first, second) == (True, False)
    assert count_after == count_before + 1
    assert last_after is not None
    assert last_before is None or last_after > last_before
    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples FROM pg_class WHERE oid = %s::regclass", [TABLE])
        assert cursor.fetchone()[0] == 1200


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("outbox_statistics")
def test_a_few_new_rows_leave_the_statistics_alone() -> None:
    # given: fewer changed rows than `at_least`
    insert_pending(20)
    if connection.vendor != "postgresql":
        assert analyze_if_stale(TABLE) is False
        return
    count_before, _ = analyses()
    # when
    analysed = analyze_if_stale(TABLE)
    # then
    assert analysed is False
    assert analyses()[0] == count_before


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("outbox_statistics")
def test_a_large_table_is_analysed_only_once_a_share_of_it_changed() -> None:
    # given: 3,000 rows analysed, then 1,200 more: at least 1,000 but not half of them
    insert_pending(3000)
    if connection.vendor != "postgresql":
        assert analyze_if_stale(TABLE) is False
        return
    assert analyze_if_stale(TABLE) is True
    OutboxMessage.objects.bulk_create(messages(1200, first=10_000), batch_size=2000)
    count_before, _ = analyses()
    # when / then: a share of 0.5 of 3,000 is not reached, a share of 0.25 is
    assert analyze_if_stale(TABLE) is False
    assert analyze_if_stale(TABLE, share=0.25) is True
    assert analyses()[0] == count_before + 1


@pytest.mark.django_db(transaction=True)
def test_analyze_if_stale_refuses_to_run_inside_a_transaction_on_postgresql() -> None:
    # given / when / then: inside a transaction, its lock would be held until that
    # transaction's end, and the new statistics be seen by nobody until then
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with pytest.raises(RuntimeError, match="outside any transaction"):
                analyze_if_stale(TABLE)
        else:
            assert analyze_if_stale(TABLE) is False


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("outbox_statistics")
def test_analyze_if_stale_told_to_skip_inside_a_transaction_does_nothing_there() -> None:
    # given: a burst, and a caller's transaction
    insert_pending(1200)
    count_before = analyses()[0] if connection.vendor == "postgresql" else 0
    # when
    with transaction.atomic(), CaptureQueriesContext(connection) as queries:
        analysed = analyze_if_stale(TABLE, skip_in_transaction=True)
    # then: not even the catalogue read
    assert analysed is False
    assert queries.captured_queries == []
    if connection.vendor == "postgresql":
        assert analyses()[0] == count_before
        assert analyze_if_stale(TABLE, skip_in_transaction=True) is True  # outside: as ever


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("outbox_statistics")
def test_several_tables_are_read_in_one_statement_and_analysed_each_on_its_own_terms() -> None:
    # given: a burst in the outbox; the other table (the ERP's orders) unchanged
    other = SimOrder._meta.db_table
    insert_pending(1200)
    if connection.vendor != "postgresql":
        assert analyze_stale_tables([other, TABLE]) == []
        return
    count_before, _ = analyses()
    # when
    with CaptureQueriesContext(connection) as queries:
        analysed = analyze_stale_tables([other, TABLE])
    # then: one catalogue read; the outbox analysed, the other table left alone
    assert analysed == [TABLE]
    assert len([q for q in queries.captured_queries if "pg_stat_user_tables" in q["sql"]]) == 1
    assert analyses()[0] == count_before + 1
    assert analyze_stale_tables([other, TABLE]) == []


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("outbox_statistics")
def test_a_table_locked_by_a_vacuum_is_given_up_within_the_lock_timeout() -> None:
    # given: a burst, and another session holding the lock a VACUUM or ANALYZE takes
    insert_pending(1200)
    if connection.vendor != "postgresql":
        assert analyze_if_stale(TABLE) is False
        return
    other = connections.create_connection("default")
    try:
        other.set_autocommit(False)
        with other.cursor() as cursor:
            cursor.execute(f"LOCK TABLE {TABLE} IN SHARE UPDATE EXCLUSIVE MODE")
        count_before, _ = analyses()
        # when
        started = time.monotonic()
        analysed = analyze_if_stale(TABLE)
        waited = time.monotonic() - started
        # then: given up after the lock timeout, this session still usable
        assert analysed is False
        assert waited < 0.8
        assert not connection.in_atomic_block
        assert OutboxMessage.objects.count() == 1200
        assert analyses()[0] == count_before
    finally:
        other.rollback()
        other.close()
    # and once the lock is released, the next call analyses
    assert analyze_if_stale(TABLE) is True


# --- relay_due -------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("due", "checked_after"),
    [
        # once, right after the first batch, however many follow
        pytest.param(3 * 10 + 4, [10], id="three-full-batches-and-a-short-one"),
        # never: no backlog, nothing the statistics would miss
        pytest.param(7, [], id="less-than-a-batch"),
    ],
)
def test_relay_due_checks_the_statistics_at_its_first_full_batch_only(
    monkeypatch: pytest.MonkeyPatch, due: int, checked_after: list[int]
) -> None:
    # given: `due` messages, relayed in batches of 10
    OutboxMessage.objects.bulk_create(messages(due, first=0), batch_size=2000)
    calls: list[tuple[str, int]] = []
    fan_outs: list[int] = []

    def delivered() -> int:
        return OutboxMessage.objects.filter(status=OutboxStatus.DELIVERED).count()

    monkeypatch.setattr(
        outbox, "analyze_if_stale", lambda table, **_: calls.append((table, delivered())) or True
    )
    # when
    report, _ = outbox.relay_due(adapter=FakeErp(), batch_size=10, on_full_batch=lambda: fan_outs.append(1))
    # then: the statistics checked with this many delivered, and the fan-out as often
    assert report.delivered == due
    assert calls == [(TABLE, n) for n in checked_after]
    assert len(fan_outs) == len(checked_after)


def test_relay_due_inside_a_transaction_leaves_the_statistics_to_a_run_of_its_own() -> None:
    # given: a full batch due, and the test's transaction around the relay
    OutboxMessage.objects.bulk_create(messages(20, first=0))
    count_before = analyses()[0] if connection.vendor == "postgresql" else 0
    # when
    report, _ = outbox.relay_due(adapter=FakeErp(), batch_size=10)
    # then: delivered, and no ANALYZE attempted where it would raise
    assert report.delivered == 20
    if connection.vendor == "postgresql":
        assert analyses()[0] == count_before
