"""The ERP as the front office sees it: one adapter interface, two implementations.

Everything that crosses the boundary is plain data (the dataclasses below; the payloads
and event data are JSON objects whose shapes are the TypedDicts of
`backoffice_sync.contracts`), so that the in-process `stub` adapter and the `http`
adapter (through `adapters/wire.py`) behave the same and pass one contract suite
(`backoffice_sync/tests/test_adapter_contract.py`).

Outbound: the relay hands the adapter a batch of `OutboundMessage`s; the ERP applies each
at most once per idempotency key and answers one `DeliveryResult` per message, in order.
A transient failure of the whole call (outage, connection refused, timeout, 5xx, 429)
raises `ErpUnavailable`: nothing in the batch may be assumed delivered, and re-sending it
is safe because of the keys; the relay's circuit breaker waits it out without counting it
against the messages. A message the ERP refuses (unknown SKU, a cancel after shipping)
comes back as `REJECTED` with a reason: that refusal is what counts as a failed attempt.

Inbound: the ERP publishes `ErpEvent`s, each with a unique id and a version that grows
per aggregate; they arrive by signed webhook and by `pull_changes(cursor)`.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cache
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from django.conf import settings
from django.utils.module_loading import import_string

if TYPE_CHECKING:  # the contracts name these enums
    from backoffice_sync.contracts import (
        CreditNoteIssue,
        CustomerMerge,
        CustomerUpsert,
        ForecastPublish,
        MessagePayload,
        OrderCancel,
        OrderSubmit,
    )


class MessageKind(enum.StrEnum):
    """What an outbound message asks the ERP to do; its payload is the TypedDict of the
    same name in `backoffice_sync.contracts` (`contracts.PAYLOADS`)."""

    ORDER_SUBMIT = "order.submit"  # contracts.OrderSubmit
    ORDER_CANCEL = "order.cancel"  # contracts.OrderCancel
    CREDIT_NOTE_ISSUE = "credit_note.issue"  # contracts.CreditNoteIssue
    CUSTOMER_UPSERT = "customer.upsert"  # contracts.CustomerUpsert
    CUSTOMER_MERGE = "customer.merge"  # contracts.CustomerMerge
    FORECAST_PUBLISH = "forecast.publish"  # contracts.ForecastPublish


class DeliveryStatus(enum.StrEnum):
    ACCEPTED = "accepted"  # applied now
    DUPLICATE = "duplicate"  # this idempotency key was applied before: nothing done again
    REJECTED = "rejected"  # will never be applied; `error` says why


class EventType(enum.StrEnum):
    """What the ERP tells us; the `data` of each is a TypedDict of `backoffice_sync.contracts`
    (`contracts.EVENT_DATA`)."""

    ORDER_CONFIRMED = "order.confirmed"
    ORDER_REJECTED = "order.rejected"
    ORDER_PARTIALLY_SHIPPED = "order.partially_shipped"
    ORDER_SHIPPED = "order.shipped"
    ORDER_DELIVERED = "order.delivered"
    ORDER_CANCELLED = "order.cancelled"
    INVOICE_ISSUED = "invoice.issued"
    CREDIT_NOTE_ISSUED = "credit_note.issued"
    PAYMENT_RECEIVED = "payment.received"
    PAYMENT_OVERDUE = "payment.overdue"
    STOCK_CHANGED = "stock.changed"
    PRODUCT_CHANGED = "product.changed"
    CUSTOMER_CHANGED = "customer.changed"


class RecordKind(enum.StrEnum):
    """The ERP records reconciliation reads as they are now (`ErpAdapter.records`), as
    JSON objects: amounts strings with two decimals, dates ISO strings.

    order: {order_ref, erp_order_number, customer_ref, status, currency, received_on,
      delivered_on|null, promised_on|null (its requested date), version, lines: [{sku, quantity, shipped, unit_price}],
      shipments: [{shipment_number, carrier, tracking_number, shipped_on, lines: [{sku, quantity}]}]}
    invoice: {number, order_ref, customer_ref, amount, currency, issued_on, due_on,
      status (open|overdue|paid), amount_paid, amount_credited, amount_open, version}
    payment: {reference, invoice_number, customer_ref, amount, currency, received_on}
    """

    ORDER = "order"
    INVOICE = "invoice"
    PAYMENT = "payment"


@dataclass(frozen=True)
class OutboundMessage:
    idempotency_key: str
    kind: MessageKind
    aggregate: str  # e.g. "order:42": messages of one aggregate are delivered in order
    payload: MessagePayload  # as built; from the wire, whatever arrived (the ERP checks it)


@dataclass(frozen=True)
class DeliveryResult:
    idempotency_key: str
    status: DeliveryStatus
    error: str = ""
    data: dict[str, Any] = field(default_factory=dict)  # e.g. {"erp_order_number": ...}


@dataclass(frozen=True)
class ErpEvent:
    id: str  # unique, stable across redeliveries
    type: EventType
    aggregate: str  # "order:<order_ref>", "stock:<sku>:<warehouse>", "invoice:<number>", ...
    version: int  # grows per aggregate; an older version never overwrites a newer one
    occurred_at: dt.datetime  # on the ERP's clock, timezone-aware
    data: dict[str, Any]

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "type": str(self.type),
            "aggregate": self.aggregate,
            "version": self.version,
            "occurred_at": self.occurred_at.isoformat(),
            "data": self.data,
        }

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> ErpEvent:
        """Raises KeyError, ValueError or TypeError on a malformed event."""
        occurred_at = dt.datetime.fromisoformat(raw["occurred_at"])
        if occurred_at.tzinfo is None:
            raise ValueError("occurred_at must carry a time zone")
        version = raw["version"]
        if not isinstance(version, int) or isinstance(version, bool) or version < 0:
            raise ValueError("version must be a non-negative integer")
        if not isinstance(raw["data"], dict):
            raise TypeError("data must be an object")
        if not isinstance(raw["id"], str) or not raw["id"] or len(raw["id"]) > 200:
            raise ValueError("id must be a non-empty string of at most 200 characters")
        if not isinstance(raw["aggregate"], str) or not raw["aggregate"] or len(raw["aggregate"]) > 200:
            raise ValueError("aggregate must be a non-empty string of at most 200 characters")
        return cls(
            id=raw["id"],
            type=EventType(raw["type"]),
            aggregate=raw["aggregate"],
            version=version,
            occurred_at=occurred_at,
            data=raw["data"],
        )


@dataclass(frozen=True)
class ChangeBatch:
    events: list[ErpEvent]
    cursor: str  # pass back to get what follows; unchanged when nothing new
    has_more: bool


@dataclass(frozen=True)
class IncomingStock:
    quantity: int
    expected_on: dt.date


@dataclass(frozen=True)
class StockLevel:
    sku: str
    warehouse: str
    on_hand: int
    reserved: int
    incoming: tuple[IncomingStock, ...]
    version: int

    @property
    def free(self) -> int:
        return max(self.on_hand - self.reserved, 0)


@dataclass(frozen=True)
class Product:
    sku: str
    name: str
    unit_price: Decimal
    currency: str
    lead_time_days: int
    active: bool
    version: int


@dataclass(frozen=True)
class DailyTotals:
    """What the ERP counts for one day (its clock), for reconciliation."""

    day: dt.date
    orders: int  # orders received that day
    invoiced: dict[str, Decimal]  # sum of invoices issued that day, per currency


class ErpError(Exception):
    """Base of what an adapter raises."""


class ErpUnavailable(ErpError):
    """The call failed as a whole and may succeed later (outage, connection refused,
    timeout, 5xx, 429): the ERP is unavailable, which is no message's fault."""


class ErpBadRequest(ErpError):
    """The ERP refused the call itself (not one message in a batch): a bug on our side."""


@runtime_checkable
class ErpAdapter(Protocol):
    name: str

    def deliver(self, messages: Sequence[OutboundMessage]) -> list[DeliveryResult]:
        """Apply a batch; one result per message, in the same order."""
        ...

    def pull_changes(self, *, cursor: str | None, limit: int = 500) -> ChangeBatch: ...

    def stock(self, skus: Sequence[str]) -> list[StockLevel]: ...

    def catalogue(self) -> list[Product]: ...

    def daily_totals(self, *, since: dt.date, until: dt.date) -> list[DailyTotals]:
        """Days from `since` to `until` inclusive that had orders or invoices."""
        ...

    def records(
        self,
        kind: RecordKind,
        *,
        since: dt.date | None = None,
        until: dt.date | None = None,
        refs: Sequence[str] = (),
    ) -> list[dict[str, Any]]:
        """The ERP's `kind` records as they are now: those named by `refs` (unknown ones
        left out), or else those of the days [since, until] (orders by the day received,
        invoices by the day issued, payments by the day received). See `RecordKind`."""
        ...


class AdapterBase:
    """The typed verbs of the interface, each one message through `deliver()`."""

    name = "base"

    def deliver(self, messages: Sequence[OutboundMessage]) -> list[DeliveryResult]:
        raise NotImplementedError

    def _one(self, key: str, kind: MessageKind, aggregate: str, payload: MessagePayload) -> DeliveryResult:
        (result,) = self.deliver([OutboundMessage(key, kind, aggregate, payload)])
        return result

    def push_order(self, *, idempotency_key: str, order: OrderSubmit) -> DeliveryResult:
        return self._one(idempotency_key, MessageKind.ORDER_SUBMIT, f"order:{order['order_ref']}", order)

    def cancel_order(self, *, idempotency_key: str, order_ref: str, reason: str = "") -> DeliveryResult:
        payload: OrderCancel = {"order_ref": order_ref, "reason": reason}
        return self._one(idempotency_key, MessageKind.ORDER_CANCEL, f"order:{order_ref}", payload)

    def issue_credit_note(self, *, idempotency_key: str, credit: CreditNoteIssue) -> DeliveryResult:
        return self._one(
            idempotency_key, MessageKind.CREDIT_NOTE_ISSUE, f"credit:{credit['credit_ref']}", credit
        )

    def upsert_customer(self, *, idempotency_key: str, customer: CustomerUpsert) -> DeliveryResult:
        return self._one(
            idempotency_key,
            MessageKind.CUSTOMER_UPSERT,
            f"customer:{customer['customer_ref']}",
            customer,
        )

    def merge_customer(self, *, idempotency_key: str, merge: CustomerMerge) -> DeliveryResult:
        return self._one(
            idempotency_key, MessageKind.CUSTOMER_MERGE, f"customer:{merge['survivor_ref']}", merge
        )

    def publish_forecast(self, *, idempotency_key: str, forecast: ForecastPublish) -> DeliveryResult:
        return self._one(
            idempotency_key,
            MessageKind.FORECAST_PUBLISH,
            f"forecast:{forecast['forecast_ref']}",
            forecast,
        )


ADAPTERS = {
    "stub": "backoffice_sync.adapters.stub.StubAdapter",
    "http": "backoffice_sync.adapters.http.HttpAdapter",
}


@cache
def get_adapter() -> ErpAdapter:
    """The adapter `ERP_ADAPTER` names, one per process (tests clear the cache)."""
    return import_string(ADAPTERS[settings.ERP_ADAPTER])()
