"""A dead message holds back its aggregate; the monitor says what waits and why; a person
replays it or skips it with a reason, audited, from the service, the page and the API."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.test import Client
from django.utils import timezone

from backoffice_sync.erp import MessageKind
from backoffice_sync.models import InterventionAction, OutboxIntervention, OutboxMessage, OutboxStatus
from backoffice_sync.outbox import outbox_enqueue, relay_due
from backoffice_sync.outbox_replay import outbox_replay, outbox_skip
from backoffice_sync.sync_status import sync_status
from backoffice_sync.tests.outbox_fakes import FakeErp
from frontoffice.errors import Conflict

pytestmark = pytest.mark.django_db


def enqueue(order_ref: str, kind: MessageKind = MessageKind.ORDER_SUBMIT) -> OutboxMessage:
    with transaction.atomic():
        return outbox_enqueue(kind=kind, aggregate=f"order:{order_ref}", payload={"order_ref": order_ref})


@pytest.fixture
def blocked(settings: Any) -> tuple[OutboxMessage, list[OutboxMessage], FakeErp]:
    """SO-1's submit refused as often as allowed (once); its two cancels wait behind it."""
    settings.OUTBOX_MAX_ATTEMPTS = 1
    erp = FakeErp(reject=lambda m: "credit limit" if m.kind == MessageKind.ORDER_SUBMIT else None)
    head = enqueue("SO-1")
    later = [enqueue("SO-1", MessageKind.ORDER_CANCEL), enqueue("SO-1", MessageKind.ORDER_CANCEL)]
    enqueue("SO-2", MessageKind.ORDER_CANCEL)
    relay_due(adapter=erp)
    head.refresh_from_db()
    assert head.status == OutboxStatus.DEAD
    return head, later, erp


def test_a_dead_message_holds_back_the_later_messages_of_its_aggregate_only(blocked: Any) -> None:
    # given
    _, later, erp = blocked

    # when: the relay comes by again
    relay_due(adapter=erp)

    # then
    assert [m.aggregate for m in erp.applied.values()] == ["order:SO-2"]
    assert all(
        m.status == OutboxStatus.PENDING for m in OutboxMessage.objects.filter(pk__in=[m.pk for m in later])
    )


def test_the_monitor_lists_what_waits_behind_a_dead_message_and_why(
    blocked: Any, back_office: Any, django_assert_max_num_queries: Any
) -> None:
    # given
    head, later, _ = blocked

    # when
    with django_assert_max_num_queries(10):
        status = sync_status(actor=back_office)

    # then
    (dead,) = status["dead_letters"]
    assert dead["id"] == head.pk
    assert (dead["erp_answer"], dead["erp_reason"]) == ("refused", "credit limit")
    assert dead["waiting_count"] == 2
    assert [w["id"] for w in dead["waiting"]] == [m.pk for m in later]
    assert "2 later messages of order:SO-1 wait until message" in dead["waiting_reason"]
    assert status["blocked"] == 2


def test_the_monitors_queries_do_not_grow_with_dead_letters(
    settings: Any, back_office: Any, django_assert_max_num_queries: Any
) -> None:
    # given: many dead messages, each with messages behind it
    settings.OUTBOX_MAX_ATTEMPTS = 1
    for n in range(30):
        enqueue(f"SO-{n}")
        enqueue(f"SO-{n}", MessageKind.ORDER_CANCEL)
    relay_due(adapter=FakeErp(reject=lambda m: "no" if m.kind == MessageKind.ORDER_SUBMIT else None))

    # when / then
    with django_assert_max_num_queries(10):
        status = sync_status(actor=back_office)
    assert len(status["dead_letters"]) == 30
    assert all(d["waiting_count"] == 1 for d in status["dead_letters"])


def test_skipping_with_a_reason_lets_the_aggregate_go_on_and_is_audited(
    blocked: Any, back_office: Any, django_capture_on_commit_callbacks: Any, monkeypatch: Any
) -> None:
    # given
    head, later, erp = blocked
    from backoffice_sync import outbox

    monkeypatch.setattr(outbox, "get_adapter", lambda: erp)

    # when
    with django_capture_on_commit_callbacks(execute=True):
        skipped = outbox_skip(actor=back_office, message_id=head.pk, reason=" Entered in the ERP by hand ")

    # then
    assert skipped.status == OutboxStatus.SKIPPED
    assert (skipped.skip_reason, skipped.skipped_by) == ("Entered in the ERP by hand", back_office)
    (audit,) = OutboxIntervention.objects.all()
    assert (audit.message_id, audit.action, audit.actor, audit.actor_name) == (
        head.pk,
        InterventionAction.SKIP,
        back_office,
        back_office.username,
    )
    assert audit.reason == "Entered in the ERP by hand"
    assert audit.error_then == "rejected by the ERP: credit limit"
    # the kick after commit relayed the cancels, in order; the skipped submit never went
    assert all(
        m.status == OutboxStatus.DELIVERED for m in OutboxMessage.objects.filter(pk__in=[m.pk for m in later])
    )
    assert erp.per_aggregate["order:SO-1"] == ["order.cancel", "order.cancel"]


@pytest.mark.parametrize("reason", ["", "   ", None, 42, "x" * 1001])
def test_a_skip_needs_a_reason_and_changes_nothing_without_one(
    blocked: Any, back_office: Any, reason: Any
) -> None:
    # given
    head, _, _ = blocked

    # when / then
    with pytest.raises(ValidationError) as caught:
        outbox_skip(actor=back_office, message_id=head.pk, reason=reason)
    assert "reason" in caught.value.message_dict
    head.refresh_from_db()
    assert head.status == OutboxStatus.DEAD
    assert not OutboxIntervention.objects.exists()


def test_only_a_dead_message_can_be_skipped(back_office: Any) -> None:
    # given
    message = enqueue("SO-9")

    # when / then
    with pytest.raises(Conflict):
        outbox_skip(actor=back_office, message_id=message.pk, reason="no")


def test_who_may_not_skip_cannot(blocked: Any, sales_rep: Any) -> None:
    # given
    head, _, _ = blocked

    # when / then
    with pytest.raises(PermissionDenied):
        outbox_skip(actor=sales_rep, message_id=head.pk, reason="no")
    head.refresh_from_db()
    assert head.status == OutboxStatus.DEAD


def test_a_replay_is_audited_too(blocked: Any, back_office: Any) -> None:
    # given
    head, _, _ = blocked

    # when
    outbox_replay(actor=back_office, message_id=head.pk, reason="credit limit raised")

    # then
    (audit,) = OutboxIntervention.objects.all()
    assert (audit.action, audit.actor, audit.reason) == (
        InterventionAction.REPLAY,
        back_office,
        "credit limit raised",
    )


def test_the_api_skips_with_a_reason_and_refuses_without(blocked: Any, back_office: Any, api_as: Any) -> None:
    # given
    head, _, _ = blocked
    client = api_as(back_office)
    url = f"/api/v1/sync/outbox/{head.pk}/skip/"

    # when
    missing = client.post(url, {}, format="json")
    done = client.post(url, {"reason": "cancelled by phone"}, format="json")
    again = client.post(url, {"reason": "cancelled by phone"}, format="json")

    # then
    assert missing.status_code == 400
    assert "reason" in missing.json()["errors"]
    assert done.status_code == 200
    assert (done.json()["status"], done.json()["skip_reason"]) == ("skipped", "cancelled by phone")
    assert again.status_code == 409
    assert OutboxIntervention.objects.count() == 1


def test_the_api_refuses_a_skip_to_who_may_not(blocked: Any, sales_rep: Any, api_as: Any) -> None:
    # given
    head, _, _ = blocked

    # when
    response = api_as(sales_rep).post(f"/api/v1/sync/outbox/{head.pk}/skip/", {"reason": "x"}, format="json")

    # then
    assert response.status_code == 403


def test_the_page_skips_with_a_reason(blocked: Any, back_office: Any, client: Client) -> None:
    # given
    head, _, _ = blocked
    client.force_login(back_office)
    page = client.get("/sync/")
    assert f'action="/sync/outbox/{head.pk}/skip/"' in page.content.decode()
    assert "2 messages" in page.content.decode()

    # when
    refused = client.post(f"/sync/outbox/{head.pk}/skip/", {"reason": ""}, follow=True)
    head.refresh_from_db()
    status_after_refusal = head.status
    done = client.post(f"/sync/outbox/{head.pk}/skip/", {"reason": "entered by hand"}, follow=True)

    # then
    assert status_after_refusal == OutboxStatus.DEAD
    assert "was not skipped" in refused.content.decode()
    assert "is skipped" in done.content.decode()
    head.refresh_from_db()
    assert head.status == OutboxStatus.SKIPPED


def test_the_monitor_and_the_status_api_show_the_circuit_and_the_backlog(
    back_office: Any, api_as: Any, client: Client
) -> None:
    # given: the ERP went away with two messages waiting
    enqueue("SO-1")
    enqueue("SO-2")
    relay_due(adapter=FakeErp(down=True))

    # when
    body = api_as(back_office).get("/api/v1/sync/status/").json()
    client.force_login(back_office)
    page = client.get("/sync/").content.decode()

    # then
    assert body["circuit"]["state"] == "open"
    assert body["circuit"]["unavailable_since"] is not None
    assert "the ERP is down" in body["circuit"]["last_error"]
    assert body["backlog"] == 2
    assert body["oldest_pending_age_seconds"] >= 0
    assert "Open: the ERP is unavailable" in page
    assert timezone.localtime(timezone.now()).strftime("%Y") in page
