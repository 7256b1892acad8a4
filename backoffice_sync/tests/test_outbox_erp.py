"""The outbox against the ERP simulator (the `stub` adapter): its own tables prove that
every message was applied exactly once, in order per aggregate."""

from __future__ import annotations

import datetime as dt
import threading
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
import time_machine
from django.core.cache import cache
from django.db import connection, transaction
from django.utils import timezone

from backoffice_sync import outbox
from backoffice_sync.erp import MessageKind, get_adapter
from backoffice_sync.models import OutboxMessage, OutboxStatus
from backoffice_sync.outbox import BACKOFF_CAP_SECONDS, outbox_enqueue, relay_due
from backoffice_sync.simulator import faults
from backoffice_sync.simulator.models import SimDelivery, SimOrder, SimOrderStatus
from backoffice_sync.tests.outbox_fakes import CountingAdapter, order_payload

pytestmark = pytest.mark.django_db(transaction=True)

BOUND_SECONDS = 60
PAST_ANY_BACKOFF = dt.timedelta(seconds=BACKOFF_CAP_SECONDS + 60)


@pytest.fixture
def erp() -> Iterator[Any]:
    get_adapter.cache_clear()
    cache.delete(outbox.KICK_CACHE_KEY)
    adapter = get_adapter()
    assert adapter.name == "stub"
    yield adapter
    get_adapter.cache_clear()


def place_order(n: int, *, cancel: bool, upsert_customer: bool) -> list[tuple[str, str]]:
    """One order's business transaction; returns the (aggregate, kind) it enqueued."""
    ref, customer_ref = f"SO-{n}", f"C-{n % 40}"
    enqueued = []
    with transaction.atomic():
        if upsert_customer:
            outbox_enqueue(
                kind=MessageKind.CUSTOMER_UPSERT,
                aggregate=f"customer:{customer_ref}",
                payload={"customer_ref": customer_ref, "name": f"Customer {customer_ref} v{n}"},
            )
            enqueued.append((f"customer:{customer_ref}", "customer.upsert"))
        outbox_enqueue(
            kind=MessageKind.ORDER_SUBMIT,
            aggregate=f"order:{ref}",
            payload=order_payload(ref, customer_ref=customer_ref),
        )
        enqueued.append((f"order:{ref}", "order.submit"))
    if cancel:
        with transaction.atomic():
            outbox_enqueue(
                kind=MessageKind.ORDER_CANCEL,
                aggregate=f"order:{ref}",
                payload={"order_ref": ref, "reason": "x"},
            )
        enqueued.append((f"order:{ref}", "order.cancel"))
    return enqueued


def test_an_erp_outage_while_a_thousand_orders_are_placed_loses_nothing_and_applies_each_once(
    erp: Any, settings: Any
) -> None:
    # given: the ERP is down while 1,000 orders are placed, each transaction kicking the
    # relay on commit; a third are cancelled later, a fifth also update their customer
    settings.OUTBOX_BATCH_SIZE = 100
    # The default attempts' budget: an outage, however long, spends none of it.
    expected: dict[str, list[str]] = {}
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        faults.set(outage=True)
        for n in range(1000):
            for aggregate, kind in place_order(n, cancel=n % 3 == 0, upsert_customer=n % 5 == 0):
                expected.setdefault(aggregate, []).append(kind)
            if n % 100 == 0:
                traveller.shift(dt.timedelta(seconds=10))  # beat sweeps meanwhile
                relay_due()
        assert not SimDelivery.objects.exists()

        # when: the ERP comes back, flaky: some calls fail, half of those after applying
        faults.set(outage=False, error_rate=0.2)
        for _ in range(60):
            relay_due()
            if not OutboxMessage.objects.filter(status=OutboxStatus.PENDING).exists():
                break
            traveller.shift(PAST_ANY_BACKOFF)
        faults.set(error_rate=0.0)

    # then: every message delivered, each key applied once, in order per aggregate
    total = sum(len(kinds) for kinds in expected.values())
    assert OutboxMessage.objects.filter(status=OutboxStatus.DELIVERED).count() == total
    assert SimDelivery.objects.filter(status="accepted").count() == total
    applied: dict[str, list[str]] = {}
    for aggregate, kind in SimDelivery.objects.order_by("pk").values_list("aggregate", "kind"):
        applied.setdefault(aggregate, []).append(kind)
    assert applied == expected
    assert SimOrder.objects.count() == 1000
    cancelled = set(
        SimOrder.objects.filter(status=SimOrderStatus.CANCELLED).values_list("order_ref", flat=True)
    )
    assert cancelled == {f"SO-{n}" for n in range(0, 1000, 3)}
    # the outage and the flaky calls were felt, and counted against no message: each
    # counts only its one answered send
    assert OutboxMessage.objects.filter(last_error__startswith="ERP unavailable").exists()
    assert set(OutboxMessage.objects.values_list("attempts", flat=True)) == {1}


def test_relays_racing_for_the_same_messages_send_and_apply_each_exactly_once(
    erp: Any, monkeypatch: Any
) -> None:
    # given: 200 orders, each submitted then cancelled, and four relays started at once
    monkeypatch.setattr(outbox, "_kick_relay", lambda: None)
    for n in range(200):
        place_order(n, cancel=True, upsert_customer=False)
    counting = CountingAdapter(erp)
    start = threading.Barrier(4, timeout=BOUND_SECONDS)
    errors: list[BaseException] = []

    def relay() -> None:
        try:
            start.wait()
            for _ in range(10):
                relay_due(adapter=counting, batch_size=40)
        except BaseException as exc:  # handed to the test thread, which fails on it
            errors.append(exc)
        finally:
            connection.close()

    # when
    threads = [threading.Thread(target=relay) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(BOUND_SECONDS)

    # then
    assert not errors
    assert not any(thread.is_alive() for thread in threads)
    sends = Counter(key for call in counting.calls for key in call)
    assert len(sends) == 400
    assert set(sends.values()) == {1}
    assert SimDelivery.objects.filter(status="accepted").count() == 400
    assert SimOrder.objects.filter(status=SimOrderStatus.CANCELLED).count() == 200
