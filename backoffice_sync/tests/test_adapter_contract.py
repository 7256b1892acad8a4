"""The contract every ERP adapter keeps, run against both: `stub` (the simulator in this
process) and `http` (the same simulator served by `manage.py run_erp_simulator` in a
subprocess, on this test process's database).

The simulator's controls (`reset`, `tick`, `set_faults`) are methods of both adapters,
outside the ErpAdapter protocol, so that one test body drives either.
"""

from __future__ import annotations

import datetime as dt
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import requests
from django.conf import settings

from backoffice_sync.adapters.http import HttpAdapter
from backoffice_sync.adapters.stub import StubAdapter
from backoffice_sync.erp import (
    AdapterBase,
    DeliveryStatus,
    ErpAdapter,
    ErpBadRequest,
    ErpEvent,
    ErpUnavailable,
    EventType,
    MessageKind,
    OutboundMessage,
    RecordKind,
)
from tests.subprocesses import this_test_database_url

pytestmark = pytest.mark.django_db(transaction=True)

SEED = 7
START = dt.datetime(2025, 3, 3, tzinfo=dt.UTC)
# The ERP confirms an order at its next step and ships it ERP_DISPATCH_DAYS (1 by
# default) after the day it received it: half a day in, it is confirmed and not shipped.
UNTIL_CONFIRMED = 12
BOUND_SECONDS = 30
BASE_DIR = Path(settings.BASE_DIR)

Adapter = StubAdapter | HttpAdapter


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def erp_server(django_db_setup: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`manage.py run_erp_simulator` on a free port, against the test database; its base URL."""
    port = _free_port()
    tmp = tmp_path_factory.mktemp("erp")
    env = {key: value for key, value in os.environ.items() if not key.startswith(("ERP_", "CELERY_"))}
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        DEBUG="1",
        DATABASE_URL=this_test_database_url(),
        VAR_DIR=str(tmp / "var"),
        ERP_SIMULATOR_SEED=str(SEED),
        PYTHONUNBUFFERED="1",
    )
    log_path = tmp / "erp.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(  # noqa: S603 - our own interpreter and manage.py
            [sys.executable, str(BASE_DIR / "manage.py"), "run_erp_simulator", "--port", str(port)],
            cwd=BASE_DIR,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + BOUND_SECONDS
        while True:
            if process.poll() is not None:
                pytest.fail(f"the simulator exited ({process.returncode}):\n{log_path.read_text()}")
            try:
                if requests.get(f"{base_url}/healthz", timeout=1).status_code == 200:
                    break
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                pytest.fail(
                    f"the simulator did not answer /healthz within {BOUND_SECONDS} s:\n{log_path.read_text()}"
                )
            time.sleep(0.1)
        yield base_url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(params=["stub", "http"])
def adapter(request: pytest.FixtureRequest) -> Adapter:
    """A fresh simulator (seed 7, clock at START, no faults) behind the adapter under test."""
    erp: Adapter = (
        StubAdapter()
        if request.param == "stub"
        else HttpAdapter(base_url=request.getfixturevalue("erp_server"))
    )
    erp.reset(seed=SEED, start=START)
    return erp


def order(
    ref: str, *lines: tuple[str, int], customer_ref: str = "CUST-1", number: str | None = None
) -> dict[str, Any]:
    return {
        "order_ref": ref,
        "customer_ref": customer_ref,
        "erp_customer_number": number,
        "currency": "EUR",
        "requested_date": None,
        "lines": [
            {"line_no": no, "sku": sku, "quantity": quantity, "unit_price": "10.00"}
            for no, (sku, quantity) in enumerate(lines, start=1)
        ],
        "ship_to": None,
    }


def submit(key: str, payload: dict[str, Any]) -> OutboundMessage:
    return OutboundMessage(key, MessageKind.ORDER_SUBMIT, f"order:{payload['order_ref']}", payload)


def all_changes(erp: Adapter, cursor: str | None = None) -> tuple[list[ErpEvent], str]:
    events: list[ErpEvent] = []
    while True:
        batch = erp.pull_changes(cursor=cursor, limit=200)
        events.extend(batch.events)
        cursor = batch.cursor
        if not batch.has_more:
            return events, cursor


def of_aggregate(events: list[ErpEvent], aggregate: str) -> list[ErpEvent]:
    return [event for event in events if event.aggregate == aggregate]


def test_both_adapters_implement_the_protocol(adapter: Adapter) -> None:
    # then
    assert isinstance(adapter, ErpAdapter)
    assert isinstance(adapter, AdapterBase)
    assert adapter.name in ("stub", "http")


def test_a_submitted_order_is_accepted_then_confirmed_after_a_tick(adapter: Adapter) -> None:
    # given
    _, cursor = all_changes(adapter)

    # when
    result = adapter.push_order(idempotency_key="k-1", order=order("ORD-1", ("FO-1001", 2)))
    before_tick, cursor = all_changes(adapter, cursor)
    adapter.tick(UNTIL_CONFIRMED)
    after_tick, _ = all_changes(adapter, cursor)

    # then
    assert result.status == DeliveryStatus.ACCEPTED
    assert result.data["erp_order_number"].startswith("SO-")
    assert not of_aggregate(before_tick, "order:ORD-1")
    (confirmed,) = of_aggregate(after_tick, "order:ORD-1")
    assert confirmed.type == EventType.ORDER_CONFIRMED
    assert confirmed.data["order_ref"] == "ORD-1"
    assert confirmed.data["erp_order_number"] == result.data["erp_order_number"]
    assert confirmed.data["customer_ref"] == "CUST-1"
    assert confirmed.data["status"] == "confirmed"
    assert [(line["sku"], line["quantity"], line["shipped"]) for line in confirmed.data["lines"]] == [
        ("FO-1001", 2, 0)
    ]
    assert confirmed.occurred_at == START + dt.timedelta(hours=UNTIL_CONFIRMED)


def test_the_same_key_twice_is_a_duplicate_and_applied_once(adapter: Adapter) -> None:
    # given
    message = submit("k-dup", order("ORD-DUP", ("FO-1001", 2)))
    first = adapter.deliver([message])

    # when
    again = adapter.deliver([message])
    adapter.tick(UNTIL_CONFIRMED)

    # then
    assert [r.status for r in first] == [DeliveryStatus.ACCEPTED]
    assert [r.status for r in again] == [DeliveryStatus.DUPLICATE]
    assert again[0].data == first[0].data
    events, _ = all_changes(adapter)
    assert [e.type for e in of_aggregate(events, "order:ORD-DUP")] == [EventType.ORDER_CONFIRMED]
    reserved = sum(level.reserved for level in adapter.stock(["FO-1001"]))
    assert reserved == 2


def test_batch_results_come_one_per_message_in_order(adapter: Adapter) -> None:
    # given
    adapter.deliver([submit("k-a", order("ORD-A", ("FO-1001", 1)))])
    batch = [
        submit("k-b", order("ORD-B", ("FO-1002", 1))),
        submit("k-a", order("ORD-A", ("FO-1001", 1))),
        submit("k-c", order("ORD-C", ("NO-SUCH-SKU", 1))),
        submit("k-d", order("ORD-D", ("FO-1003", 1))),
    ]

    # when
    results = adapter.deliver(batch)

    # then
    assert [(r.idempotency_key, r.status) for r in results] == [
        ("k-b", DeliveryStatus.ACCEPTED),
        ("k-a", DeliveryStatus.DUPLICATE),
        ("k-c", DeliveryStatus.REJECTED),
        ("k-d", DeliveryStatus.ACCEPTED),
    ]


@pytest.mark.parametrize(
    ("kind", "payload", "reason"),
    [
        (MessageKind.ORDER_SUBMIT, order("ORD-X", ("NO-SUCH-SKU", 1)), "unknown SKU NO-SUCH-SKU"),
        (MessageKind.ORDER_SUBMIT, order("ORD-X", ("FO-1004", 1)), "discontinued"),
        (MessageKind.ORDER_SUBMIT, order("ORD-X", ("FO-1001", 0)), "quantity must be positive"),
        (MessageKind.ORDER_SUBMIT, order("ORD-X", ("FO-1001", -3)), "quantity must be positive"),
        (MessageKind.ORDER_SUBMIT, {**order("ORD-X", ("FO-1001", 1)), "lines": "FO-1001"}, "lines must be"),
        (MessageKind.ORDER_SUBMIT, {"order_ref": "ORD-X"}, "customer_ref"),
        (MessageKind.ORDER_CANCEL, {"order_ref": "NEVER-SENT", "reason": ""}, "never submitted"),
        (MessageKind.CUSTOMER_UPSERT, {"customer_ref": "C-9", "name": 42}, "name"),
        ("invoice.delete", {}, "unknown message kind"),
    ],
)
def test_it_rejects_a_message_it_can_never_apply_with_a_reason(
    adapter: Adapter, kind: str, payload: dict[str, Any], reason: str
) -> None:
    # when
    (result,) = adapter.deliver([OutboundMessage("k-bad", kind, "x:1", payload)])  # type: ignore[arg-type]
    (again,) = adapter.deliver([OutboundMessage("k-bad", kind, "x:1", payload)])  # type: ignore[arg-type]

    # then
    assert result.status == DeliveryStatus.REJECTED
    assert reason in result.error
    assert (again.status, again.error) == (DeliveryStatus.REJECTED, result.error)
    adapter.tick(24)
    events, _ = all_changes(adapter)
    assert not of_aggregate(events, "order:ORD-X")


def test_a_cancel_after_shipping_is_rejected(adapter: Adapter) -> None:
    # given an order of FO-1009 (lead time 3 days), shipped
    adapter.push_order(idempotency_key="k-ship", order=order("ORD-SHIP", ("FO-1009", 1)))
    adapter.tick(24 * 5)
    events, _ = all_changes(adapter)
    assert EventType.ORDER_SHIPPED in [e.type for e in of_aggregate(events, "order:ORD-SHIP")]

    # when
    result = adapter.cancel_order(idempotency_key="k-cancel", order_ref="ORD-SHIP", reason="too late")

    # then
    assert result.status == DeliveryStatus.REJECTED
    assert "already shipped" in result.error


def test_a_cancel_before_shipping_cancels_and_frees_the_stock(adapter: Adapter) -> None:
    # given
    adapter.push_order(idempotency_key="k-o", order=order("ORD-C1", ("FO-1005", 3)))
    adapter.tick(UNTIL_CONFIRMED)
    assert sum(level.reserved for level in adapter.stock(["FO-1005"])) == 3

    # when
    result = adapter.cancel_order(idempotency_key="k-c", order_ref="ORD-C1", reason="changed mind")

    # then
    assert result.status == DeliveryStatus.ACCEPTED
    assert sum(level.reserved for level in adapter.stock(["FO-1005"])) == 0
    events, _ = all_changes(adapter)
    cancelled = of_aggregate(events, "order:ORD-C1")[-1]
    assert (cancelled.type, cancelled.data["status"], cancelled.data["reason"]) == (
        EventType.ORDER_CANCELLED,
        "cancelled",
        "changed mind",
    )


def upsert(key: str, customer_ref: str, number: str | None, **fields: Any) -> OutboundMessage:
    payload = {"customer_ref": customer_ref, "erp_customer_number": number, "name": "Dockside Ltd", **fields}
    return OutboundMessage(key, MessageKind.CUSTOMER_UPSERT, f"customer:{customer_ref}", payload)


def customer_changes(erp: Adapter, customer_ref: str) -> list[dict[str, Any]]:
    events, _ = all_changes(erp)
    changed = of_aggregate(events, f"customer:{customer_ref}")
    assert all(event.type == EventType.CUSTOMER_CHANGED for event in changed)
    return [event.data for event in changed]


def test_an_upsert_creates_an_unknown_customer_under_the_number_it_carries(adapter: Adapter) -> None:
    # given: a customer numbered outside this ERP (an import, the demo data)
    message = upsert("k-new", "CUST-SEEDED", "C100260", email="orders@dockside.test")

    # when
    (created,) = adapter.deliver([message])
    (again,) = adapter.deliver([message])
    adapter.push_order(
        idempotency_key="k-o", order=order("ORD-S", ("FO-1001", 1), customer_ref="CUST-SEEDED")
    )

    # then: one account, under that number, which the order reuses
    assert (created.status, created.data) == (DeliveryStatus.ACCEPTED, {"erp_customer_number": "C100260"})
    assert (again.status, again.data) == (DeliveryStatus.DUPLICATE, created.data)
    (changed,) = customer_changes(adapter, "CUST-SEEDED")
    assert (changed["erp_customer_number"], changed["name"], changed["email"]) == (
        "C100260",
        "Dockside Ltd",
        "orders@dockside.test",
    )


def test_an_upsert_never_gives_one_number_to_two_customers(adapter: Adapter) -> None:
    # given
    adapter.deliver([upsert("k-a", "CUST-A", "C100260")])

    # when
    taken, renumbered = adapter.deliver(
        [upsert("k-b", "CUST-B", "C100260"), upsert("k-a2", "CUST-A", "C100261")]
    )

    # then
    assert taken.status == DeliveryStatus.REJECTED
    assert "C100260 belongs to another customer" in taken.error
    assert renumbered.status == DeliveryStatus.REJECTED
    assert "C100261 is not the number of customer CUST-A" in renumbered.error
    assert customer_changes(adapter, "CUST-B") == []
    assert [c["erp_customer_number"] for c in customer_changes(adapter, "CUST-A")] == ["C100260"]


def test_a_number_of_the_erps_own_series_given_from_outside_is_never_issued_again(
    adapter: Adapter,
) -> None:
    # given: the ERP has numbered one customer (C-000001); another arrives as C-000002
    adapter.deliver([upsert("k-1", "CUST-1", None), upsert("k-2", "CUST-2", "C-000002")])

    # when: the ERP numbers new customers itself, from an upsert and from an order
    (numbered,) = adapter.deliver([upsert("k-3", "CUST-3", None)])
    adapter.push_order(idempotency_key="k-o", order=order("ORD-4", ("FO-1001", 1), customer_ref="CUST-4"))

    # then
    numbers = {
        ref: customer_changes(adapter, ref)[-1]["erp_customer_number"]
        for ref in ("CUST-1", "CUST-2", "CUST-3", "CUST-4")
    }
    assert numbered.data == {"erp_customer_number": numbers["CUST-3"]}
    assert numbers == {"CUST-1": "C-000001", "CUST-2": "C-000002", "CUST-3": "C-000003", "CUST-4": "C-000004"}


def test_an_older_upsert_delivered_again_does_not_undo_a_newer_one(adapter: Adapter) -> None:
    # given: two upserts of one customer, in order (the relay sends an aggregate in order)
    older = upsert("k-old", "CUST-SEEDED", "C100260", phone="+31201111111")
    newer = upsert("k-new", "CUST-SEEDED", "C100260", phone="+31202222222")
    adapter.deliver([older, newer])

    # when: the older one comes again (a relay whose lease expired re-sends it)
    (again,) = adapter.deliver([older])

    # then
    assert again.status == DeliveryStatus.DUPLICATE
    assert [c["phone"] for c in customer_changes(adapter, "CUST-SEEDED")] == ["+31201111111", "+31202222222"]


def merge(key: str, survivor_ref: str, duplicate_ref: str, number: str) -> OutboundMessage:
    payload = {"survivor_ref": survivor_ref, "duplicate_ref": duplicate_ref, "erp_customer_number": number}
    return OutboundMessage(key, MessageKind.CUSTOMER_MERGE, f"customer:{survivor_ref}", payload)


def test_a_merge_hands_the_duplicates_number_to_a_survivor_the_erp_did_not_know(adapter: Adapter) -> None:
    # given: the duplicate's account is C100260; the survivor is new to the ERP
    adapter.deliver([upsert("k-dup", "CUST-DUP", "C100260")])

    # when: the merge, then the survivor's upsert naming the number, then a late upsert
    # of the duplicate (queued before the merge)
    merged, survivor, late = adapter.deliver(
        [
            merge("k-m", "CUST-SURV", "CUST-DUP", "C100260"),
            upsert("k-s", "CUST-SURV", "C100260", email="orders@dockside.test"),
            upsert("k-late", "CUST-DUP", "C100260", phone="+31201111111"),
        ]
    )
    (again,) = adapter.deliver([merge("k-m2", "CUST-SURV", "CUST-DUP", "C100260")])

    # then: every message is taken; the survivor holds the number; the duplicate's account
    # is closed, under another number, and its late upsert changed nothing
    assert [r.status for r in (merged, survivor, late, again)] == [DeliveryStatus.ACCEPTED] * 4
    assert merged.data == survivor.data == again.data == {"erp_customer_number": "C100260"}
    assert {c["erp_customer_number"] for c in customer_changes(adapter, "CUST-SURV")} == {"C100260"}
    assert customer_changes(adapter, "CUST-SURV")[-1]["email"] == "orders@dockside.test"
    assert [(c["erp_customer_number"], c["phone"]) for c in customer_changes(adapter, "CUST-DUP")] == [
        ("C100260", None)
    ]


def test_a_merge_renumbers_a_survivor_the_erp_knew_under_its_own_number(adapter: Adapter) -> None:
    # given: the survivor reached the ERP through an order (numbered C-000001) before the
    # front office learnt its number; the duplicate is C100260
    adapter.push_order(idempotency_key="k-o", order=order("ORD-S", ("FO-1001", 1), customer_ref="CUST-SURV"))
    adapter.deliver([upsert("k-dup", "CUST-DUP", "C100260")])

    # when
    (merged,) = adapter.deliver([merge("k-m", "CUST-SURV", "CUST-DUP", "C100260")])
    (upserted,) = adapter.deliver([upsert("k-s", "CUST-SURV", "C100260")])

    # then
    assert (merged.status, upserted.status) == (DeliveryStatus.ACCEPTED, DeliveryStatus.ACCEPTED)
    assert [c["erp_customer_number"] for c in customer_changes(adapter, "CUST-SURV")][-1] == "C100260"


def test_a_merge_never_takes_a_third_customers_number(adapter: Adapter) -> None:
    # given: C100260 belongs to neither of the two
    adapter.deliver([upsert("k-other", "CUST-OTHER", "C100260"), upsert("k-dup", "CUST-DUP", "C100261")])

    # when
    (taken,) = adapter.deliver([merge("k-m", "CUST-SURV", "CUST-DUP", "C100260")])
    (itself,) = adapter.deliver([merge("k-self", "CUST-DUP", "CUST-DUP", "C100261")])

    # then
    assert taken.status == itself.status == DeliveryStatus.REJECTED
    assert "C100260 belongs to another customer (CUST-OTHER)" in taken.error
    assert "cannot be merged into itself" in itself.error
    assert customer_changes(adapter, "CUST-SURV") == []


def test_an_order_opens_an_unknown_customer_under_the_number_it_carries(adapter: Adapter) -> None:
    # given: one customer already holds C100300
    adapter.deliver([upsert("k-held", "CUST-HELD", "C100300")])

    # when: orders overtake their customers' upserts, carrying the profiles' numbers
    results = adapter.deliver(
        [
            submit("k-1", order("ORD-1", ("FO-1001", 1), customer_ref="CUST-SEEDED", number="C100260")),
            submit("k-2", order("ORD-2", ("FO-1001", 1), customer_ref="CUST-TWIN", number="C100260")),
            submit("k-3", order("ORD-3", ("FO-1001", 1), customer_ref="CUST-LATE", number="C100300")),
            submit("k-4", order("ORD-4", ("FO-1001", 1), customer_ref="CUST-LONG", number="N" * 30)),
        ]
    )
    (upserted,) = adapter.deliver([upsert("k-u", "CUST-SEEDED", "C100260", email="orders@dockside.test")])

    # then: every order is taken; the first opens the account under its number, which the
    # later upsert names without a conflict; a number held already, or too long for this
    # ERP, leaves the ERP to number the account itself
    assert [r.status for r in results] == [DeliveryStatus.ACCEPTED] * 4
    assert upserted.status == DeliveryStatus.ACCEPTED
    assert {c["erp_customer_number"] for c in customer_changes(adapter, "CUST-SEEDED")} == {"C100260"}
    own = {
        ref: customer_changes(adapter, ref)[-1]["erp_customer_number"]
        for ref in ("CUST-TWIN", "CUST-LATE", "CUST-LONG")
    }
    assert all(number.startswith("C-") for number in own.values()), own
    assert len(set(own.values())) == 3


def test_during_an_outage_every_call_fails_and_nothing_is_applied(adapter: Adapter) -> None:
    # given
    _, cursor = all_changes(adapter)
    adapter.set_faults(outage=True)

    # when / then
    with pytest.raises(ErpUnavailable):
        adapter.push_order(idempotency_key="k-out", order=order("ORD-OUT", ("FO-1001", 1)))
    with pytest.raises(ErpUnavailable):
        adapter.pull_changes(cursor=cursor)
    with pytest.raises(ErpUnavailable):
        adapter.stock(["FO-1001"])
    with pytest.raises(ErpUnavailable):
        adapter.catalogue()

    # then, once it is back, the message was never applied
    adapter.set_faults(outage=False)
    assert adapter.pull_changes(cursor=cursor).events == []
    retry = adapter.push_order(idempotency_key="k-out", order=order("ORD-OUT", ("FO-1001", 1)))
    assert retry.status == DeliveryStatus.ACCEPTED


def test_an_answer_lost_after_applying_makes_the_retry_a_duplicate(adapter: Adapter) -> None:
    # given every call fails, about half of them after applying the batch
    adapter.set_faults(error_rate=1.0)
    message = submit("k-lost", order("ORD-LOST", ("FO-1001", 1)))
    for _ in range(8):
        with pytest.raises(ErpUnavailable):
            adapter.deliver([message])

    # when the ERP recovers and the relay retries
    adapter.set_faults(error_rate=0.0)
    (result,) = adapter.deliver([message])
    adapter.tick(UNTIL_CONFIRMED)

    # then it was applied exactly once
    assert result.status == DeliveryStatus.DUPLICATE
    events, _ = all_changes(adapter)
    assert [e.type for e in of_aggregate(events, "order:ORD-LOST")] == [EventType.ORDER_CONFIRMED]


def test_pull_changes_pages_with_a_cursor_that_stays_put_when_nothing_is_new(adapter: Adapter) -> None:
    # given a fresh ERP has published its catalogue and stock: 40 products, 40 x 3 stock rows
    pages = []
    cursor = None

    # when
    while True:
        batch = adapter.pull_changes(cursor=cursor, limit=70)
        pages.append(batch)
        cursor = batch.cursor
        if not batch.has_more:
            break
    idle = adapter.pull_changes(cursor=cursor, limit=70)

    # then
    assert [len(page.events) for page in pages] == [70, 70, 20]
    assert [page.has_more for page in pages] == [True, True, False]
    events = [event for page in pages for event in page.events]
    assert len({event.id for event in events}) == 160
    assert {e.type for e in events} == {EventType.PRODUCT_CHANGED, EventType.STOCK_CHANGED}
    assert (idle.events, idle.cursor, idle.has_more) == ([], cursor, False)


def test_a_malformed_cursor_is_a_bad_request(adapter: Adapter) -> None:
    # when / then
    with pytest.raises(ErpBadRequest):
        adapter.pull_changes(cursor="not-a-cursor")


def test_stock_answers_every_warehouse_of_the_known_skus(adapter: Adapter) -> None:
    # when
    levels = adapter.stock(["FO-1002", "NO-SUCH-SKU", "FO-1001"])

    # then
    assert [(level.sku, level.warehouse) for level in levels] == [
        (sku, warehouse) for sku in ("FO-1001", "FO-1002") for warehouse in ("AMS", "LYS", "MUC")
    ]
    assert all(level.on_hand >= level.reserved >= 0 and level.version >= 1 for level in levels)
    assert all(incoming.expected_on > START.date() for level in levels for incoming in level.incoming)


def test_the_catalogue_lists_every_product_with_its_terms(adapter: Adapter) -> None:
    # when
    products = adapter.catalogue()

    # then
    assert len(products) == 40
    by_sku = {product.sku: product for product in products}
    chair = by_sku["FO-1002"]
    assert (chair.name, str(chair.unit_price), chair.currency, chair.lead_time_days, chair.active) == (
        "Ergonomic desk chair M",
        "289.00",
        "EUR",
        5,
        True,
    )
    assert not by_sku["FO-1004"].active


def _scenario(erp: Adapter) -> list[dict[str, Any]]:
    erp.reset(seed=SEED, start=START)
    erp.upsert_customer(
        idempotency_key="c-1",
        customer={
            "customer_ref": "CUST-1",
            "erp_customer_number": None,
            "name": "Acme",
            "email": None,
            "phone": None,
        },
    )
    erp.deliver(
        [
            submit("o-1", order("ORD-1", ("FO-1001", 5), ("FO-1010", 40))),
            submit("o-2", order("ORD-2", ("FO-1021", 300))),
        ]
    )
    erp.tick(24 * 10)
    erp.cancel_order(idempotency_key="x-2", order_ref="ORD-2")
    erp.tick(24 * 120)
    events, _ = all_changes(erp)
    return [event.as_json() for event in events]


def test_daily_totals_count_the_orders_and_invoices_the_change_log_reported(adapter: Adapter) -> None:
    # given: a few orders that get confirmed, shipped and invoiced over three weeks
    adapter.deliver(
        [submit(f"dt-{n}", order(f"DT-{n}", ("FO-1001", 1 + n % 3), ("FO-1002", 1))) for n in range(6)]
    )
    for _ in range(21):
        adapter.tick(24)
    events, _ = all_changes(adapter)
    first_report: dict[str, dt.date] = {}
    invoiced: dict[dt.date, dict[str, Decimal]] = {}
    for event in sorted(events, key=lambda e: e.occurred_at):
        day = event.occurred_at.astimezone(dt.UTC).date()
        if event.type in (EventType.ORDER_CONFIRMED, EventType.ORDER_REJECTED):
            first_report.setdefault(event.aggregate, day)
        elif event.type == EventType.INVOICE_ISSUED:
            per_day = invoiced.setdefault(day, {})
            currency = event.data["currency"]
            per_day[currency] = per_day.get(currency, Decimal(0)) + Decimal(event.data["amount"])
    assert first_report, "the scenario should confirm orders"
    assert invoiced, "the scenario should invoice orders"
    orders: dict[dt.date, int] = {}
    for day in first_report.values():
        orders[day] = orders.get(day, 0) + 1

    # when
    totals = adapter.daily_totals(since=START.date(), until=adapter.clock().date())

    # then
    assert {t.day: (t.orders, t.invoiced) for t in totals} == {
        day: (orders.get(day, 0), invoiced.get(day, {})) for day in set(orders) | set(invoiced)
    }


def test_the_same_seed_and_inputs_give_the_same_event_stream(adapter: Adapter) -> None:
    # when
    first = _scenario(adapter)
    second = _scenario(adapter)

    # then
    assert first == second
    assert {EventType.ORDER_SHIPPED, EventType.INVOICE_ISSUED, EventType.PAYMENT_RECEIVED} <= {
        EventType(event["type"]) for event in first
    }


def test_a_different_seed_gives_different_stock(adapter: Adapter) -> None:
    # given
    skus = [f"FO-{n}" for n in range(1001, 1041)]
    adapter.reset(seed=1, start=START)
    one = adapter.stock(skus)

    # when
    adapter.reset(seed=2, start=START)
    two = adapter.stock(skus)

    # then
    assert [level.on_hand for level in one] != [level.on_hand for level in two]


# --- The HTTP edge only -------------------------------------------------------------


def test_the_http_api_answers_malformed_json_with_a_json_400(erp_server: str) -> None:
    # when
    response = requests.post(f"{erp_server}/v1/messages", data=b"{not json", timeout=5)

    # then
    assert response.status_code == 400
    assert "not JSON" in response.json()["detail"]


@pytest.mark.parametrize(
    ("method", "path", "body", "status"),
    [
        ("post", "/v1/messages", {"messages": "nope"}, 400),
        ("post", "/v1/messages", {"messages": [{"kind": "order.submit"}]}, 400),
        ("post", "/v1/tick", {"hours": -1}, 400),
        ("put", "/v1/faults", {"error_rate": 7}, 400),
        ("put", "/v1/faults", {"no_such_knob": True}, 400),
        ("get", "/v1/nowhere", None, 404),
        ("delete", "/v1/faults", None, 405),
    ],
)
def test_the_http_api_answers_bad_requests_with_json_errors(
    erp_server: str, method: str, path: str, body: Any, status: int
) -> None:
    # when
    response = requests.request(method, f"{erp_server}{path}", json=body, timeout=5)

    # then
    assert response.status_code == status
    assert response.json()["detail"]


def test_the_http_adapter_reports_an_unreachable_erp_as_unavailable() -> None:
    # given nothing listens on the port
    erp = HttpAdapter(base_url=f"http://127.0.0.1:{_free_port()}", timeout=2)

    # when / then
    with pytest.raises(ErpUnavailable):
        erp.catalogue()


def test_the_http_adapter_reports_a_timeout_as_unavailable(erp_server: str) -> None:
    # given an ERP slower than the adapter's patience
    control = HttpAdapter(base_url=erp_server)
    control.reset(seed=SEED, start=START)
    control.set_faults(latency_ms=1500)
    impatient = HttpAdapter(base_url=erp_server, timeout=0.3)

    # when / then
    with pytest.raises(ErpUnavailable):
        impatient.stock(["FO-1001"])
    control.set_faults(latency_ms=0)


def test_records_answer_orders_invoices_and_payments_as_they_are_now(adapter: Adapter) -> None:
    # given: orders shipped, delivered, invoiced and paid over three months
    adapter.deliver(
        [submit(f"rc-{n}", order(f"RC-{n}", ("FO-1001", 1 + n), ("FO-1002", 1))) for n in range(3)]
    )
    adapter.tick(24 * 90)
    events, _ = all_changes(adapter)
    until = adapter.clock().date()
    # when: the window's records, then one of each by ref
    orders = adapter.records(RecordKind.ORDER, since=START.date(), until=until)
    invoices = adapter.records(RecordKind.INVOICE, since=START.date(), until=until)
    payments = adapter.records(RecordKind.PAYMENT, since=START.date(), until=until)
    # then: what the change log said last about each
    assert [o["order_ref"] for o in orders] == ["RC-0", "RC-1", "RC-2"]
    for record in orders:
        last = of_aggregate(events, f"order:{record['order_ref']}")[-1]
        assert (record["status"], record["version"]) == (last.data["status"], last.version)
        assert [(x["sku"], x["quantity"], x["shipped"]) for x in record["lines"]] == [
            (x["sku"], x["quantity"], x["shipped"]) for x in last.data["lines"]
        ]
        if record["status"] == "delivered":
            assert record["delivered_on"] == last.data["delivered_on"]
        shipped = {
            e.data["shipment_number"]: e.data["shipped_on"]
            for e in of_aggregate(events, last.aggregate)
            if "shipment_number" in e.data
        }
        assert {s["shipment_number"]: s["shipped_on"] for s in record["shipments"]} == shipped
    issued = {e.data["number"]: e.data for e in events if e.type == EventType.INVOICE_ISSUED}
    assert {i["number"]: (i["amount"], i["due_on"]) for i in invoices} == {
        n: (d["amount"], d["due_on"]) for n, d in issued.items()
    }
    received = {e.data["payment_ref"]: e.data for e in events if e.type == EventType.PAYMENT_RECEIVED}
    assert {p["reference"]: (p["invoice_number"], p["amount"]) for p in payments} == {
        r: (d["invoice_number"], d["amount"]) for r, d in received.items()
    }
    for invoice in invoices:
        paid = invoice["number"] in {p["invoice_number"] for p in payments}
        assert (invoice["status"] == "paid") == paid
        assert invoice["amount_open"] == ("0.00" if paid else invoice["amount"])
    assert adapter.records(RecordKind.ORDER, refs=["RC-1", "NOPE"]) == [orders[1]]
    assert adapter.records(RecordKind.INVOICE, refs=[invoices[0]["number"]]) == [invoices[0]]
    assert adapter.records(RecordKind.PAYMENT, refs=["NOPE"]) == []
