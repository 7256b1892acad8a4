"""The outbox monitor's numbers."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import time_machine
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone

from backoffice_sync.erp import MessageKind
from backoffice_sync.models import OutboxStatus
from backoffice_sync.outbox import outbox_enqueue, relay_due
from backoffice_sync.selectors import outbox_health, outbox_message_list
from backoffice_sync.tests.outbox_fakes import FakeErp

pytestmark = pytest.mark.django_db


def enqueue(order_ref: str, kind: MessageKind = MessageKind.ORDER_SUBMIT) -> None:
    with transaction.atomic():
        outbox_enqueue(kind=kind, aggregate=f"order:{order_ref}", payload={"order_ref": order_ref})


def test_the_monitor_counts_pending_dead_blocked_and_recent_outcomes(back_office: Any, settings: Any) -> None:
    # given: an hour ago 3 orders were delivered; now one is rejected (once is enough to be
    # dead here; a cancel waits behind it), one fails on an outage, and one is new
    settings.OUTBOX_MAX_ATTEMPTS = 1
    start = timezone.now()
    erp = FakeErp()
    with time_machine.travel(start - dt.timedelta(hours=1), tick=False):
        for n in range(3):
            enqueue(f"OLD-{n}")
        relay_due(adapter=erp)
    with time_machine.travel(start - dt.timedelta(minutes=5), tick=False):
        for n in range(2):
            enqueue(f"NEW-{n}")
        enqueue("BAD")
        enqueue("BAD", MessageKind.ORDER_CANCEL)
        erp.reject = lambda message: "no such SKU" if message.aggregate == "order:BAD" else None
        relay_due(adapter=erp)
        erp.down = True
        enqueue("DOWN")
        relay_due(adapter=erp)
    with time_machine.travel(start, tick=False):
        enqueue("FRESH")

        # when
        health = outbox_health(actor=back_office, window_minutes=15)

    # then
    assert health.pending == 3  # the blocked cancel, the failed one, the fresh one
    assert health.dead == 1
    assert health.blocked == 1
    assert health.in_flight == 0
    assert health.oldest_pending_age == dt.timedelta(minutes=5)
    assert health.delivered_recently == 2
    assert health.failed_recently == 2  # the rejected one and the outage
    assert health.window == dt.timedelta(minutes=15)


def test_an_empty_outbox_has_no_oldest_age(back_office: Any) -> None:
    # when
    health = outbox_health(actor=back_office)

    # then
    assert (health.pending, health.dead, health.blocked, health.oldest_pending_age) == (0, 0, 0, None)


def test_the_monitor_costs_two_queries_whatever_the_data(
    back_office: Any, django_assert_max_num_queries: Any
) -> None:
    # given
    for n in range(50):
        enqueue(f"SO-{n}")
    relay_due(adapter=FakeErp(), max_batches=1, batch_size=20)
    back_office.has_perm("backoffice_sync.view_outboxmessage")  # the permission cache

    # when / then
    with django_assert_max_num_queries(2):
        outbox_health(actor=back_office)


def test_the_message_list_filters_by_status_and_aggregate(back_office: Any) -> None:
    # given
    enqueue("A")
    enqueue("B")
    relay_due(adapter=FakeErp(), max_batches=1, batch_size=1)

    # when
    pending = list(outbox_message_list(actor=back_office, status=OutboxStatus.PENDING))
    of_a = list(outbox_message_list(actor=back_office, aggregate="order:A"))

    # then
    assert [m.aggregate for m in pending] == ["order:B"]
    assert [m.status for m in of_a] == [OutboxStatus.DELIVERED]


def test_a_sales_rep_may_not_see_the_outbox(sales_rep: Any) -> None:
    # when / then
    with pytest.raises(PermissionDenied):
        outbox_health(actor=sales_rep)
    with pytest.raises(PermissionDenied):
        outbox_message_list(actor=sales_rep)
