"""What crosses the ERP boundary, defined once: the payload of each message the front
office sends (per `MessageKind`), the ERP's answer to it, and the data of each event the
ERP publishes (per `EventType`).

They are TypedDicts: plain JSON objects at run time (what the outbox stores, the `http`
adapter sends and the simulator keeps in its change log), checked by mypy where they
are built: `sales.orders` and `sales.forecast` (orders, cancels, the forecast),
`customer_sync` (customer upserts and merges), the simulator (its events and answers).
Amounts are decimal strings with two places; dates are ISO strings (YYYY-MM-DD).

Nothing here is trusted on arrival: the ERP checks every payload (`simulator/engine/
checks.py` stands for it), and the inbox checks every event's data against its shape
before applying it (`apply/shapes.py`, which also accepts a few older spellings).
"""

from __future__ import annotations

from typing import Any, TypedDict

from backoffice_sync.erp import EventType, MessageKind

# --- to the ERP: one payload per MessageKind ---------------------------------------------


class Address(TypedDict):
    line: str  # the address as one line, as the customer gave it
    street: str
    postal_code: str
    city: str
    region: str
    country: str


class OrderLine(TypedDict):
    line_no: int  # positive, unique in the order
    sku: str
    quantity: int  # positive
    unit_price: str  # net of the line discount, in the order's currency


class OrderSubmit(TypedDict):
    """`order.submit`, aggregate "order:<order_ref>"."""

    order_ref: str
    customer_ref: str  # the front office's customer id
    # The profile's number, so that an order overtaking its customer's first upsert opens
    # the account under it (docs/backoffice_sync.md, "Customers").
    erp_customer_number: str | None
    currency: str
    requested_date: str | None  # the promised delivery date
    lines: list[OrderLine]
    ship_to: Address | None


class OrderCancel(TypedDict):
    """`order.cancel`, aggregate "order:<order_ref>" (after its submit)."""

    order_ref: str
    reason: str


class CreditNoteIssue(TypedDict):
    """`credit_note.issue`, aggregate "credit:<credit_ref>"."""

    credit_ref: str
    customer_ref: str
    invoice_number: str | None  # None: a credit on the account, not against an invoice
    amount: str
    currency: str
    reason: str


class CustomerUpsert(TypedDict):
    """`customer.upsert`, aggregate "customer:<customer_ref>": the whole master data."""

    customer_ref: str
    erp_customer_number: str | None
    name: str
    email: str | None
    phone: str | None
    billing_address: Address | None
    shipping_address: Address | None


class CustomerMerge(TypedDict):
    """`customer.merge`, aggregate "customer:<survivor_ref>", ahead of the survivor's
    upserts: the duplicate was merged into the survivor, which took over its number. The
    ERP gives the survivor that number and closes the duplicate's account (its later
    upserts change nothing)."""

    survivor_ref: str
    duplicate_ref: str
    erp_customer_number: str


class ForecastLine(TypedDict):
    month: str  # YYYY-MM
    sku: str
    quantity: int  # whole units, zero or more
    amount: str


class ForecastPublish(TypedDict):
    """`forecast.publish`, aggregate "forecast:<forecast_ref>"."""

    forecast_ref: str
    currency: str
    lines: list[ForecastLine]


MessagePayload = (
    OrderSubmit | OrderCancel | CreditNoteIssue | CustomerUpsert | CustomerMerge | ForecastPublish
)

PAYLOADS: dict[MessageKind, type[Any]] = {
    MessageKind.ORDER_SUBMIT: OrderSubmit,
    MessageKind.ORDER_CANCEL: OrderCancel,
    MessageKind.CREDIT_NOTE_ISSUE: CreditNoteIssue,
    MessageKind.CUSTOMER_UPSERT: CustomerUpsert,
    MessageKind.CUSTOMER_MERGE: CustomerMerge,
    MessageKind.FORECAST_PUBLISH: ForecastPublish,
}


# --- the ERP's answers (`DeliveryResult.data` of an accepted message) --------------------


class OrderAnswer(TypedDict):
    """order.submit, order.cancel."""

    erp_order_number: str
    status: str


class CreditNoteAnswer(TypedDict):
    credit_note_number: str


class CustomerAnswer(TypedDict):
    """customer.upsert, customer.merge: the number the ERP keeps for the customer (the
    survivor's, for a merged one)."""

    erp_customer_number: str


class ForecastAnswer(TypedDict):
    lines: int


Answer = OrderAnswer | CreditNoteAnswer | CustomerAnswer | ForecastAnswer


# --- from the ERP: the data of each EventType ----------------------------------------------


class OrderEventLine(TypedDict):
    line_no: int
    sku: str
    quantity: int
    reserved: int
    shipped: int
    unit_price: str
    warehouse: str  # the line's own; what is reserved may be held in several


class OrderEventData(TypedDict):
    """order.confirmed (aggregate "order:<order_ref>"): the order as the ERP now sees it."""

    order_ref: str
    erp_order_number: str
    customer_ref: str
    status: str  # received | confirmed | partially_shipped | shipped | delivered | cancelled | rejected
    currency: str
    requested_date: str | None
    lines: list[OrderEventLine]


class OrderClosedData(OrderEventData):
    """order.rejected, order.cancelled."""

    reason: str


class ShippedLine(TypedDict):
    line_no: int
    sku: str
    quantity: int


class ShipmentData(TypedDict):
    """What a shipping event adds to the order: the parcel."""

    shipment_number: str
    carrier: str
    tracking_number: str
    shipped_on: str
    shipped_lines: list[ShippedLine]  # what this shipment carries


class OrderShippedData(OrderEventData, ShipmentData):
    """order.partially_shipped, order.shipped."""


class OrderDeliveredData(OrderEventData):
    """order.delivered."""

    delivered_on: str


class InvoiceIssuedData(TypedDict):
    """invoice.issued, aggregate "invoice:<number>"."""

    number: str
    order_ref: str
    erp_order_number: str
    shipment_number: str
    customer_ref: str
    amount: str
    currency: str
    issued_on: str
    due_on: str


class PaymentReceivedData(TypedDict):
    """payment.received, aggregate "invoice:<number>" (a later version of the invoice)."""

    payment_ref: str
    invoice_number: str
    customer_ref: str
    amount: str
    currency: str
    received_on: str


class PaymentOverdueData(TypedDict):
    """payment.overdue, aggregate "invoice:<number>"."""

    invoice_number: str
    customer_ref: str
    amount_due: str
    currency: str
    due_on: str
    days_overdue: int


class CreditNoteIssuedData(TypedDict):
    """credit_note.issued, aggregate "credit_note:<number>"."""

    number: str
    credit_ref: str
    customer_ref: str
    invoice_number: str | None
    amount: str
    currency: str
    reason: str
    issued_on: str


class IncomingData(TypedDict):
    quantity: int
    expected_on: str


class StockChangedData(TypedDict):
    """stock.changed, aggregate "stock:<sku>:<warehouse>"."""

    sku: str
    warehouse: str
    on_hand: int
    reserved: int
    incoming: list[IncomingData]


class ProductChangedData(TypedDict):
    """product.changed, aggregate "product:<sku>"."""

    sku: str
    name: str
    unit_price: str
    currency: str
    lead_time_days: int
    active: bool


class CustomerChangedData(TypedDict):
    """customer.changed, aggregate "customer:<customer_ref>"."""

    customer_ref: str
    erp_customer_number: str
    name: str
    email: str | None
    phone: str | None
    billing_address: dict[str, Any] | None
    shipping_address: dict[str, Any] | None
    payment_terms_days: int


EventData = (
    OrderEventData
    | OrderClosedData
    | OrderShippedData
    | OrderDeliveredData
    | InvoiceIssuedData
    | PaymentReceivedData
    | PaymentOverdueData
    | CreditNoteIssuedData
    | StockChangedData
    | ProductChangedData
    | CustomerChangedData
)

EVENT_DATA: dict[EventType, type[Any]] = {
    EventType.ORDER_CONFIRMED: OrderEventData,
    EventType.ORDER_REJECTED: OrderClosedData,
    EventType.ORDER_CANCELLED: OrderClosedData,
    EventType.ORDER_PARTIALLY_SHIPPED: OrderShippedData,
    EventType.ORDER_SHIPPED: OrderShippedData,
    EventType.ORDER_DELIVERED: OrderDeliveredData,
    EventType.INVOICE_ISSUED: InvoiceIssuedData,
    EventType.PAYMENT_RECEIVED: PaymentReceivedData,
    EventType.PAYMENT_OVERDUE: PaymentOverdueData,
    EventType.CREDIT_NOTE_ISSUED: CreditNoteIssuedData,
    EventType.STOCK_CHANGED: StockChangedData,
    EventType.PRODUCT_CHANGED: ProductChangedData,
    EventType.CUSTOMER_CHANGED: CustomerChangedData,
}


def keys_of(contract: type[Any]) -> tuple[frozenset[str], frozenset[str]]:
    """(required keys, all keys) of a contract (for the tests that hold both ends to it)."""
    required = frozenset(contract.__required_keys__)
    return required, required | frozenset(contract.__optional_keys__)


__all__ = [
    "EVENT_DATA",
    "PAYLOADS",
    "Address",
    "Answer",
    "CreditNoteAnswer",
    "CreditNoteIssue",
    "CreditNoteIssuedData",
    "CustomerAnswer",
    "CustomerChangedData",
    "CustomerMerge",
    "CustomerUpsert",
    "EventData",
    "ForecastAnswer",
    "ForecastLine",
    "ForecastPublish",
    "IncomingData",
    "InvoiceIssuedData",
    "MessagePayload",
    "OrderAnswer",
    "OrderCancel",
    "OrderClosedData",
    "OrderDeliveredData",
    "OrderEventData",
    "OrderEventLine",
    "OrderLine",
    "OrderShippedData",
    "OrderSubmit",
    "PaymentOverdueData",
    "PaymentReceivedData",
    "ProductChangedData",
    "ShipmentData",
    "ShippedLine",
    "StockChangedData",
]
