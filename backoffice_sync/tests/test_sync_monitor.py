"""Operating the sync: status API, monitor page, replay, reconciliation and the ATP API."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from rest_framework.test import APIClient

from backoffice_sync import sync_status
from backoffice_sync.adapters.stub import StubAdapter
from backoffice_sync.erp import MessageKind
from backoffice_sync.inbox import pull_changes_once
from backoffice_sync.models import ErpOrder, Invoice, OutboxMessage, OutboxStatus, ReconciliationDay
from backoffice_sync.outbox import outbox_enqueue, relay_due
from backoffice_sync.tests.inbox_helpers import a_customer, product_event, receive_and_apply, stock_event

pytestmark = pytest.mark.django_db

STATUS_URL = "/api/v1/sync/status/"


def dead_message(aggregate: str = "order:FO-9") -> OutboxMessage:
    with transaction.atomic():
        message = outbox_enqueue(
            kind=MessageKind.ORDER_CANCEL, aggregate=aggregate, payload={"order_ref": "FO-9", "reason": ""}
        )
    OutboxMessage.objects.filter(pk=message.pk).update(
        status=OutboxStatus.DEAD, dead_at=timezone.now(), attempts=8, last_error="ERP: no such order"
    )
    return message


def test_the_status_api_shows_the_queue_and_the_dead_letters_to_the_back_office(
    back_office: Any, api_as
) -> None:
    # given
    message = dead_message()
    # when
    response = api_as(back_office).get(STATUS_URL)
    # then
    assert response.status_code == 200
    body = response.json()
    assert body["dead"] == 1
    assert body["dead_letters"][0]["id"] == message.pk
    assert body["dead_letters"][0]["last_error"] == "ERP: no such order"
    assert body["dead_letters"][0]["replay_url"] == f"/api/v1/sync/outbox/{message.pk}/replay/"


def test_others_may_not_see_the_monitor(sales_rep: Any, api_as) -> None:
    # when
    api_answer = api_as(sales_rep).get(STATUS_URL)
    # then
    assert api_answer.status_code == 403


def test_the_monitor_page_is_for_the_back_office_only(back_office: Any, sales_rep: Any, client) -> None:
    # given
    dead_message()
    # when
    client.force_login(sales_rep)
    refused = client.get("/sync/")
    client.force_login(back_office)
    page = client.get("/sync/")
    # then
    assert refused.status_code == 403
    assert page.status_code == 200
    assert "ERP: no such order" in page.content.decode()
    assert 'href="/sync/"' in page.content.decode()  # in the navigation


def test_replay_from_the_page_queues_the_message_again(back_office: Any, client) -> None:
    # given
    message = dead_message()
    client.force_login(back_office)
    # when
    response = client.post(f"/sync/outbox/{message.pk}/replay/")
    # then
    assert response.status_code == 302
    message.refresh_from_db()
    assert message.status in (OutboxStatus.PENDING, OutboxStatus.DELIVERED)
    assert message.replays == 1


def test_replay_over_the_api_and_its_errors(back_office: Any, sales_rep: Any, api_as) -> None:
    # given
    message = dead_message()
    url = f"/api/v1/sync/outbox/{message.pk}/replay/"
    # when
    forbidden = api_as(sales_rep).post(url)
    replayed = api_as(back_office).post(url)
    again = api_as(back_office).post(url)
    missing = api_as(back_office).post("/api/v1/sync/outbox/999999/replay/")
    # then
    assert forbidden.status_code == 403
    assert replayed.status_code == 200
    assert {k: replayed.json()[k] for k in ("id", "status", "replays", "attempts")} == {
        "id": message.pk,
        "status": "pending",
        "replays": 1,
        "attempts": 0,
    }
    assert again.status_code == 409  # no longer dead
    assert missing.status_code == 404


OUTBOX_URL = "/api/v1/sync/outbox/"


@pytest.mark.parametrize("count", [1, 60])
def test_the_outbox_api_lists_messages_newest_first_within_a_fixed_query_budget(
    count: int, back_office: Any, api_as, django_assert_max_num_queries: Any
) -> None:
    # given: one dead message, and `count` pending ones
    dead = dead_message()
    with transaction.atomic():
        for n in range(count):
            outbox_enqueue(kind=MessageKind.ORDER_SUBMIT, aggregate=f"order:FO-{n}", payload={})
    client = api_as(back_office)

    # when
    with django_assert_max_num_queries(6):
        page = client.get(OUTBOX_URL)
    only_dead = client.get(OUTBOX_URL, {"status": "dead"})
    one = client.get(f"{OUTBOX_URL}{dead.pk}/")

    # then
    assert page.status_code == 200
    ids = [m["id"] for m in page.json()["results"]]
    assert len(ids) == min(count + 1, 50)
    assert ids == sorted(ids, reverse=True)
    assert [m["id"] for m in only_dead.json()["results"]] == [dead.pk]
    assert (one.status_code, one.json()["status"], one.json()["last_error"]) == (
        200,
        "dead",
        "ERP: no such order",
    )
    assert "payload" not in one.json()


def test_the_outbox_api_writes_only_through_replay(back_office: Any, api_as) -> None:
    # given
    message = dead_message()
    client = api_as(back_office)

    # when
    created = client.post(OUTBOX_URL, {}, format="json")
    changed = client.patch(f"{OUTBOX_URL}{message.pk}/", {"status": "pending"}, format="json")

    # then: no role may add or change outbox messages
    assert (created.status_code, changed.status_code) == (403, 403)
    assert OutboxMessage.objects.get().status == OutboxStatus.DEAD


def test_the_outbox_api_is_for_those_who_watch_the_outbox(sales_rep: Any, api_as) -> None:
    # given
    message = dead_message()

    # when
    listed = api_as(sales_rep).get(OUTBOX_URL)
    one = api_as(sales_rep).get(f"{OUTBOX_URL}{message.pk}/")
    anonymous = APIClient().get(OUTBOX_URL)

    # then
    assert (listed.status_code, one.status_code, anonymous.status_code) == (403, 403, 401)


def test_the_atp_api_answers_the_earliest_date_and_refuses_bad_input(sales_rep: Any, api_as) -> None:
    # given
    receive_and_apply(product_event("SKU-1", lead_time_days=9))
    receive_and_apply(stock_event("SKU-1", on_hand=3))
    client = api_as(sales_rep)
    today = timezone.localdate()
    fulfilment = dt.timedelta(days=settings.ERP_DISPATCH_DAYS + settings.ERP_TRANSIT_DAYS)
    # when
    enough = client.get("/api/v1/sync/atp/", {"sku": "SKU-1", "quantity": 3})
    too_many = client.get(
        "/api/v1/sync/atp/", {"sku": "SKU-1", "quantity": 4, "requested_date": today.isoformat()}
    )
    unknown = client.get("/api/v1/sync/atp/", {"sku": "NOPE", "quantity": 1})
    zero = client.get("/api/v1/sync/atp/", {"sku": "SKU-1", "quantity": 0})
    words = client.get("/api/v1/sync/atp/", {"sku": "SKU-1", "quantity": "many"})
    # then
    assert enough.status_code == 200
    assert enough.json()["earliest_date"] == (today + fulfilment).isoformat()
    assert too_many.json()["earliest_date"] == (today + dt.timedelta(days=9) + fulfilment).isoformat()
    assert too_many.json()["meets_requested_date"] is False
    assert unknown.status_code == 400
    assert "Unknown SKU" in unknown.json()["errors"]["sku"][0]
    assert zero.status_code == 400
    assert "quantity" in zero.json()["errors"]
    assert words.status_code == 400
    assert "quantity" in words.json()["errors"]


def test_the_atp_api_needs_a_login(client) -> None:
    assert client.get("/api/v1/sync/atp/", {"sku": "SKU-1", "quantity": 1}).status_code == 401


def test_reconciliation_agrees_after_a_full_sync_and_shows_drift_when_an_invoice_is_missing(
    back_office: Any, client, api_as
) -> None:
    # given: orders of a real customer go to the simulator, ship and get invoiced, and
    # the pull brings everything back into the mirrors
    erp = StubAdapter()
    erp.reset(seed=7, start=dt.datetime(2025, 3, 3, tzinfo=dt.UTC))
    customer = a_customer()
    with transaction.atomic():
        for n in range(4):
            outbox_enqueue(
                kind=MessageKind.ORDER_SUBMIT,
                aggregate=f"order:R-{n}",
                payload={
                    "order_ref": f"R-{n}",
                    "customer_ref": str(customer.pk),
                    "currency": "EUR",
                    "requested_date": None,
                    "lines": [{"line_no": 1, "sku": "FO-1001", "quantity": 1, "unit_price": "10.00"}],
                    "ship_to": None,
                },
            )
    relay_due()
    for _ in range(20):
        erp.tick(24)
    while pull_changes_once().has_more:
        pass
    assert Invoice.objects.exists(), "the scenario should invoice something"

    # when
    days = sync_status.reconcile(adapter=erp, until=erp.clock().date(), days=30)
    # then
    assert days
    assert not any(day.drift for day in days)
    status = api_as(back_office).get(STATUS_URL)
    assert status.status_code == 200
    assert sum(len(d["invoiced_erp"]) for d in status.json()["reconciliation"]) >= 1

    # when: an invoice never arrived here
    lost = Invoice.objects.order_by("issued_on").first()
    Invoice.objects.filter(pk=lost.pk).delete()
    sync_status.reconcile(adapter=erp, until=erp.clock().date(), days=30)
    # then
    drifting = ReconciliationDay.objects.get(day=lost.issued_on)
    assert drifting.drift
    client.force_login(back_office)
    page = client.get("/sync/").content.decode()
    assert 'id="drift-alert"' in page

    # when: an order's status never arrived here either
    order = ErpOrder.objects.order_by("pk").first()
    first_day = order.status_history.order_by("occurred_at").first().occurred_at.astimezone(dt.UTC).date()
    order.delete()
    sync_status.reconcile(adapter=erp, until=erp.clock().date(), days=30)
    # then
    day = ReconciliationDay.objects.get(day=first_day)
    assert day.orders_here == day.orders_erp - 1
    assert day.drift


def test_the_availability_page_answers_a_date_and_flags_a_date_it_cannot_meet(sales_rep: Any, client) -> None:
    # given
    receive_and_apply(product_event("SKU-1", lead_time_days=9))
    receive_and_apply(stock_event("SKU-1", on_hand=3))
    client.force_login(sales_rep)
    today = timezone.localdate()
    # when
    page = client.get(
        "/sync/availability/", {"sku": "SKU-1", "quantity": 5, "requested_date": today.isoformat()}
    ).content.decode()
    # then
    assert 'id="atp-answer"' in page
    assert 'id="atp-cannot-meet"' in page
    assert f"{today + dt.timedelta(days=9):%B %Y}" in page


def test_the_availability_page_shows_field_errors_for_an_unknown_sku(sales_rep: Any, client) -> None:
    # given
    client.force_login(sales_rep)
    # when
    page = client.get("/sync/availability/", {"sku": "NOPE", "quantity": 1}).content.decode()
    # then
    assert 'id="error-summary"' in page
    assert "Unknown SKU" in page
    assert 'id="atp-answer"' not in page


@pytest.mark.parametrize("role", ["back_office", "admin_user"])
def test_the_status_api_shows_reconciled_days_per_currency_to_every_role_allowed(
    role: str, request: pytest.FixtureRequest, api_as
) -> None:
    # given: days as a reconciliation of the demo leaves them, one with two currencies
    now = timezone.now()
    ReconciliationDay.objects.create(
        day=dt.date(2026, 12, 1),
        orders_here=3,
        orders_erp=3,
        invoiced_here={"EUR": "14425.78", "USD": "10.00"},
        invoiced_erp={"EUR": "14425.78", "USD": "10.00"},
        checked_at=now,
    )
    ReconciliationDay.objects.create(
        day=dt.date(2026, 12, 2),
        orders_here=1,
        orders_erp=2,
        invoiced_here={},
        invoiced_erp={},
        drift=True,
        checked_at=now,
    )
    # when
    response = api_as(request.getfixturevalue(role)).get(STATUS_URL)
    # then
    assert response.status_code == 200
    days = response.json()["reconciliation"]
    assert [d["day"] for d in days] == ["2026-12-02", "2026-12-01"]
    assert days[1]["invoiced_here"] == {"EUR": "14425.78", "USD": "10.00"}
    assert days[1]["invoiced_erp"] == {"EUR": "14425.78", "USD": "10.00"}
    assert days[0]["invoiced_here"] == {}
    assert days[0]["drift"] is True
