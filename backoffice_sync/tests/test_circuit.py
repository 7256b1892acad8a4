"""The circuit breaker: an unavailable ERP is waited out, probed with backoff, and costs
no message an attempt; the operators hear of a long outage once."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator
from typing import Any

import pytest
import time_machine
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone

from backoffice_sync import outbox
from backoffice_sync.circuit import Gate, circuit_gate, circuit_notice, circuit_status, probe_delay_seconds
from backoffice_sync.erp import ErpBadRequest, MessageKind
from backoffice_sync.models import CircuitState, ErpCircuit, OutboxMessage, OutboxStatus
from backoffice_sync.outbox import BACKOFF_CAP_SECONDS, outbox_enqueue, relay_due, relay_once
from backoffice_sync.tests.outbox_fakes import FakeErp

pytestmark = pytest.mark.django_db

LEASE = dt.timedelta(seconds=60)


@pytest.fixture
def erp(monkeypatch: pytest.MonkeyPatch, settings: Any) -> Iterator[FakeErp]:
    settings.ERP_PROBE_BASE_SECONDS = 2.0
    settings.ERP_PROBE_CAP_SECONDS = 30.0
    settings.ERP_UNREACHABLE_ALERT_SECONDS = 300.0
    fake = FakeErp()
    monkeypatch.setattr(outbox, "get_adapter", lambda: fake)
    cache.delete(outbox.KICK_CACHE_KEY)
    yield fake
    cache.delete(outbox.KICK_CACHE_KEY)


def submit(order_ref: str) -> OutboxMessage:
    with transaction.atomic():
        return outbox_enqueue(
            kind=MessageKind.ORDER_SUBMIT, aggregate=f"order:{order_ref}", payload={"order_ref": order_ref}
        )


def state() -> str:
    return ErpCircuit.objects.get(pk=1).state


def test_an_unavailable_erp_opens_the_circuit_and_gives_every_attempt_back(erp: FakeErp) -> None:
    # given
    erp.down = True
    messages = [submit(f"SO-{n}") for n in range(5)]
    with time_machine.travel(timezone.now(), tick=False):
        # when
        report = relay_once(adapter=erp)

        # then
        assert report.paused
        assert state() == CircuitState.OPEN
        status = circuit_status()
        assert status.since == timezone.now()
        assert status.next_probe_at == timezone.now() + dt.timedelta(seconds=2)
        assert "the ERP is down" in status.last_error
    for message in messages:
        message.refresh_from_db()
        assert (message.status, message.attempts, message.locked_until) == (OutboxStatus.PENDING, 0, None)
        assert message.next_attempt_at <= timezone.now()  # due the moment the ERP answers


def test_while_open_nothing_is_sent_until_the_probe_is_due(erp: FakeErp) -> None:
    # given
    erp.down = True
    submit("SO-1")
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        relay_once(adapter=erp)
        erp.calls.clear()

        # when
        traveller.shift(dt.timedelta(seconds=1.9))
        waiting = relay_due(adapter=erp)
        traveller.shift(dt.timedelta(seconds=0.2))
        probing = relay_once(adapter=erp)

    # then
    assert waiting[0].paused
    assert waiting[0].claimed == 0
    assert probing.claimed == 1
    assert len(erp.calls) == 1


def test_failed_probes_wait_longer_each_time_up_to_the_cap(erp: FakeErp) -> None:
    # given
    erp.down = True
    submit("SO-1")
    waits = []
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        relay_once(adapter=erp)
        for _ in range(7):
            # when: each probe fails
            row = ErpCircuit.objects.get(pk=1)
            assert row.next_probe_at is not None
            traveller.move_to(row.next_probe_at)
            relay_once(adapter=erp)
            row.refresh_from_db()
            assert row.next_probe_at is not None
            waits.append((row.next_probe_at - timezone.now()).total_seconds())

    # then
    assert waits == [4.0, 8.0, 16.0, 30.0, 30.0, 30.0, 30.0]
    assert [probe_delay_seconds(n) for n in range(3)] == [2.0, 4.0, 8.0]


def test_only_one_relay_wins_the_probe(erp: FakeErp) -> None:
    # given
    erp.down = True
    submit("SO-1")
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        relay_once(adapter=erp)
        traveller.shift(dt.timedelta(seconds=3))

        # when: several relays ask at once
        gates = [circuit_gate(probe_lease=LEASE) for _ in range(4)]

        # then
        assert gates.count(Gate.PROBE) == 1
        assert gates.count(Gate.WAIT) == 3
        assert state() == CircuitState.HALF_OPEN

        # ... and a prober that vanished is replaced once its lease expires
        traveller.shift(LEASE + dt.timedelta(seconds=1))
        assert circuit_gate(probe_lease=LEASE) == Gate.PROBE


def test_a_probe_that_gets_an_answer_closes_the_circuit_and_the_backlog_drains(erp: FakeErp) -> None:
    # given
    erp.down = True
    messages = [submit(f"SO-{n}") for n in range(30)]
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        relay_once(adapter=erp)

        # when: the ERP is back and the sweep comes by after the probe time
        erp.down = False
        traveller.shift(dt.timedelta(seconds=3))
        report, _ = relay_due(adapter=erp, batch_size=10)

    # then: one message probed, then full batches
    assert [len(call) for call in erp.calls] == [30, 1, 10, 10, 9]
    assert report.delivered == 30
    assert state() == CircuitState.CLOSED
    assert circuit_status().unavailable_since is None
    assert all(m.attempts == 1 for m in OutboxMessage.objects.filter(pk__in=[m.pk for m in messages]))


def test_a_refusal_is_an_answer_it_closes_the_circuit(erp: FakeErp) -> None:
    # given
    erp.down = True
    submit("SO-1")
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        relay_once(adapter=erp)
        erp.down = False
        erp.reject = lambda message: "unknown SKU"
        traveller.shift(dt.timedelta(seconds=3))

        # when
        relay_once(adapter=erp)

    # then
    assert state() == CircuitState.CLOSED
    message = OutboxMessage.objects.get()
    assert (message.attempts, message.erp_answer) == (1, "refused")


def test_a_long_outage_spends_no_attempt_and_dead_letters_nothing(erp: FakeErp, settings: Any) -> None:
    # given: an outage far longer than the old attempts' budget (8 backoffs of at most
    # 15 minutes), with a sweep every minute and orders arriving all along
    settings.OUTBOX_MAX_ATTEMPTS = 8
    outage = dt.timedelta(seconds=8 * BACKOFF_CAP_SECONDS + 3600)
    erp.down = True
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        start = timezone.now()
        n = 0
        while timezone.now() - start < outage:
            if n % 10 == 0:
                submit(f"SO-{n}")
            relay_due(adapter=erp)
            traveller.shift(dt.timedelta(seconds=60))
            n += 1
        sent_during_outage = len(erp.calls)
        assert set(OutboxMessage.objects.values_list("attempts", flat=True)) == {0}
        assert not OutboxMessage.objects.filter(status=OutboxStatus.DEAD).exists()

        # when: the ERP is back
        erp.down = False
        traveller.shift(dt.timedelta(seconds=30))
        relay_due(adapter=erp)

    # then: probes only (one per sweep once the wait reached its cap), and all delivered once
    assert sent_during_outage <= outage.total_seconds() / 60 + 5
    assert all(len(call) == 1 for call in erp.calls[1:sent_during_outage])
    assert (
        OutboxMessage.objects.filter(status=OutboxStatus.DELIVERED).count() == OutboxMessage.objects.count()
    )
    assert set(OutboxMessage.objects.values_list("attempts", flat=True)) == {1}
    assert all(times == 1 for times in erp.applied_times.values())


def test_a_long_outage_alerts_once_at_error_and_puts_a_notice_up_until_the_erp_answers(
    erp: FakeErp, caplog: pytest.LogCaptureFixture, back_office: Any
) -> None:
    # given
    erp.down = True
    submit("SO-1")
    caplog.set_level(logging.WARNING, logger="backoffice_sync.circuit")
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        relay_once(adapter=erp)

        # when: sweeps every 5 seconds for 10 minutes
        notices = []
        for _ in range(120):
            traveller.shift(dt.timedelta(seconds=5))
            relay_due(adapter=erp)
            notices.append(circuit_notice(actor=back_office)["alert"])

        # then: the alert fired once, after 300 s
        errors = [r for r in caplog.records if r.levelno == logging.ERROR]
        assert len(errors) == 1
        assert "ERP unreachable since" in errors[0].getMessage()
        assert notices.index(True) in (59, 60)  # 300 s in
        assert all(notices[notices.index(True) :])

        # ... and the notice goes away when it answers
        erp.down = False
        traveller.shift(dt.timedelta(seconds=31))
        relay_due(adapter=erp)
        assert circuit_notice(actor=back_office)["alert"] is False
    assert state() == CircuitState.CLOSED


def test_the_notice_is_for_who_may_see_the_outbox(sales_rep: Any) -> None:
    # when / then
    with pytest.raises(PermissionDenied):
        circuit_notice(actor=sales_rep)


def test_a_probe_with_nothing_to_send_leaves_the_next_relay_to_probe_at_once(erp: FakeErp) -> None:
    # given: open, and the message that opened it was delivered by other means meanwhile
    erp.down = True
    message = submit("SO-1")
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        relay_once(adapter=erp)
        OutboxMessage.objects.filter(pk=message.pk).update(
            status=OutboxStatus.DELIVERED, delivered_at=timezone.now()
        )
        traveller.shift(dt.timedelta(seconds=3))

        # when
        report = relay_once(adapter=erp)

        # then
        assert report.claimed == 0
        assert state() == CircuitState.OPEN
        assert circuit_gate(probe_lease=LEASE) == Gate.PROBE


def test_a_call_the_erp_refuses_as_a_whole_spends_the_attempt_and_leaves_the_circuit_closed(
    erp: FakeErp,
) -> None:
    # given
    def refuse(messages: Any) -> None:
        raise ErpBadRequest("ERP refused POST /v1/messages (400): at most 500 messages per batch")

    erp.on_deliver = refuse
    message = submit("SO-1")

    # when
    report = relay_once(adapter=erp)

    # then
    assert not report.paused
    assert state() == CircuitState.CLOSED
    message.refresh_from_db()
    assert message.attempts == 1
    assert "at most 500 messages" in message.last_error


def test_the_dashboard_shows_the_back_office_the_notice_of_a_long_outage(
    erp: FakeErp, back_office: Any, sales_rep: Any, client: Any
) -> None:
    # given: the ERP has been away for longer than the alert's threshold
    erp.down = True
    submit("SO-1")
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        relay_once(adapter=erp)
        traveller.shift(dt.timedelta(seconds=301))
        relay_due(adapter=erp)

        # when
        client.force_login(back_office)
        seen = client.get("/").content.decode()
        client.force_login(sales_rep)
        unseen = client.get("/").content.decode()

    # then
    assert 'id="erp-unreachable-notice"' in seen
    assert "ERP link" not in unseen
