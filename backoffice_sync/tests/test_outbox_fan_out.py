"""Several relays share a backlog: each aggregate is leased to one at a time, and a relay
that finds a backlog starts helpers so that every worker drains."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
import time_machine
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from backoffice_sync import outbox
from backoffice_sync.erp import MessageKind
from backoffice_sync.models import OutboxMessage
from backoffice_sync.outbox import outbox_enqueue
from backoffice_sync.tasks import relay_outbox
from backoffice_sync.tests.outbox_fakes import FakeErp

pytestmark = pytest.mark.django_db

LEASE = dt.timedelta(seconds=60)


@pytest.fixture
def erp(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeErp]:
    fake = FakeErp()
    monkeypatch.setattr(outbox, "get_adapter", lambda: fake)
    monkeypatch.setattr(outbox, "_kick_relay", lambda: None)
    cache.delete(outbox.FAN_OUT_CACHE_KEY)
    yield fake
    cache.delete(outbox.FAN_OUT_CACHE_KEY)


def enqueue(aggregate: str, kind: MessageKind = MessageKind.ORDER_SUBMIT) -> OutboxMessage:
    with transaction.atomic():
        return outbox_enqueue(kind=kind, aggregate=aggregate, payload={"order_ref": aggregate})


def test_an_aggregate_leased_to_one_relay_is_out_of_reach_of_the_others_until_its_lease_expires(
    erp: FakeErp,
) -> None:
    # given: order A has a submit and a cancel, order B a submit
    a1 = enqueue("order:A")
    enqueue("order:A", MessageKind.ORDER_CANCEL)
    b1 = enqueue("order:B")
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        first = outbox._claim(batch_size=1, lease=LEASE, token="relay-1")

        # when: a second relay claims while the first holds A's head
        second = outbox._claim(batch_size=10, lease=LEASE, token="relay-2")
        third = outbox._claim(batch_size=10, lease=LEASE, token="relay-3")
        traveller.shift(LEASE + dt.timedelta(seconds=1))
        after_expiry = outbox._claim(batch_size=10, lease=LEASE, token="relay-4")

    # then: A's cancel never goes out beside its submit; B goes to the second relay
    assert [m.pk for m in first] == [a1.pk]
    assert [m.pk for m in second] == [b1.pk]
    assert third == []
    assert {m.aggregate for m in after_expiry} == {"order:A", "order:B"}
    assert [m.kind for m in after_expiry if m.aggregate == "order:A"] == ["order.submit"]


def test_a_relay_that_finds_a_backlog_starts_helpers_once_which_never_fan_out(
    erp: FakeErp, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given: more messages than one batch
    settings.OUTBOX_BATCH_SIZE = 10
    settings.OUTBOX_RELAY_CONCURRENCY = 3
    for n in range(25):
        enqueue(f"order:SO-{n}")
    started: list[dict[str, Any]] = []
    monkeypatch.setattr(relay_outbox, "apply_async", lambda kwargs, queue=None: started.append(kwargs))

    # when: a swept run, then another right after
    relay_outbox.apply().get()
    relay_outbox.apply().get()

    # then: the first started two helpers (three relays in all); the second none, so soon after
    assert started == [{"lease_seconds": None, "fan_out": False}] * 2
    assert len(erp.applied) == 25


def test_a_small_batch_starts_no_helper(erp: FakeErp, settings: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    # given
    settings.OUTBOX_BATCH_SIZE = 10
    for n in range(3):
        enqueue(f"order:SO-{n}")
    started: list[dict[str, Any]] = []
    monkeypatch.setattr(relay_outbox, "apply_async", lambda kwargs, queue=None: started.append(kwargs))

    # when
    relay_outbox.apply().get()

    # then
    assert started == []


def test_a_helper_does_not_fan_out(erp: FakeErp, settings: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    # given
    settings.OUTBOX_BATCH_SIZE = 10
    for n in range(25):
        enqueue(f"order:SO-{n}")
    started: list[dict[str, Any]] = []
    monkeypatch.setattr(relay_outbox, "apply_async", lambda kwargs, queue=None: started.append(kwargs))

    # when
    relay_outbox.apply(kwargs={"fan_out": False}).get()

    # then
    assert started == []
