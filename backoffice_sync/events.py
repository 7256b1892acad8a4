"""What the back-office sync tells the other apps (contracts for `frontoffice.events`):
one frozen dataclass per fact from the ERP that someone needs, published by the inbox
once the ERP's event is applied to the mirrors. Subscribers choose their phase (after
commit, normally: the mirror and the timeline entry are committed by then).

These are the facts the service app's proactive messages to customers start from
("your order is confirmed", "it has shipped, here is the tracking", "your invoice is
overdue", "thank you for your payment"). The ERP's other events (products, stock,
customer numbers, invoices issued, orders rejected, cancelled or delivered, credit
notes) only update the mirrors: nobody subscribes to them, so nothing is published.

There is no "order delayed": the ERP tells us when it confirms, ships and delivers, not
when it expects to deliver (its order events carry the requested date and no forecast),
so a delay is only known once the order arrives late. When the ERP reports an expected
delivery date, `OrderDelayed` belongs here, published when that date passes the
requested one.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class OrderConfirmed:
    """The ERP confirmed an order (`order.confirmed`, newer than what the mirror held)."""

    customer_id: int  # the live customer (a merged one's survivor)
    order_ref: str
    erp_order_number: str | None
    occurred_at: dt.datetime  # on the ERP's clock
    erp_event_id: str


@dataclass(frozen=True)
class OrderShipped:
    """A parcel of an order left the warehouse (`order.shipped` or
    `order.partially_shipped`): published once per shipment, when the mirror first
    records it, even from an event that arrives after a newer one."""

    customer_id: int
    order_ref: str
    erp_order_number: str | None
    shipment_number: str
    carrier: str
    tracking_number: str
    shipped_on: dt.date
    complete: bool  # False: more of the order is still to come
    occurred_at: dt.datetime
    erp_event_id: str


@dataclass(frozen=True)
class InvoiceOverdue:
    """An open invoice went past its due date (`payment.overdue`; not for one already paid)."""

    customer_id: int
    invoice_number: str
    amount_due: Decimal
    currency: str
    due_on: dt.date
    occurred_at: dt.datetime
    erp_event_id: str


@dataclass(frozen=True)
class PaymentReceived:
    """A payment was received (`payment.received`; once per payment reference)."""

    customer_id: int
    reference: str
    invoice_number: str
    amount: Decimal
    currency: str
    received_on: dt.date
    invoice_paid: bool  # the invoice is now paid in full (False too when it is not mirrored yet)
    occurred_at: dt.datetime
    erp_event_id: str


ErpFact = OrderConfirmed | OrderShipped | InvoiceOverdue | PaymentReceived
