"""Polling the ERP with a persisted cursor: the fallback and reconciliation path."""

from __future__ import annotations

from typing import Any

import pytest

from backoffice_sync import circuit, inbox, tasks
from backoffice_sync.erp import EventType
from backoffice_sync.models import (
    CircuitState,
    InboxEvent,
    InboxStatus,
    OutboxMessage,
    Product,
    StockLevel,
    SyncCursor,
)
from backoffice_sync.tests.inbox_helpers import (
    FakeAdapter,
    a_customer,
    order_event,
    product_event,
    stock_event,
)
from customers.models import Activity
from frontoffice import plugin

pytestmark = pytest.mark.django_db


def use(monkeypatch: pytest.MonkeyPatch, adapter: FakeAdapter) -> FakeAdapter:
    monkeypatch.setattr(inbox, "get_adapter", lambda: adapter)
    return adapter


def test_polling_stores_and_applies_events_and_advances_the_cursor(
    monkeypatch: pytest.MonkeyPatch, django_capture_on_commit_callbacks: Any
) -> None:
    # given
    customer = a_customer()
    adapter = use(
        monkeypatch,
        FakeAdapter(
            [product_event(), stock_event(on_hand=4), order_event(EventType.ORDER_CONFIRMED, customer, 1)]
        ),
    )

    # when
    with django_capture_on_commit_callbacks(execute=True):
        report = inbox.pull_changes_once()

    # then
    assert (report.received, report.duplicates, report.applied, report.has_more) == (3, 0, 3, False)
    assert set(InboxEvent.objects.values_list("status", "via")) == {("applied", "poll")}
    assert StockLevel.objects.get().on_hand == 4
    assert Activity.objects.filter(customer=customer, source_app="backoffice_sync").count() == 1
    cursor = SyncCursor.objects.get()
    assert cursor.cursor == "3"
    assert cursor.last_success_at is not None
    assert cursor.last_error == ""
    assert adapter.calls == [None]


def test_the_next_pull_starts_from_the_stored_cursor(monkeypatch: pytest.MonkeyPatch) -> None:
    # given
    adapter = use(monkeypatch, FakeAdapter([product_event(sku=f"SKU-{n}") for n in range(5)]))

    # when
    first = inbox.pull_changes_once(limit=2)
    second = inbox.pull_changes_once(limit=2)
    third = inbox.pull_changes_once(limit=2)

    # then
    assert adapter.calls == [None, "2", "4"]
    assert [first.has_more, second.has_more, third.has_more] == [True, True, False]
    assert Product.objects.count() == 5
    assert SyncCursor.objects.get().cursor == "5"


def test_a_failure_mid_page_does_not_move_the_cursor_past_unstored_events(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # given: storing the second event of the page fails
    events = [product_event(sku="SKU-1"), product_event(sku="SKU-2"), product_event(sku="SKU-3")]
    use(monkeypatch, FakeAdapter(events))
    real_receive = inbox.inbox_receive

    def flaky(*, event: Any, via: str) -> Any:
        if event.id == events[1].id:
            raise ConnectionError("database connection lost")
        return real_receive(event=event, via=via)

    monkeypatch.setattr(inbox, "inbox_receive", flaky)

    # when
    with pytest.raises(ConnectionError):
        inbox.pull_changes_once()

    # then: what was stored stays, the cursor has not moved
    assert list(InboxEvent.objects.values_list("external_id", flat=True)) == [events[0].id]
    assert SyncCursor.objects.get().cursor == ""

    # when: the next pull works
    monkeypatch.setattr(inbox, "inbox_receive", real_receive)
    report = inbox.pull_changes_once()

    # then: the page is fetched again; the stored event is recognised, the others stored
    assert (report.received, report.duplicates) == (2, 1)
    assert InboxEvent.objects.count() == 3
    assert set(InboxEvent.objects.values_list("status", flat=True)) == {InboxStatus.APPLIED}
    assert SyncCursor.objects.get().cursor == "3"


def test_an_unreachable_erp_is_recorded_and_leaves_the_cursor(monkeypatch: pytest.MonkeyPatch) -> None:
    # given
    use(monkeypatch, FakeAdapter([product_event()]))
    inbox.pull_changes_once()
    use(monkeypatch, FakeAdapter([], unavailable=True))

    # when
    result = tasks.poll_erp.delay().get()

    # then
    assert result["error"] == "ErpUnavailable: the ERP is down"
    cursor = SyncCursor.objects.get()
    assert cursor.cursor == "1"
    assert "the ERP is down" in cursor.last_error


def test_the_poll_task_pages_through_everything_and_sweeps_what_was_left_unapplied(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # given: an event stored earlier but never applied, and 3 pages waiting
    left, _ = inbox.inbox_receive(event=product_event(sku="LEFT"), via="webhook")
    monkeypatch.setattr(inbox, "PULL_PAGE_SIZE", 2)
    use(monkeypatch, FakeAdapter([product_event(sku=f"SKU-{n}") for n in range(5)]))

    # when
    result = tasks.poll_erp.delay().get()

    # then
    assert result["pages"] == 3
    assert result["received"] == 5
    assert result["swept"] == 1
    assert InboxEvent.objects.get(pk=left.pk).status == InboxStatus.APPLIED
    assert Product.objects.count() == 6
    assert SyncCursor.objects.get().cursor == "5"


def test_beat_polls_the_erp_every_30_seconds() -> None:
    # then
    entry = plugin.beat_schedule()["poll-erp"]
    assert entry == {"task": "backoffice_sync.tasks.poll_erp", "schedule": 30.0}
    assert tasks.poll_erp.name == entry["task"]


def test_a_pull_the_erp_answers_closes_the_breaker_with_nothing_in_the_outbox(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # given: the breaker opened during an outage, and nothing waits in the outbox
    circuit.circuit_unavailable(error="ErpUnavailable: connection refused")
    assert not OutboxMessage.objects.exists()
    use(monkeypatch, FakeAdapter([stock_event(on_hand=3)]))

    # when: the ERP answers the poll
    tasks.poll_erp.delay().get()

    # then: the breaker records it reachable
    status = circuit.circuit_status()
    assert status.state == CircuitState.CLOSED
    assert status.unavailable_since is None
    assert status.last_error == ""


def test_an_empty_page_the_erp_answers_closes_the_breaker_too(monkeypatch: pytest.MonkeyPatch) -> None:
    # given
    circuit.circuit_unavailable(error="ErpUnavailable: timeout")
    use(monkeypatch, FakeAdapter([]))

    # when
    report = inbox.pull_changes_once()

    # then
    assert report.received == 0
    assert circuit.circuit_status().state == CircuitState.CLOSED


def test_a_pull_that_finds_the_erp_unavailable_opens_the_breaker(monkeypatch: pytest.MonkeyPatch) -> None:
    # given: a closed breaker, nothing in the outbox
    assert circuit.circuit_status().state == CircuitState.CLOSED
    use(monkeypatch, FakeAdapter([], unavailable=True))

    # when
    tasks.poll_erp.delay().get()

    # then: the monitor shows the ERP away, with the pull's error
    status = circuit.circuit_status()
    assert status.state == CircuitState.OPEN
    assert status.unavailable_since is not None
    assert "the ERP is down" in status.last_error
