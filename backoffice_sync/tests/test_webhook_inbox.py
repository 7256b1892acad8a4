"""POST /api/v1/erp/webhook/: Standard Webhooks signatures, stored first, applied once."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from backoffice_sync import inbox
from backoffice_sync.erp import EventType
from backoffice_sync.events import OrderShipped
from backoffice_sync.models import ErpOrder, InboxEvent, InboxStatus, Shipment, StockLevel
from backoffice_sync.tests.inbox_helpers import (
    WEBHOOK_URL,
    a_customer,
    order_event,
    post_webhook,
    product_event,
    published,
    receive_and_apply,
    signed_headers,
    stock_event,
)
from customers.models import Activity

pytestmark = pytest.mark.django_db

OTHER_SECRET = "whsec_b3RoZXItc2VjcmV0LW5vdC10aGUtb25lLXdlLXNoYXJl"


@pytest.fixture
def client() -> Client:
    # The ERP is not a browser: no session, no CSRF token.
    return Client(enforce_csrf_checks=True)


def test_the_same_webhook_delivered_three_times_is_applied_once(
    client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    # given
    customer = a_customer()
    event = order_event(
        EventType.ORDER_SHIPPED,
        customer,
        3,
        lines=[{"sku": "SKU-1", "quantity": 2, "shipped": 2}, {"sku": "SKU-2", "quantity": 1, "shipped": 1}],
        shipment_number="SH-1",
        carrier="DHL",
        tracking_number="123",
    )

    # when
    with published(OrderShipped) as seen, django_capture_on_commit_callbacks(execute=True):
        responses = [post_webhook(client, event) for _ in range(3)]

    # then
    assert [r.status_code for r in responses] == [200, 200, 200]
    assert [r.json()["duplicate"] for r in responses] == [False, True, True]
    assert {r.json()["status"] for r in responses} == {"applied"}
    assert InboxEvent.objects.get().status == InboxStatus.APPLIED
    assert ErpOrder.objects.get().status == "shipped"
    assert Shipment.objects.count() == 1
    entries = Activity.objects.filter(customer=customer, source_app="backoffice_sync")
    assert [a.subject for a in entries] == ["Order FO-12 shipped (2 of 2 lines), tracking DHL 123"]
    assert [(f.order_ref, f.customer_id, f.carrier, f.tracking_number, f.complete) for f in seen] == [
        ("FO-12", customer.pk, "DHL", "123", True)
    ]


def test_it_refuses_a_bad_signature_with_401_and_stores_nothing(client: Client) -> None:
    # given
    event = product_event()

    # when
    response = post_webhook(client, event, secret=OTHER_SECRET)

    # then
    assert response.status_code == 401
    assert response["Content-Type"] == "application/problem+json"
    assert not InboxEvent.objects.exists()


def test_it_refuses_a_request_without_signature_headers_with_401(client: Client) -> None:
    # when
    response = client.post(
        WEBHOOK_URL, data=json.dumps(product_event().as_json()), content_type="application/json"
    )

    # then
    assert response.status_code == 401
    assert not InboxEvent.objects.exists()


def test_it_refuses_a_timestamp_older_than_five_minutes_with_401(client: Client) -> None:
    # given: a correctly signed message, signed six minutes ago
    event = product_event()

    # when
    response = post_webhook(client, event, timestamp=timezone.now() - dt.timedelta(minutes=6))

    # then
    assert response.status_code == 401
    assert not InboxEvent.objects.exists()


@pytest.mark.parametrize(
    "signature",
    ["v1", "v1,not base64!", "v2,abc", "", "v1,"],
)
def test_a_garbled_signature_header_is_a_401_not_a_server_error(client: Client, signature: str) -> None:
    # given
    body = json.dumps(product_event().as_json())
    headers = signed_headers(body, "msg-1")
    headers["HTTP_WEBHOOK_SIGNATURE"] = signature

    # when
    response = post_webhook(client, body=body, headers=headers)

    # then
    assert response.status_code == 401
    assert not InboxEvent.objects.exists()


def test_a_signed_body_that_is_not_utf8_is_refused_without_a_server_error(client: Client) -> None:
    # given
    headers = signed_headers("ignored", "msg-1")

    # when
    response = client.post(WEBHOOK_URL, data=b"\xff\xfe{", content_type="application/json", **headers)

    # then
    assert response.status_code == 401


def test_authentic_malformed_json_is_a_400_and_kept_as_rejected(client: Client) -> None:
    # given
    body = '{"id": "evt-broken", "type": '

    # when
    response = post_webhook(client, body=body, msg_id="evt-broken")

    # then
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    row = InboxEvent.objects.get()
    assert row.external_id == "evt-broken"
    assert row.status == InboxStatus.REJECTED
    assert row.error.startswith("Malformed message")
    assert row.raw_body == body
    assert row.via == "webhook"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda raw: raw.pop("version"), "Missing field 'version'"),
        (lambda raw: raw.update(version="three"), "version must be a non-negative integer"),
        (lambda raw: raw.update(type="order.teleported"), "order.teleported"),
        (lambda raw: raw.update(occurred_at="2025-01-01T10:00:00"), "time zone"),
        (lambda raw: raw.update(data=["not", "an", "object"]), "data must be an object"),
        (lambda raw: raw.update(id="evt-other"), "differs from the webhook-id"),
        (lambda raw: raw.update(data={"sku": "A\x00B"}), "cannot be stored"),
    ],
)
def test_an_authentic_body_that_is_not_an_erp_event_is_kept_as_rejected(
    client: Client, change: Any, message: str
) -> None:
    # given
    raw = product_event().as_json()
    msg_id = raw["id"]
    change(raw)

    # when
    response = post_webhook(client, body=json.dumps(raw), msg_id=msg_id)

    # then
    assert response.status_code == 400
    assert message in json.dumps(response.json()["errors"])
    row = InboxEvent.objects.get(external_id=msg_id)
    assert row.status == InboxStatus.REJECTED
    assert message in row.error
    assert not StockLevel.objects.exists()


def test_an_authentic_json_array_is_a_400(client: Client) -> None:
    # when
    response = post_webhook(client, body="[1, 2]", msg_id="evt-array")

    # then
    assert response.status_code == 400
    assert InboxEvent.objects.get().status == InboxStatus.REJECTED


def test_an_event_for_an_unknown_customer_is_kept_as_rejected_and_nothing_applied(
    client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    # given
    event = order_event(EventType.ORDER_CONFIRMED, "999999", 1)

    # when
    with published() as seen, django_capture_on_commit_callbacks(execute=True):
        response = post_webhook(client, event)

    # then
    assert response.status_code == 200
    assert response.json()["status"] == "rejected"
    assert "Unknown customer 999999" in response.json()["error"]
    assert InboxEvent.objects.get().status == InboxStatus.REJECTED
    assert not ErpOrder.objects.exists()
    assert not Activity.objects.filter(source_app="backoffice_sync").exists()
    assert seen == []


def test_stock_of_an_unknown_sku_is_kept_for_inspection_and_nothing_applied(client: Client) -> None:
    # given
    event = stock_event(sku="NOPE-1")

    # when: delivered (and redelivered) until the inbox gives up waiting for the product
    answers = [post_webhook(client, event).json() for _ in range(inbox.MAX_APPLY_ATTEMPTS)]

    # then
    assert answers[0]["status"] == "received"
    assert answers[0]["error"] == "Unknown SKU NOPE-1: no product mirror."
    assert answers[-1]["status"] == "rejected"
    row = InboxEvent.objects.get()
    assert row.status == InboxStatus.REJECTED
    assert row.error == "Gave up after 5 attempts. Unknown SKU NOPE-1: no product mirror."
    assert not StockLevel.objects.exists()


def test_a_webhook_already_applied_by_polling_is_acknowledged_as_a_duplicate(client: Client) -> None:
    # given
    event = product_event()
    receive_and_apply(event)

    # when
    response = post_webhook(client, event)

    # then
    assert response.status_code == 200
    assert response.json() == {"id": event.id, "status": "applied", "duplicate": True, "error": ""}
    assert InboxEvent.objects.get().via == "poll"


def test_the_webhook_accepts_no_other_method(client: Client) -> None:
    # when
    response = client.get(WEBHOOK_URL)

    # then
    assert response.status_code == 405


def test_the_webhook_is_documented_in_the_openapi_schema() -> None:
    # when
    schema = Client().get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()

    # then
    operation = schema["paths"]["/api/v1/erp/webhook/"]["post"]
    headers = {p["name"] for p in operation["parameters"] if p["in"] == "header"}
    assert headers == {"webhook-id", "webhook-timestamp", "webhook-signature"}
    assert {"200", "400", "401"} <= set(operation["responses"])
