"""The ERP's records as they are now (not its change log): orders, invoices and
payments, for the front office's reconciliation to compare its mirrors with and to
re-pull a record that drifted. Plain JSON data: amounts are strings with two decimals,
dates ISO strings (the shapes of `backoffice_sync.erp.RECORD_KINDS`)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from django.db.models import Q, QuerySet, Sum

from backoffice_sync.erp import ErpBadRequest, EventType, RecordKind
from backoffice_sync.simulator import faults
from backoffice_sync.simulator.engine.lifecycle import current_seed
from backoffice_sync.simulator.engine.rules import MAX_BATCH, money
from backoffice_sync.simulator.models import (
    SimEvent,
    SimInvoice,
    SimInvoiceStatus,
    SimOrder,
    SimOrderStatus,
    SimPayment,
)

MAX_WINDOW_DAYS = 400


def _window(since: dt.date, until: dt.date) -> tuple[dt.datetime, dt.datetime]:
    if not isinstance(since, dt.date) or not isinstance(until, dt.date) or since > until:
        raise ErpBadRequest("since and until must be dates, since <= until")
    if (until - since).days > MAX_WINDOW_DAYS:
        raise ErpBadRequest(f"at most {MAX_WINDOW_DAYS} days per call")
    start = dt.datetime.combine(since, dt.time.min, tzinfo=dt.UTC)
    return start, dt.datetime.combine(until + dt.timedelta(days=1), dt.time.min, tzinfo=dt.UTC)


def _order_records(orders: QuerySet[SimOrder]) -> list[dict[str, Any]]:
    # Orders the ERP has received but not yet confirmed have told the front office nothing.
    rows = list(
        orders.exclude(status=SimOrderStatus.RECEIVED)
        .select_related("customer")
        .prefetch_related("lines__product", "shipments")
        .order_by("order_ref")
    )
    delivered: dict[str, str] = {}
    for aggregate, data in (
        SimEvent.objects.filter(
            type=EventType.ORDER_DELIVERED, aggregate__in=[f"order:{o.order_ref}" for o in rows]
        )
        .order_by("seq")
        .values_list("aggregate", "data")
    ):
        delivered[aggregate.removeprefix("order:")] = data.get("delivered_on")
    return [
        {
            "order_ref": order.order_ref,
            "erp_order_number": order.number,
            "customer_ref": order.customer.customer_ref,
            "status": order.status,
            "currency": order.currency,
            "received_on": order.received_at.astimezone(dt.UTC).date().isoformat(),
            "delivered_on": delivered.get(order.order_ref),
            "promised_on": order.requested_date.isoformat() if order.requested_date else None,
            "version": order.version,
            "lines": [
                {
                    "sku": line.product.sku,
                    "quantity": line.quantity,
                    "shipped": line.shipped,
                    "unit_price": money(line.unit_price),
                }
                for line in sorted(order.lines.all(), key=lambda line: line.line_no)
            ],
            "shipments": [
                {
                    "shipment_number": shipment.number,
                    "carrier": shipment.carrier,
                    "tracking_number": shipment.tracking_number,
                    "shipped_on": shipment.shipped_at.astimezone(dt.UTC).date().isoformat(),
                    "lines": [{"sku": x["sku"], "quantity": x["quantity"]} for x in shipment.lines],
                }
                for shipment in sorted(order.shipments.all(), key=lambda s: s.number)
            ],
        }
        for order in rows
    ]


def _invoice_status(invoice: SimInvoice) -> str:
    if invoice.status in (SimInvoiceStatus.PAID, SimInvoiceStatus.SETTLED):
        return "paid"
    return "overdue" if invoice.overdue_notified else "open"


def _invoice_records(invoices: QuerySet[SimInvoice]) -> list[dict[str, Any]]:
    rows = list(
        invoices.select_related("customer", "order").annotate(paid=Sum("payments__amount")).order_by("number")
    )
    records = []
    for invoice in rows:
        paid = invoice.paid or Decimal(0)
        status = _invoice_status(invoice)
        open_amount = (
            Decimal(0) if status == "paid" else max(invoice.amount - paid - invoice.credited, Decimal(0))
        )
        records.append(
            {
                "number": invoice.number,
                "order_ref": invoice.order.order_ref,
                "customer_ref": invoice.customer.customer_ref,
                "amount": money(invoice.amount),
                "currency": invoice.currency,
                "issued_on": invoice.issued_on.isoformat(),
                "due_on": invoice.due_on.isoformat(),
                "status": status,
                "amount_paid": money(paid),
                "amount_credited": money(invoice.credited),
                "amount_open": money(open_amount),
                "version": invoice.version,
            }
        )
    return records


def _payment_records(payments: QuerySet[SimPayment]) -> list[dict[str, Any]]:
    return [
        {
            "reference": payment.reference,
            "invoice_number": payment.invoice.number,
            "customer_ref": payment.invoice.customer.customer_ref,
            "amount": money(payment.amount),
            "currency": payment.currency,
            "received_on": payment.received_on.isoformat(),
        }
        for payment in payments.select_related("invoice__customer").order_by("reference")
    ]


def records(
    kind: str,
    *,
    since: dt.date | None = None,
    until: dt.date | None = None,
    refs: Sequence[str] = (),
) -> list[dict[str, Any]]:
    """The ERP's current `kind` records ("order", "invoice", "payment"): those named by
    `refs` (unknown ones left out), or else those of the window [since, until] (orders by
    the day received, invoices by the day issued, payments by the day received). A few
    queries per call, whatever the count."""
    if kind not in RecordKind._value2member_map_:
        raise ErpBadRequest(f"unknown record kind {kind!r}")
    if isinstance(refs, str) or not all(isinstance(ref, str) for ref in refs):
        raise ErpBadRequest("refs must be a list of strings")
    if len(refs) > MAX_BATCH:
        raise ErpBadRequest(f"at most {MAX_BATCH} refs per call")
    faults.plan_call(seed=current_seed(), operation="records", applies=False)
    if refs:
        window_orders = Q(order_ref__in=list(refs))
        window_invoices = Q(number__in=list(refs))
        window_payments = Q(reference__in=list(refs))
    else:
        if since is None or until is None:
            raise ErpBadRequest("give refs, or since and until")
        start, end = _window(since, until)
        window_orders = Q(received_at__gte=start, received_at__lt=end)
        window_invoices = Q(issued_on__range=(since, until))
        window_payments = Q(received_on__range=(since, until))
    if kind == RecordKind.ORDER:
        return _order_records(SimOrder.objects.filter(window_orders))
    if kind == RecordKind.INVOICE:
        return _invoice_records(SimInvoice.objects.filter(window_invoices))
    return _payment_records(SimPayment.objects.filter(window_payments))
