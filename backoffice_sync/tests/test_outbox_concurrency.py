"""Two relays at once never send a message twice (relays racing against the simulator:
test_outbox_erp.py).

Each relay runs in its own thread with its own database connection. On PostgreSQL the
claims really overlap (SKIP LOCKED); on SQLite the IMMEDIATE transactions serialise them,
and the assertions hold all the same.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.core.cache import cache
from django.db import connection, transaction

from backoffice_sync import outbox
from backoffice_sync.erp import MessageKind
from backoffice_sync.models import OutboxMessage, OutboxStatus
from backoffice_sync.outbox import outbox_enqueue, relay_once
from backoffice_sync.tests.outbox_fakes import FakeErp

pytestmark = pytest.mark.django_db(transaction=True)

BOUND_SECONDS = 30


@pytest.fixture
def erp(monkeypatch: pytest.MonkeyPatch) -> FakeErp:
    fake = FakeErp()
    monkeypatch.setattr(outbox, "get_adapter", lambda: fake)
    cache.delete(outbox.KICK_CACHE_KEY)
    return fake


def enqueue_orders(count: int, *, per_order: int = 1) -> None:
    # One transaction; the tests silence its kick, the relays under test do the work.
    with transaction.atomic():
        for n in range(count):
            for _ in range(per_order):
                outbox_enqueue(kind=MessageKind.ORDER_SUBMIT, aggregate=f"order:SO-{n}", payload={"n": n})


def in_thread(target: Callable[[], Any], errors: list[BaseException], *, name: str) -> threading.Thread:
    def run() -> None:
        try:
            target()
        except BaseException as exc:  # handed to the test thread, which fails on it
            errors.append(exc)
        finally:
            connection.close()  # this thread's own connection

    thread = threading.Thread(target=run, name=name)
    thread.start()
    return thread


def test_a_relay_holding_a_batch_in_an_erp_call_leaves_it_to_no_other(erp: FakeErp, monkeypatch: Any) -> None:
    # given: relay A is inside its (slow) ERP call with a batch of 10
    monkeypatch.setattr(outbox, "_kick_relay", lambda: None)
    enqueue_orders(20)
    a_in_call, b_done = threading.Event(), threading.Event()

    def hold(messages: Any) -> None:
        if threading.current_thread().name == "relay-a":
            a_in_call.set()
            assert b_done.wait(BOUND_SECONDS)

    erp.on_deliver = hold
    errors: list[BaseException] = []
    relay_a = in_thread(lambda: relay_once(adapter=erp, batch_size=10), errors, name="relay-a")
    assert a_in_call.wait(BOUND_SECONDS)

    # when: relay B runs meanwhile
    report_b = relay_once(adapter=erp, batch_size=20)
    b_done.set()
    relay_a.join(BOUND_SECONDS)

    # then: B took only the other 10; nobody sent anything twice
    assert not errors
    assert not relay_a.is_alive()
    assert report_b.claimed == 10
    first, second = erp.calls
    assert set(first).isdisjoint(second)
    assert OutboxMessage.objects.filter(status=OutboxStatus.DELIVERED).count() == 20
