"""Builders shared by the inbox, webhook and mirror tests: ERP events, signed webhook
requests, a fake adapter for polling, and a recorder of published domain events."""

from __future__ import annotations

import contextlib
import datetime as dt
import itertools
import json
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.test import Client
from django.utils import timezone
from standardwebhooks.webhooks import Webhook

from backoffice_sync.erp import ChangeBatch, ErpEvent, ErpUnavailable, EventType
from backoffice_sync.events import ErpFact, InvoiceOverdue, OrderConfirmed, OrderShipped, PaymentReceived
from backoffice_sync.inbox import inbox_apply, inbox_receive
from backoffice_sync.models import InboxEvent, InboxVia
from customers import services as customer_services
from customers.models import Customer
from frontoffice import events
from frontoffice.actors import ERP_SYNC
from frontoffice.plugin import Phase

WEBHOOK_URL = "/api/v1/erp/webhook/"
FACTS: tuple[type[ErpFact], ...] = (OrderConfirmed, OrderShipped, InvoiceOverdue, PaymentReceived)
_ids = itertools.count(1)


def a_customer(name: str = "Ada") -> Customer:
    return customer_services.customer_create(
        actor=ERP_SYNC, kind="person", first_name=name, last_name="Lovelace"
    )


def erp_event(
    type: EventType,
    aggregate: str,
    version: int,
    data: dict[str, Any],
    *,
    id: str | None = None,
    occurred_at: dt.datetime | None = None,
) -> ErpEvent:
    return ErpEvent(
        id=id or f"evt-{next(_ids)}",
        type=type,
        aggregate=aggregate,
        version=version,
        occurred_at=occurred_at or timezone.now(),
        data=data,
    )


def product_event(sku: str = "SKU-1", version: int = 1, **changes: Any) -> ErpEvent:
    data = {
        "sku": sku,
        "name": "Widget",
        "unit_price": "12.50",
        "currency": "EUR",
        "lead_time_days": 5,
        "active": True,
        **changes,
    }
    return erp_event(EventType.PRODUCT_CHANGED, f"product:{sku}", version, data)


def stock_event(
    sku: str = "SKU-1", version: int = 1, on_hand: int = 10, reserved: int = 0, **extra: Any
) -> ErpEvent:
    data = {
        "sku": sku,
        "warehouse": "MAIN",
        "on_hand": on_hand,
        "reserved": reserved,
        "incoming": [],
        **extra,
    }
    return erp_event(EventType.STOCK_CHANGED, f"stock:{sku}:MAIN", version, data)


def order_event(
    type: EventType,
    customer: Customer | str,
    version: int,
    *,
    order_ref: str = "FO-12",
    lines: list[dict[str, Any]] | None = None,
    **extra: Any,
) -> ErpEvent:
    data = {
        "order_ref": order_ref,
        "erp_order_number": "SO-4711",
        "customer_ref": str(customer.pk if isinstance(customer, Customer) else customer),
        "status": type.value.split(".", 1)[1],
        "lines": lines
        if lines is not None
        else [{"sku": "SKU-1", "quantity": 2, "shipped": 0}, {"sku": "SKU-2", "quantity": 1, "shipped": 0}],
        **extra,
    }
    return erp_event(type, f"order:{order_ref}", version, data)


def invoice_event(
    customer: Customer, number: str = "INV-1", amount: str = "100.00", version: int = 1, **extra: Any
) -> ErpEvent:
    data = {
        "number": number,
        "order_ref": "FO-12",
        "customer_ref": str(customer.pk),
        "amount": amount,
        "currency": "EUR",
        "issued_on": "2025-01-10",
        "due_on": "2025-02-09",
        **extra,
    }
    return erp_event(EventType.INVOICE_ISSUED, f"invoice:{number}", version, data)


def payment_event(
    customer: Customer, reference: str, amount: str, number: str = "INV-1", version: int = 1
) -> ErpEvent:
    data = {
        "reference": reference,
        "invoice_number": number,
        "customer_ref": str(customer.pk),
        "amount": amount,
        "currency": "EUR",
        "received_on": "2025-02-01",
    }
    return erp_event(EventType.PAYMENT_RECEIVED, f"payment:{reference}", version, data)


def overdue_event(
    customer: Customer, number: str = "INV-1", amount_due: str = "100.00", version: int = 2
) -> ErpEvent:
    data = {"invoice_number": number, "customer_ref": str(customer.pk), "amount_due": amount_due}
    return erp_event(EventType.PAYMENT_OVERDUE, f"invoice:{number}", version, data)


def receive_and_apply(event: ErpEvent, via: str = InboxVia.POLL) -> InboxEvent:
    row, _ = inbox_receive(event=event, via=via)
    applied = inbox_apply(inbox_event_id=row.pk)
    assert applied is not None
    return applied


def money(text: str) -> Decimal:
    return Decimal(text)


# --- webhooks ------------------------------------------------------------------------------


def signed_headers(
    body: str, msg_id: str, *, secret: str | None = None, timestamp: dt.datetime | None = None
) -> dict[str, str]:
    timestamp = timestamp or timezone.now()
    signature = Webhook(secret or settings.ERP_WEBHOOK_SECRET).sign(msg_id, timestamp, body)
    return {
        "HTTP_WEBHOOK_ID": msg_id,
        "HTTP_WEBHOOK_TIMESTAMP": str(int(timestamp.timestamp())),
        "HTTP_WEBHOOK_SIGNATURE": signature,
    }


def post_webhook(
    client: Client,
    event: ErpEvent | None = None,
    *,
    body: str | None = None,
    msg_id: str | None = None,
    secret: str | None = None,
    timestamp: dt.datetime | None = None,
    headers: dict[str, str] | None = None,
) -> Any:
    if body is None:
        assert event is not None
        body = json.dumps(event.as_json())
    msg_id = msg_id or (event.id if event is not None else "msg-1")
    if headers is None:
        headers = signed_headers(body, msg_id, secret=secret, timestamp=timestamp)
    return client.post(WEBHOOK_URL, data=body.encode("utf-8"), content_type="application/json", **headers)


# --- domain events -----------------------------------------------------------------------------


@contextmanager
def published(*kinds: type[ErpFact]) -> Iterator[list[ErpFact]]:
    """Record the facts of these kinds (`backoffice_sync.events`) published while inside,
    as an AFTER_COMMIT subscriber hears them; all four kinds when none is named."""
    seen: list[ErpFact] = []
    with contextlib.ExitStack() as stack:
        for kind in kinds or FACTS:
            stack.enter_context(events.listening(kind, seen.append, Phase.AFTER_COMMIT))
        yield seen


# --- polling ------------------------------------------------------------------------------------


class FakeAdapter:
    """An ERP that serves `events` in pages; the cursor is the offset as text."""

    name = "fake"

    def __init__(self, events: list[ErpEvent], *, unavailable: bool = False) -> None:
        self.events = events
        self.unavailable = unavailable
        self.calls: list[str | None] = []

    def pull_changes(self, *, cursor: str | None, limit: int = 500) -> ChangeBatch:
        self.calls.append(cursor)
        if self.unavailable:
            raise ErpUnavailable("the ERP is down")
        start = int(cursor or 0)
        page = self.events[start : start + limit]
        end = start + len(page)
        return ChangeBatch(events=page, cursor=str(end), has_more=end < len(self.events))
