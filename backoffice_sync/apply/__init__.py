"""How each ERP event changes the mirrors: validate its data, write, note it on the
customer's timeline, and say which domain events to publish once it commits.

Called only by `backoffice_sync.inbox.inbox_apply`, inside its transaction, with the
aggregate locked and `stale` telling whether the aggregate already saw this version or a
newer one. Where one aggregate carries events of several kinds (an invoice's aggregate
carries invoice.issued, payment.overdue and payment.received), the handlers compare
with the version on the mirror row instead, because the invoice itself must still be
created when its payment overtook it.

A handler raises `Rejected` when the event cannot be applied (missing or malformed data,
an unknown customer); the inbox then rolls back whatever the handler wrote and keeps
the event as rejected, with the message, for inspection. `Deferred` means "not yet"
(stock of a SKU whose product is not mirrored yet, an overdue notice ahead of its
invoice): the event stays received for a retry, and is rejected for inspection once
the inbox's attempts are used up.

Lock order, the same everywhere: inbox row, aggregate row, customer, then mirror rows
(a merge locks customers before re-pointing mirror rows, so the two cannot deadlock).
"""

from __future__ import annotations

from collections.abc import Callable

from backoffice_sync.apply.catalogue import apply_product_changed, apply_stock_changed
from backoffice_sync.apply.customers import apply_customer_changed
from backoffice_sync.apply.invoices import (
    apply_credit_note,
    apply_invoice_issued,
    apply_payment_overdue,
    apply_payment_received,
)
from backoffice_sync.apply.orders import ORDER_STATUS, apply_order
from backoffice_sync.apply.rules import Deferred, Outcome, Rejected
from backoffice_sync.erp import ErpEvent, EventType

__all__ = ["HANDLERS", "Deferred", "Outcome", "Rejected", "apply_event"]

HANDLERS: dict[EventType, Callable[..., Outcome]] = {
    **dict.fromkeys(ORDER_STATUS, apply_order),
    EventType.INVOICE_ISSUED: apply_invoice_issued,
    EventType.CREDIT_NOTE_ISSUED: apply_credit_note,
    EventType.PAYMENT_RECEIVED: apply_payment_received,
    EventType.PAYMENT_OVERDUE: apply_payment_overdue,
    EventType.STOCK_CHANGED: apply_stock_changed,
    EventType.PRODUCT_CHANGED: apply_product_changed,
    EventType.CUSTOMER_CHANGED: apply_customer_changed,
}


def apply_event(event: ErpEvent, *, stale: bool) -> Outcome:
    """Apply one event (inside the inbox's transaction); raises `Rejected`."""
    return HANDLERS[event.type](event, stale=stale)
