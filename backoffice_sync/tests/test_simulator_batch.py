"""The simulator's `deliver` applies a batch set-based: a batch of order submits costs a
fixed number of queries, and any batch ends as if its messages were delivered one at a
time (results, numbers, events and rows)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from backoffice_sync.adapters.stub import StubAdapter
from backoffice_sync.erp import DeliveryResult, DeliveryStatus, MessageKind, OutboundMessage
from backoffice_sync.simulator import engine
from backoffice_sync.simulator.engine import batch
from backoffice_sync.simulator.models import SimCustomer, SimDelivery, SimEvent, SimOrder, SimOrderLine

pytestmark = pytest.mark.django_db

START = dt.datetime(2025, 3, 3, tzinfo=dt.UTC)
SEED = 11
BATCH_QUERY_BUDGET = 30


@pytest.fixture
def erp() -> StubAdapter:
    adapter = StubAdapter()
    adapter.reset(seed=SEED, start=START)
    return adapter


def order(
    ref: str, *lines: tuple[str, int], customer_ref: str = "CUST-1", number: str | None = None
) -> dict[str, Any]:
    return {
        "order_ref": ref,
        "customer_ref": customer_ref,
        "erp_customer_number": number,
        "currency": "EUR",
        "requested_date": "2025-04-01",
        "lines": [
            {"line_no": no, "sku": sku, "quantity": quantity, "unit_price": f"{9 + no}.50"}
            for no, (sku, quantity) in enumerate(lines, start=1)
        ],
        "ship_to": {"city": "Lyon"},
    }


def submit(key: Any, payload: Any) -> OutboundMessage:
    ref = payload.get("order_ref") if isinstance(payload, dict) else "?"
    return OutboundMessage(key, MessageKind.ORDER_SUBMIT, f"order:{ref}", payload)


def cancel(key: str, order_ref: str) -> OutboundMessage:
    return OutboundMessage(
        key,
        MessageKind.ORDER_CANCEL,
        f"order:{order_ref}",
        {"order_ref": order_ref, "reason": "changed mind"},
    )


def upsert(key: str, customer_ref: str, name: str) -> OutboundMessage:
    return OutboundMessage(
        key,
        MessageKind.CUSTOMER_UPSERT,
        f"customer:{customer_ref}",
        {"customer_ref": customer_ref, "name": name, "email": f"{name.lower()}@example.com"},
    )


def snapshot() -> dict[str, Any]:
    """Everything a delivery writes, without database ids or wall-clock timestamps."""
    return {
        "events": list(
            SimEvent.objects.order_by("seq").values_list(
                "event_id", "type", "aggregate", "version", "occurred_at", "data"
            )
        ),
        "customers": list(
            SimCustomer.objects.order_by("id").values_list(
                "customer_ref", "number", "name", "email", "payment_terms_days", "pays_late", "version"
            )
        ),
        "orders": list(
            SimOrder.objects.order_by("id").values_list(
                "order_ref",
                "number",
                "customer__customer_ref",
                "currency",
                "requested_date",
                "ship_to",
                "status",
                "received_at",
                "reason",
                "version",
            )
        ),
        "lines": list(
            SimOrderLine.objects.order_by("id").values_list(
                "order__order_ref",
                "line_no",
                "product__sku",
                "quantity",
                "unit_price",
                "reserved",
                "warehouse",
            )
        ),
        "deliveries": list(
            SimDelivery.objects.order_by("id").values_list(
                "idempotency_key", "kind", "aggregate", "status", "error", "data"
            )
        ),
    }


def test_a_batch_of_200_order_submits_runs_within_a_fixed_query_budget(
    erp: StubAdapter, django_assert_max_num_queries: Any
) -> None:
    # given: 200 orders of up to 3 lines, for 40 customers (20 of them known to the ERP)
    for n in range(20):
        engine.customer_update(customer_ref=f"C-{n}", payment_terms_days=30)
    skus = [f"FO-{n}" for n in range(1001, 1040) if n != 1004]
    batch = [
        submit(
            f"k-{n}",
            order(
                f"ORD-{n}",
                *((skus[(n + i) % len(skus)], 1 + i) for i in range(1 + n % 3)),
                customer_ref=f"C-{n % 40}",
            ),
        )
        for n in range(200)
    ]

    # when
    with django_assert_max_num_queries(BATCH_QUERY_BUDGET):
        results = erp.deliver(batch)

    # then
    assert [r.status for r in results] == [DeliveryStatus.ACCEPTED] * 200
    assert results[-1].data == {"erp_order_number": "SO-000200", "status": "received"}
    assert SimOrder.objects.count() == 200
    assert SimOrderLine.objects.count() == sum(1 + n % 3 for n in range(200))
    assert SimCustomer.objects.count() == 40
    assert SimDelivery.objects.filter(status=DeliveryStatus.ACCEPTED).count() == 200


def mixed_batch() -> tuple[list[OutboundMessage], list[OutboundMessage]]:
    """(delivered before, the batch): every case a batch can hold, in one batch."""
    before = [
        submit("k-old", order("ORD-OLD", ("FO-1001", 1), customer_ref="KNOWN")),
        submit("k-old-bad", order("ORD-OLD-BAD", ("NOPE", 1))),
    ]
    batch = [
        submit("k-1", order("ORD-1", ("FO-1001", 2), ("FO-1002", 1), customer_ref="NEW-A")),
        submit("k-2", order("ORD-2", ("FO-1003", 5), customer_ref="KNOWN")),
        submit("k-1", order("ORD-1", ("FO-1001", 2), ("FO-1002", 1), customer_ref="NEW-A")),  # key again
        submit("k-3", order("ORD-1", ("FO-1005", 1), customer_ref="NEW-A")),  # order_ref again
        submit("k-4", order("ORD-4", ("FO-1001", 1), ("NO-SUCH-SKU", 1), customer_ref="NEW-X")),
        submit("k-4", order("ORD-4", ("FO-1001", 1), ("NO-SUCH-SKU", 1), customer_ref="NEW-X")),
        submit("k-old", order("ORD-OLD", ("FO-1001", 1), customer_ref="KNOWN")),  # applied before
        submit("k-old-bad", order("ORD-OLD-BAD", ("NOPE", 1))),  # rejected before
        submit("k-5", order("ORD-5", ("FO-1004", 1))),  # discontinued
        submit("k-6", order("ORD-6", ("FO-1001", 0))),  # non-positive quantity
        submit("k-7", ["not", "a", "dict"]),
        submit("", order("ORD-8", ("FO-1001", 1))),  # malformed key
        submit("k-9", {"order_ref": "ORD-9"}),
        submit("k-10", order("ORD-10", ("FO-1006", 3), customer_ref="NEW-A")),  # customer made in this batch
        cancel("k-11", "ORD-1"),  # submitted earlier in this batch
        submit("k-12", order("ORD-1", ("FO-1001", 1))),  # a cancelled order_ref stays taken
        submit("k-13", order("ORD-2", ("FO-1001", 1))),  # order_ref from the run before the cancel
        upsert("k-14", "NEW-B", "Bravo"),
        submit("k-15", order("ORD-15", ("FO-1007", 1), customer_ref="NEW-B")),
        submit("k-16", order("ORD-16", ("FO-1008", 1), customer_ref="NEW-C")),
        cancel("k-17", "ORD-16"),
        cancel("k-11", "ORD-1"),  # key again, outside a run of submits
        submit("k-14", order("ORD-18", ("FO-1001", 1))),  # an upsert's key, reused by a submit
        submit("k-19", order("ORD-19", ("FO-1009", 1), ("FO-1009", 2))),  # one SKU on two lines
        # customers numbered by the profile: the first opens its account under the number,
        # the second finds it taken in this batch, the third finds it held before
        submit("k-20", order("ORD-20", ("FO-1001", 1), customer_ref="NUM-A", number="C100260")),
        submit("k-21", order("ORD-21", ("FO-1001", 1), customer_ref="NUM-B", number="C100260")),
        upsert("k-22", "NUM-C", "Charlie"),
        submit("k-23", order("ORD-23", ("FO-1001", 1), customer_ref="NUM-D", number="C-000004")),
    ]
    return before, batch


def deliver_and_snapshot(
    erp: StubAdapter, *, one_at_a_time: bool
) -> tuple[list[DeliveryResult], dict[str, Any]]:
    erp.reset(seed=SEED, start=START)
    engine.customer_update(customer_ref="KNOWN", payment_terms_days=45, pays_late=True)
    before, batch = mixed_batch()
    for message in before:
        erp.deliver([message])
    if one_at_a_time:
        results = [result for message in batch for result in erp.deliver([message])]
    else:
        results = erp.deliver(batch)
    return results, snapshot()


@pytest.mark.parametrize(
    "per_message_engine", [False, True], ids=["deliver-one-by-one", "per-message-engine"]
)
def test_a_mixed_batch_ends_as_if_delivered_one_message_at_a_time(
    erp: StubAdapter, monkeypatch: pytest.MonkeyPatch, per_message_engine: bool
) -> None:
    # given: the reference, each message delivered alone (optionally with the batch path
    # switched off, i.e. the engine applying every message by itself)
    with monkeypatch.context() as patch:
        if per_message_engine:
            patch.setattr(batch, "is_submit", lambda message: False)
        expected_results, expected_rows = deliver_and_snapshot(erp, one_at_a_time=True)

    # when
    results, rows = deliver_and_snapshot(erp, one_at_a_time=False)

    # then
    assert results == expected_results
    assert rows == expected_rows
    by_key = [(r.idempotency_key, r.status, r.error.split(" (")[0]) for r in results]
    assert by_key == [
        ("k-1", DeliveryStatus.ACCEPTED, ""),
        ("k-2", DeliveryStatus.ACCEPTED, ""),
        ("k-1", DeliveryStatus.DUPLICATE, ""),
        ("k-3", DeliveryStatus.REJECTED, "order ORD-1 was already submitted"),
        ("k-4", DeliveryStatus.REJECTED, "unknown SKU NO-SUCH-SKU"),
        ("k-4", DeliveryStatus.REJECTED, "unknown SKU NO-SUCH-SKU"),
        ("k-old", DeliveryStatus.DUPLICATE, ""),
        ("k-old-bad", DeliveryStatus.REJECTED, "unknown SKU NOPE"),
        ("k-5", DeliveryStatus.REJECTED, "SKU FO-1004 is discontinued"),
        ("k-6", DeliveryStatus.REJECTED, "line 1: quantity must be positive"),
        ("k-7", DeliveryStatus.REJECTED, "payload must be an object"),
        ("", DeliveryStatus.REJECTED, "idempotency_key must be 1-200 characters"),
        ("k-9", DeliveryStatus.REJECTED, "customer_ref must be a non-empty string"),
        ("k-10", DeliveryStatus.ACCEPTED, ""),
        ("k-11", DeliveryStatus.ACCEPTED, ""),
        ("k-12", DeliveryStatus.REJECTED, "order ORD-1 was already submitted"),
        ("k-13", DeliveryStatus.REJECTED, "order ORD-2 was already submitted"),
        ("k-14", DeliveryStatus.ACCEPTED, ""),
        ("k-15", DeliveryStatus.ACCEPTED, ""),
        ("k-16", DeliveryStatus.ACCEPTED, ""),
        ("k-17", DeliveryStatus.ACCEPTED, ""),
        ("k-11", DeliveryStatus.DUPLICATE, ""),
        ("k-14", DeliveryStatus.DUPLICATE, ""),
        ("k-19", DeliveryStatus.ACCEPTED, ""),
        ("k-20", DeliveryStatus.ACCEPTED, ""),
        ("k-21", DeliveryStatus.ACCEPTED, ""),
        ("k-22", DeliveryStatus.ACCEPTED, ""),
        ("k-23", DeliveryStatus.ACCEPTED, ""),
    ]
    assert [r.data.get("erp_order_number") for r in results[:2]] == ["SO-000002", "SO-000003"]
    assert {ref: status for ref, *_, status, _, _, _ in rows["orders"]} == {
        "ORD-OLD": "received",
        "ORD-1": "cancelled",
        "ORD-2": "received",
        "ORD-10": "received",
        "ORD-15": "received",
        "ORD-16": "cancelled",
        "ORD-19": "received",
        "ORD-20": "received",
        "ORD-21": "received",
        "ORD-23": "received",
    }
    numbers = {ref: number for ref, number, *_ in rows["customers"]}
    assert list(numbers) == ["KNOWN", "NEW-A", "NEW-B", "NEW-C", "CUST-1", "NUM-A", "NUM-B", "NUM-C", "NUM-D"]
    assert numbers["NEW-C"] == "C-000004"  # held before NUM-D's order names it
    assert numbers["NUM-A"] == "C100260"
    assert numbers["NUM-B"].startswith("C-")
    assert numbers["NUM-D"].startswith("C-")
    assert len(set(numbers.values())) == len(numbers)


def test_a_key_claimed_behind_the_runs_back_is_answered_as_before(
    erp: StubAdapter, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given: k-1 applied by another caller the run's read of earlier answers did not see
    SimDelivery.objects.create(
        idempotency_key="k-1", kind="order.submit", aggregate="order:ORD-1", status="accepted", data={"x": 1}
    )
    chunks = batch.chunks
    calls = []

    def blind_first_read(values: Any) -> Any:
        calls.append(1)
        return iter(()) if len(calls) == 1 else chunks(values)

    monkeypatch.setattr(batch, "chunks", blind_first_read)

    # when
    results = erp.deliver(
        [
            submit("k-1", order("ORD-1", ("FO-1001", 1), customer_ref="NEW-A")),
            submit("k-2", order("ORD-2", ("FO-1001", 1), customer_ref="NEW-B")),
        ]
    )

    # then: the unique key stopped the run, which was redone one message at a time
    assert [(r.status, r.data) for r in results] == [
        (DeliveryStatus.DUPLICATE, {"x": 1}),
        (DeliveryStatus.ACCEPTED, {"erp_order_number": "SO-000001", "status": "received"}),
    ]
    assert list(SimOrder.objects.values_list("order_ref", flat=True)) == ["ORD-2"]
    assert list(SimCustomer.objects.values_list("customer_ref", "number")) == [("NEW-B", "C-000001")]


def on_state_lock(monkeypatch: pytest.MonkeyPatch, before: Any) -> None:
    """Run `before` when `deliver` takes the state lock, as a concurrent caller would."""
    lock_state = batch.lock_state

    def lock_after_it() -> Any:
        before()
        return lock_state()

    monkeypatch.setattr(batch, "lock_state", lock_after_it)


def test_a_run_of_submits_reads_earlier_answers_and_orders_before_the_state_lock(
    erp: StubAdapter, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given
    messages = [submit(f"k-{n}", order(f"ORD-{n}", ("FO-1001", 1), customer_ref=f"C-{n}")) for n in range(5)]
    with CaptureQueriesContext(connection) as queries:
        marks: list[int] = []
        on_state_lock(monkeypatch, lambda: marks.append(len(queries)))

        # when
        results = erp.deliver(messages)

    # then: the reads that hold for good were made before the lock; nothing written
    before_lock = [q["sql"] for q in queries.captured_queries[: marks[0]]]
    assert any('FROM "sim_delivery"' in sql for sql in before_lock)
    assert any('FROM "sim_order"' in sql for sql in before_lock)
    assert not any(sql.startswith(("INSERT", "UPDATE")) for sql in before_lock)
    assert [r.status for r in results] == [DeliveryStatus.ACCEPTED] * 5


def test_an_answer_or_order_made_between_the_read_and_the_lock_is_honoured(
    erp: StubAdapter, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given: between the run's reads and its lock, another caller applies k-1 and
    # submits ORD-2 under another key
    def concurrent_caller() -> None:
        monkeypatch.undo()
        erp.deliver(
            [
                submit("k-1", order("ORD-1", ("FO-1001", 1), customer_ref="NEW-A")),
                submit("other", order("ORD-2", ("FO-1002", 1), customer_ref="NEW-B")),
            ]
        )

    on_state_lock(monkeypatch, concurrent_caller)

    # when
    results = erp.deliver(
        [
            submit("k-1", order("ORD-1", ("FO-1001", 1), customer_ref="NEW-A")),
            submit("k-2", order("ORD-2", ("FO-1002", 1), customer_ref="NEW-B")),
            submit("k-3", order("ORD-3", ("FO-1003", 1), customer_ref="NEW-B")),
        ]
    )

    # then: applied once each, as if the other caller had gone first
    assert [(r.status, r.error.split(" (")[0]) for r in results] == [
        (DeliveryStatus.DUPLICATE, ""),
        (DeliveryStatus.REJECTED, "order ORD-2 was already submitted"),
        (DeliveryStatus.ACCEPTED, ""),
    ]
    assert sorted(SimOrder.objects.values_list("order_ref", flat=True)) == ["ORD-1", "ORD-2", "ORD-3"]
    assert SimDelivery.objects.count() == 4


def test_what_was_read_before_a_reset_is_not_used_after_it(
    erp: StubAdapter, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given: k-1 applied, then the ERP is reset between the run's reads and its lock
    message = submit("k-1", order("ORD-1", ("FO-1001", 1), customer_ref="NEW-A"))
    erp.deliver([message])
    on_state_lock(monkeypatch, lambda: engine.reset(seed=SEED, start=START))

    # when
    [result] = erp.deliver([message])

    # then: the new ERP has never seen it
    assert (result.status, result.data["erp_order_number"]) == (DeliveryStatus.ACCEPTED, "SO-000001")
    assert list(SimOrder.objects.values_list("order_ref", flat=True)) == ["ORD-1"]
