"""The transactional outbox: enqueue with the change, relay in order, retry, dead-letter, replay."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest
import time_machine
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.db import connection, transaction
from django.http import Http404
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from backoffice_sync import outbox
from backoffice_sync.erp import DeliveryResult, MessageKind, OutboundMessage
from backoffice_sync.models import OutboxMessage, OutboxStatus
from backoffice_sync.outbox import (
    BACKOFF_BASE_SECONDS,
    BACKOFF_CAP_SECONDS,
    NotInTransaction,
    backoff_seconds,
    outbox_enqueue,
    outbox_enqueue_ahead,
    relay_due,
    relay_once,
)
from backoffice_sync.outbox_replay import outbox_replay
from backoffice_sync.tasks import relay_outbox
from backoffice_sync.tests.outbox_fakes import FakeErp
from customers.models import Customer
from customers.tests.factories import PersonFactory
from frontoffice.errors import Conflict

PAST_ANY_BACKOFF = dt.timedelta(seconds=BACKOFF_CAP_SECONDS + 60)


@pytest.fixture
def erp(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeErp]:
    """The fake ERP, also what the relay task finds through get_adapter()."""
    fake = FakeErp()
    monkeypatch.setattr(outbox, "get_adapter", lambda: fake)
    cache.delete(outbox.KICK_CACHE_KEY)
    yield fake
    cache.delete(outbox.KICK_CACHE_KEY)


def submit(order_ref: str, **payload: Any) -> OutboxMessage:
    with transaction.atomic():
        return outbox_enqueue(
            kind=MessageKind.ORDER_SUBMIT,
            aggregate=f"order:{order_ref}",
            payload={"order_ref": order_ref, **payload},
        )


def cancel(order_ref: str) -> OutboxMessage:
    with transaction.atomic():
        return outbox_enqueue(
            kind=MessageKind.ORDER_CANCEL,
            aggregate=f"order:{order_ref}",
            payload={"order_ref": order_ref, "reason": "changed mind"},
        )


def drain(erp: FakeErp, traveller: Any, *, rounds: int = 30, **relay: Any) -> None:
    """Relay until nothing is pending, jumping past every backoff between rounds."""
    for _ in range(rounds):
        relay_due(adapter=erp, **relay)
        if not OutboxMessage.objects.filter(status=OutboxStatus.PENDING).exists():
            return
        traveller.shift(PAST_ANY_BACKOFF)
    pytest.fail("the outbox did not drain")


# --- Enqueue ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_rolled_back_change_leaves_no_message(erp: FakeErp) -> None:
    # given
    class Abandon(Exception):
        pass

    def change_then_fail() -> None:
        with transaction.atomic():
            customer = PersonFactory()
            outbox_enqueue(
                kind=MessageKind.CUSTOMER_UPSERT,
                aggregate=f"customer:{customer.pk}",
                payload={"customer_ref": str(customer.pk), "name": "x"},
            )
            raise Abandon

    # when
    with pytest.raises(Abandon):
        change_then_fail()

    # then
    assert not Customer.objects.exists()
    assert not OutboxMessage.objects.exists()
    assert erp.calls == []


@pytest.mark.django_db
def test_a_committed_change_has_exactly_one_message_delivered_after_commit(
    erp: FakeErp, django_capture_on_commit_callbacks: Any
) -> None:
    # when
    with django_capture_on_commit_callbacks(execute=True) as callbacks, transaction.atomic():
        customer = PersonFactory()
        message = outbox_enqueue(
            kind=MessageKind.CUSTOMER_UPSERT,
            aggregate=f"customer:{customer.pk}",
            payload={"customer_ref": str(customer.pk), "name": customer.display_name},
        )
        assert erp.calls == []  # nothing leaves before the commit

    # then
    assert len(callbacks) == 1
    assert OutboxMessage.objects.count() == 1
    message.refresh_from_db()
    assert message.status == OutboxStatus.DELIVERED
    assert message.sequence == 1
    assert message.attempts == 1
    assert message.result["status"] == "accepted"
    assert list(erp.applied) == [message.idempotency_key]


@pytest.mark.django_db(transaction=True)
def test_enqueue_outside_a_transaction_is_refused(erp: FakeErp) -> None:
    # when / then
    with pytest.raises(NotInTransaction):
        outbox_enqueue(kind=MessageKind.ORDER_SUBMIT, aggregate="order:1", payload={"order_ref": "1"})
    assert not OutboxMessage.objects.exists()


@pytest.fixture
def relay_tasks(monkeypatch: pytest.MonkeyPatch) -> list[tuple[Any, ...]]:
    """The relay tasks sent to the broker (recorded instead of run)."""
    sent: list[tuple[Any, ...]] = []
    monkeypatch.setattr(relay_outbox, "delay", lambda *args: sent.append(args))
    return sent


@pytest.mark.django_db
def test_messages_of_one_aggregate_are_numbered_in_order_and_one_relay_task_is_sent_per_transaction(
    erp: FakeErp, relay_tasks: list[tuple[Any, ...]], django_capture_on_commit_callbacks: Any
) -> None:
    # when
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        first = outbox_enqueue(kind=MessageKind.ORDER_SUBMIT, aggregate="order:A", payload={})
        second = outbox_enqueue(kind=MessageKind.ORDER_CANCEL, aggregate="order:A", payload={})
        other = outbox_enqueue(kind=MessageKind.ORDER_SUBMIT, aggregate="order:B", payload={})
        assert relay_tasks == []  # nothing before the commit

    # then
    assert (first.sequence, second.sequence, other.sequence) == (1, 2, 1)
    assert len({first.idempotency_key, second.idempotency_key, other.idempotency_key}) == 3
    assert relay_tasks == [()]


@pytest.mark.django_db
def test_a_relay_that_runs_at_once_is_still_sent_once_per_transaction(
    erp: FakeErp, monkeypatch: pytest.MonkeyPatch, django_capture_on_commit_callbacks: Any
) -> None:
    # given: the relay runs as soon as it is sent (eager Celery), clearing the debounce
    runs: list[int] = []

    def run_at_once() -> None:
        outbox.clear_kick()
        runs.append(1)

    monkeypatch.setattr(relay_outbox, "delay", run_at_once)

    # when
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        for aggregate in ("order:A", "order:B", "order:C"):
            outbox_enqueue(kind=MessageKind.ORDER_SUBMIT, aggregate=aggregate, payload={})

    # then
    assert runs == [1]


@pytest.mark.django_db
def test_a_rolled_back_transaction_sends_no_relay_task(
    erp: FakeErp, relay_tasks: list[tuple[Any, ...]], django_capture_on_commit_callbacks: Any
) -> None:
    # given
    def enqueue_two_then_fail() -> None:
        with transaction.atomic():
            outbox_enqueue(kind=MessageKind.ORDER_SUBMIT, aggregate="order:A", payload={})
            outbox_enqueue(kind=MessageKind.ORDER_SUBMIT, aggregate="order:B", payload={})
            raise RuntimeError

    # when
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(RuntimeError):
        enqueue_two_then_fail()

    # then
    assert relay_tasks == []
    assert not OutboxMessage.objects.exists()


@pytest.mark.django_db
def test_each_committed_transaction_gets_its_relay_task(
    erp: FakeErp, relay_tasks: list[tuple[Any, ...]], django_capture_on_commit_callbacks: Any
) -> None:
    # when: two transactions, the relay having run (and cleared the debounce) in between
    for aggregate in ("order:A", "order:B"):
        with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
            outbox_enqueue(kind=MessageKind.ORDER_SUBMIT, aggregate=aggregate, payload={})
        outbox.clear_kick()

    # then
    assert relay_tasks == [(), ()]


@pytest.mark.django_db
def test_a_message_enqueued_in_a_rolled_back_savepoint_is_gone_but_its_sibling_is_kicked(
    erp: FakeErp, relay_tasks: list[tuple[Any, ...]], django_capture_on_commit_callbacks: Any
) -> None:
    # when
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        try:
            with transaction.atomic():
                outbox_enqueue(kind=MessageKind.ORDER_SUBMIT, aggregate="order:A", payload={})
                raise RuntimeError
        except RuntimeError:
            pass
        outbox_enqueue(kind=MessageKind.ORDER_SUBMIT, aggregate="order:B", payload={})

    # then
    assert relay_tasks == [()]
    assert list(OutboxMessage.objects.values_list("aggregate", flat=True)) == ["order:B"]


@pytest.mark.django_db
def test_a_broker_failure_after_commit_leaves_the_message_for_the_sweep(
    erp: FakeErp, monkeypatch: pytest.MonkeyPatch, django_capture_on_commit_callbacks: Any
) -> None:
    # given: the broker is down
    def unreachable(*args: Any) -> None:
        raise ConnectionError("broker down")

    monkeypatch.setattr(relay_outbox, "delay", unreachable)

    # when: the commit's kick fails
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        message = outbox_enqueue(kind=MessageKind.ORDER_SUBMIT, aggregate="order:A", payload={})

    # then: the change stands, and the sweep delivers the message
    assert OutboxMessage.objects.get().status == OutboxStatus.PENDING
    relay_due(adapter=erp)
    assert list(erp.applied) == [message.idempotency_key]


@pytest.mark.django_db
def test_a_message_enqueued_ahead_goes_before_the_unsent_ones_but_not_before_one_already_tried(
    erp: FakeErp,
) -> None:
    # given: two upserts queued; the relay has tried the first (the ERP was down)
    with transaction.atomic():
        tried = outbox_enqueue(kind=MessageKind.CUSTOMER_UPSERT, aggregate="customer:7", payload={})
        unsent = outbox_enqueue(kind=MessageKind.CUSTOMER_UPSERT, aggregate="customer:7", payload={})
    OutboxMessage.objects.filter(pk=tried.pk).update(attempts=1)

    # when
    with transaction.atomic():
        merge = outbox_enqueue_ahead(kind=MessageKind.CUSTOMER_MERGE, aggregate="customer:7", payload={})

    # then
    order = list(OutboxMessage.objects.order_by("sequence").values_list("pk", "sequence"))
    assert [pk for pk, _ in order] == [tried.pk, merge.pk, unsent.pk]
    assert len({sequence for _, sequence in order}) == 3
    relay_due(adapter=erp)
    assert list(erp.applied) == [tried.idempotency_key, merge.idempotency_key, unsent.idempotency_key]


# --- Relay: order, batching, retries -------------------------------------------------------


@pytest.mark.django_db
def test_a_cancel_never_overtakes_its_failed_submit(erp: FakeErp) -> None:
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        # given: the ERP is down when the order is submitted and then cancelled
        erp.down = True
        first = submit("SO-1")
        second = cancel("SO-1")
        relay_once(adapter=erp)
        assert erp.calls == [[first.idempotency_key]]  # the cancel was not even eligible

        # when: the submit waits for its backoff, the ERP is back, a relay runs
        erp.down = False
        relay_once(adapter=erp)

        # then: nothing of the order moved, the submit is still ahead
        assert len(erp.calls) == 1
        second.refresh_from_db()
        assert second.attempts == 0

        # when: time passes
        drain(erp, traveller)

    # then
    assert erp.per_aggregate["order:SO-1"] == ["order.submit", "order.cancel"]
    assert [call for call in erp.calls[1:]] == [[first.idempotency_key], [second.idempotency_key]]


@pytest.mark.django_db
def test_one_erp_call_carries_a_whole_batch(erp: FakeErp, settings: Any) -> None:
    # given
    settings.OUTBOX_BATCH_SIZE = 40
    for n in range(100):
        submit(f"SO-{n}")

    # when
    report, more = relay_due(adapter=erp)

    # then
    assert [len(call) for call in erp.calls] == [40, 40, 20]
    assert report.delivered == 100
    assert more is False
    assert OutboxMessage.objects.filter(status=OutboxStatus.DELIVERED).count() == 100


@pytest.mark.django_db
def test_relaying_a_batch_costs_the_same_queries_whatever_its_size(
    erp: FakeErp, django_assert_max_num_queries: Any
) -> None:
    # given
    for n in range(200):
        submit(f"SO-{n}")

    # when / then: claim (savepoint, select, update, release) + record (same, one update)
    # + the circuit breaker (is it closed? still closed after the answer?)
    with django_assert_max_num_queries(10):
        report = relay_once(adapter=erp, batch_size=200)
    assert report.delivered == 200


@pytest.mark.django_db
def test_recording_a_mixed_batch_costs_at_most_one_update_per_outcome(
    erp: FakeErp, django_assert_max_num_queries: Any, settings: Any
) -> None:
    # given: some are rejected (once is enough to be dead here), the others accepted
    settings.OUTBOX_MAX_ATTEMPTS = 1
    erp.reject = lambda message: "unknown SKU" if message.payload["n"] % 3 == 0 else None
    for n in range(150):
        submit(f"SO-{n}", n=n)

    # when / then
    with django_assert_max_num_queries(11):
        report = relay_once(adapter=erp, batch_size=200)
    assert (report.delivered, report.dead) == (100, 50)


def test_backoff_grows_exponentially_up_to_the_cap() -> None:
    # when
    ceilings = [backoff_seconds(attempt, rand=lambda: 1.0) for attempt in range(1, 15)]

    # then
    assert ceilings[:4] == [BACKOFF_BASE_SECONDS * factor for factor in (1, 2, 4, 8)]
    assert ceilings == sorted(ceilings)
    assert max(ceilings) == BACKOFF_CAP_SECONDS
    assert backoff_seconds(5, rand=lambda: 0.0) == 0.0


def test_backoff_is_jittered_within_its_bounds() -> None:
    # when
    samples = [backoff_seconds(4) for _ in range(200)]

    # then
    assert all(0 <= delay <= BACKOFF_BASE_SECONDS * 8 for delay in samples)
    assert len(set(samples)) > 150  # spread, not lockstep


@pytest.mark.django_db
def test_a_refused_attempt_is_retried_after_a_growing_jittered_backoff(erp: FakeErp) -> None:
    # given
    erp.reject = lambda message: "credit limit reached"
    message = submit("SO-1")
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        for attempt in range(1, 5):
            # when
            relay_once(adapter=erp)

            # then
            message.refresh_from_db()
            wait = (message.next_attempt_at - timezone.now()).total_seconds()
            assert message.attempts == attempt
            assert message.status == OutboxStatus.PENDING
            assert message.locked_until is None
            assert 0 <= wait <= BACKOFF_BASE_SECONDS * 2 ** (attempt - 1)
            assert message.last_error == "rejected by the ERP: credit limit reached"
            assert (message.erp_answer, message.erp_reason) == ("refused", "credit limit reached")
            traveller.move_to(message.next_attempt_at)


@pytest.mark.django_db
def test_a_message_is_dead_after_the_maximum_refusals_and_holds_back_its_aggregate(
    erp: FakeErp, settings: Any
) -> None:
    # given
    settings.OUTBOX_MAX_ATTEMPTS = 3
    erp.reject = lambda message: "the ERP is down for this customer"
    first = submit("SO-1")
    second = cancel("SO-1")

    # when
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        for _ in range(6):
            relay_due(adapter=erp)
            traveller.shift(PAST_ANY_BACKOFF)
        erp.reject = lambda message: None
        relay_due(adapter=erp)

    # then
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.status == OutboxStatus.DEAD
    assert first.attempts == 3
    assert first.dead_at is not None
    assert "the ERP is down" in first.last_error
    assert len(erp.calls) == 3
    assert second.status == OutboxStatus.PENDING
    assert second.attempts == 0
    assert erp.applied == {}


@pytest.mark.django_db
def test_a_message_refused_as_often_as_allowed_is_dead_with_the_erps_reason_and_not_retried(
    erp: FakeErp, settings: Any
) -> None:
    # given
    settings.OUTBOX_MAX_ATTEMPTS = 2
    erp.reject = lambda message: "SKU X-1 does not exist"
    message = submit("SO-1")

    # when
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        for _ in range(4):
            relay_due(adapter=erp)
            traveller.shift(PAST_ANY_BACKOFF)

    # then
    message.refresh_from_db()
    assert message.status == OutboxStatus.DEAD
    assert message.last_error == "rejected by the ERP: SKU X-1 does not exist"
    assert (message.erp_answer, message.erp_reason) == ("refused", "SKU X-1 does not exist")
    assert message.attempts == 2
    assert len(erp.calls) == 2


@pytest.mark.django_db
def test_an_answer_lost_after_the_erp_applied_the_batch_is_resent_harmlessly(erp: FakeErp) -> None:
    # given: the ERP applies the batch but the answer never arrives
    erp.lose_next_answers = 1
    messages = [submit(f"SO-{n}") for n in range(5)]

    # when
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        drain(erp, traveller)

    # then: the lost answer opened the circuit; one message probed, the rest followed
    assert [len(call) for call in erp.calls] == [5, 1, 4]
    assert all(times == 1 for times in erp.applied_times.values())
    for message in messages:
        message.refresh_from_db()
        assert message.status == OutboxStatus.DELIVERED
        assert message.result["status"] == "duplicate"
        assert message.erp_answer == "duplicate"  # a re-send, told apart from a first delivery
        assert message.attempts == 1  # the answered send; the unanswered one was given back


@pytest.mark.django_db
def test_a_relay_that_died_mid_batch_leaves_leases_that_expire(erp: FakeErp) -> None:
    # given: a relay claimed a batch and sent it, then its worker was killed
    messages = [submit(f"SO-{n}") for n in range(3)]
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        claimed = outbox._claim(batch_size=10, lease=dt.timedelta(seconds=60), token="dead-worker")
        outbox._deliver(erp, claimed)

        # when: another relay runs before the lease expires, and after
        before = relay_once(adapter=erp)
        traveller.shift(dt.timedelta(seconds=61))
        after = relay_once(adapter=erp)

    # then
    assert before.claimed == 0
    assert after.delivered == 3
    assert all(times == 1 for times in erp.applied_times.values())
    for message in messages:
        message.refresh_from_db()
        assert message.status == OutboxStatus.DELIVERED
        assert message.attempts == 2


@pytest.mark.django_db
def test_a_relay_whose_lease_was_taken_over_does_not_overwrite_the_new_owner(erp: FakeErp) -> None:
    # given: a slow relay's lease expired and another relay took the message over
    message = submit("SO-1")
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        slow = outbox._claim(batch_size=10, lease=dt.timedelta(seconds=60), token="slow")
        traveller.shift(dt.timedelta(seconds=61))
        fast = outbox._claim(batch_size=10, lease=dt.timedelta(seconds=60), token="fast")

        # when: the slow one finally records its outcome
        report = outbox._record(
            batch=slow, token="slow", results=None, failure="timeout", unavailable=False, max_attempts=8
        )

    # then
    assert report.lost_lease == 1
    assert [m.pk for m in fast] == [message.pk]
    message.refresh_from_db()
    assert message.claimed_by == "fast"
    assert message.last_error == ""


@pytest.mark.django_db
def test_a_message_whose_worker_died_on_every_attempt_ends_dead(erp: FakeErp, settings: Any) -> None:
    # given
    settings.OUTBOX_MAX_ATTEMPTS = 2
    message = submit("SO-1")
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        for _ in range(2):
            outbox._claim(batch_size=10, lease=dt.timedelta(seconds=60), token="doomed")
            traveller.shift(dt.timedelta(seconds=61))

        # when
        relay_due(adapter=erp)

    # then
    message.refresh_from_db()
    assert message.status == OutboxStatus.DEAD
    assert "vanished" in message.last_error
    assert erp.calls == []


@pytest.mark.django_db
def test_an_unexpected_adapter_error_counts_the_attempt_before_it_propagates(erp: FakeErp) -> None:
    # given
    def explode(messages: Any) -> None:
        raise KeyError("bug")

    erp.on_deliver = explode
    message = submit("SO-1")

    # when
    with pytest.raises(KeyError):
        relay_once(adapter=erp)

    # then
    message.refresh_from_db()
    assert message.attempts == 1
    assert message.locked_until is None
    assert message.next_attempt_at > timezone.now() - dt.timedelta(seconds=1)
    assert "KeyError" in message.last_error


# --- Replay ----------------------------------------------------------------------------


@pytest.fixture
def refused_once_is_dead(settings: Any) -> None:
    settings.OUTBOX_MAX_ATTEMPTS = 1


@pytest.mark.django_db
def test_a_replayed_message_is_delivered_and_releases_its_aggregate(
    erp: FakeErp, refused_once_is_dead: None, back_office: Any, django_capture_on_commit_callbacks: Any
) -> None:
    # given: the submit was rejected, the cancel waits behind it
    erp.reject = lambda message: "credit limit" if message.kind == MessageKind.ORDER_SUBMIT else None
    first = submit("SO-1")
    second = cancel("SO-1")
    relay_due(adapter=erp)
    first.refresh_from_db()
    assert first.status == OutboxStatus.DEAD

    # when: the back office fixed the cause and replays it
    erp.reject = lambda message: None
    with django_capture_on_commit_callbacks(execute=True):
        replayed = outbox_replay(actor=back_office, message_id=first.pk)

    # then
    assert replayed.replays == 1
    assert replayed.replayed_by == back_office
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.status == OutboxStatus.DELIVERED
    assert second.status == OutboxStatus.DELIVERED
    assert erp.per_aggregate["order:SO-1"] == ["order.submit", "order.cancel"]


@pytest.mark.django_db
def test_admins_may_replay_too(erp: FakeErp, refused_once_is_dead: None, admin_user: Any) -> None:
    # given
    erp.reject = lambda message: "no"
    message = submit("SO-1")
    relay_due(adapter=erp)

    # when
    replayed = outbox_replay(actor=admin_user, message_id=message.pk)

    # then
    assert replayed.status == OutboxStatus.PENDING
    assert replayed.attempts == 0


@pytest.mark.django_db
def test_a_sales_rep_may_not_replay(erp: FakeErp, refused_once_is_dead: None, sales_rep: Any) -> None:
    # given
    erp.reject = lambda message: "no"
    message = submit("SO-1")
    relay_due(adapter=erp)

    # when / then
    with pytest.raises(PermissionDenied):
        outbox_replay(actor=sales_rep, message_id=message.pk)
    message.refresh_from_db()
    assert message.status == OutboxStatus.DEAD


@pytest.mark.django_db
def test_only_a_dead_message_can_be_replayed(erp: FakeErp, back_office: Any) -> None:
    # given
    message = submit("SO-1")
    relay_due(adapter=erp)

    # when / then
    with pytest.raises(Conflict):
        outbox_replay(actor=back_office, message_id=message.pk)
    with pytest.raises(Http404):
        outbox_replay(actor=back_office, message_id=message.pk + 1000)


# --- The task --------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_relay_task_drains_and_reports(erp: FakeErp) -> None:
    # given
    for n in range(3):
        submit(f"SO-{n}")

    # when
    outcome = relay_outbox.apply().get()

    # then
    assert outcome == {"claimed": 3, "delivered": 3, "retrying": 0, "dead": 0}
    assert len(erp.applied) == 3


@dataclass
class ForgetfulErp(FakeErp):
    """Answers every message but those in `forget`: the ERP's answer lacks them."""

    forget: set[str] = field(default_factory=set)

    def deliver(self, messages: Sequence[OutboundMessage]) -> list[DeliveryResult]:
        return [r for r in super().deliver(messages) if r.idempotency_key not in self.forget]


@pytest.mark.django_db
def test_a_mixed_batch_ends_each_message_in_its_state_with_one_update_per_outcome(settings: Any) -> None:
    # given: three messages of each outcome in one batch; the "last" ones have used all
    # their attempts but this one
    settings.OUTBOX_MAX_ATTEMPTS = 3
    erp = ForgetfulErp()
    groups = ["accept", "again", "refuse", "refuse-last", "forget", "forget-last"]
    messages = {group: [submit(f"SO-{group}-{n}", **{group: True}) for n in range(3)] for group in groups}
    for group in ("refuse-last", "forget-last"):
        OutboxMessage.objects.filter(pk__in=[m.pk for m in messages[group]]).update(attempts=2)
    for message in messages["again"]:
        erp.applied[message.idempotency_key] = OutboundMessage(message.idempotency_key, message.kind, "", {})
    erp.forget = {m.idempotency_key for group in ("forget", "forget-last") for m in messages[group]}
    erp.reject = lambda message: (
        f"no credit for {message.payload['order_ref']}"
        if {"refuse", "refuse-last"} & message.payload.keys()
        else None
    )

    # when
    with time_machine.travel(timezone.now(), tick=False), CaptureQueriesContext(connection) as queries:
        report = relay_once(adapter=erp, batch_size=50)
        now = timezone.now()

    # then: every message where its outcome puts it, with its own values
    assert (report.claimed, report.delivered, report.retrying, report.dead) == (18, 6, 6, 6)
    rows = {m.pk: m for m in OutboxMessage.objects.all()}
    for group, sent in messages.items():
        for message in sent:
            row = rows[message.pk]
            assert (row.locked_until, row.claimed_by) == (None, "")
            order_ref = message.payload["order_ref"]
            if group in ("accept", "again"):
                assert (row.status, row.attempts, row.delivered_at) == (OutboxStatus.DELIVERED, 1, now)
                assert row.erp_answer == ("accepted" if group == "accept" else "duplicate")
                assert row.result["status"] == row.erp_answer
            elif group.startswith("refuse"):
                assert (row.erp_answer, row.erp_reason) == ("refused", f"no credit for {order_ref}")
                assert row.last_error == f"rejected by the ERP: no credit for {order_ref}"
                assert (row.result, row.last_failed_at, row.erp_answered_at) == (
                    {"status": "rejected"},
                    now,
                    now,
                )
            else:
                assert row.last_error == "the ERP returned no result for this message"
                assert (row.erp_answer, row.last_failed_at) == ("", now)
            if group in ("refuse", "forget"):
                assert (row.status, row.attempts) == (OutboxStatus.PENDING, 1)
                assert now <= row.next_attempt_at <= now + dt.timedelta(seconds=BACKOFF_BASE_SECONDS)
            elif group.endswith("-last"):
                assert (row.status, row.attempts, row.dead_at) == (OutboxStatus.DEAD, 3, now)
    # ... written by one UPDATE ... FROM (VALUES ...) per outcome, whatever the batch size
    values_updates = [q["sql"] for q in queries if q["sql"].startswith("UPDATE") and "VALUES" in q["sql"]]
    assert len(values_updates) == 5
    assert not any("CASE" in q["sql"] for q in queries)
    assert len(queries) <= 15
