"""Re-pulling a record from the ERP: the mirror's order, invoice or payment rewritten as
the ERP has it now (the ERP is the source of truth for back-office facts), or removed
when the ERP does not know it. Called by reconciliation, inside its transaction per
record; each repair is noted on the customer's timeline by the reconciliation actor.

Records are the JSON shapes of `backoffice_sync.erp.RecordKind`. A record whose customer
the front office does not know raises `Rejected` (nothing is written).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.utils import timezone

from backoffice_sync.apply.invoices import balance_recompute, settle
from backoffice_sync.apply.rules import SOURCE_APP, Rejected, live_customer
from backoffice_sync.choices import ErpActivityKind
from backoffice_sync.models import (
    CreditNote,
    ErpOrder,
    ErpOrderLine,
    ErpOrderStatus,
    ErpOrderStatusChange,
    Invoice,
    InvoiceStatus,
    Payment,
    Shipment,
    ShipmentLine,
)
from customers.timeline import activity_record
from frontoffice.actors import SystemActor

RECONCILIATION = SystemActor("ERP reconciliation")


def _date(text: str | None) -> dt.date | None:
    return dt.date.fromisoformat(text) if text else None


def _customer_id(record: dict[str, Any]) -> int:
    ref = str(record.get("customer_ref") or "")
    if not (ref.isascii() and ref.isdigit()):
        raise Rejected(f"The ERP's customer {ref!r} is not a front-office customer.")
    return live_customer(int(ref)).pk


def note(customer_id: int, kind: str, subject: str, ref: Any, **payload: Any) -> None:
    """The repair on the customer's timeline (same transaction as the repair)."""
    activity_record(
        customer_id=customer_id,
        kind=kind,
        actor=RECONCILIATION,
        subject=subject[:200],
        source_app=SOURCE_APP,
        ref=ref,
        payload={"reconciliation": True, **payload},
    )


def repull_order(order_ref: str, record: dict[str, Any] | None) -> int | None:
    """The order mirror as the ERP has it; removed when the ERP has none. Returns the
    customer's id (None when there was nothing to write)."""
    order = ErpOrder.objects.select_for_update().filter(order_ref=order_ref).first()
    if record is None:
        if order is None:
            return None
        customer_id = order.customer_id
        order.delete()
        note(
            customer_id,
            ErpActivityKind.ERP_ORDER,
            f"Order {order_ref} removed: the ERP does not know it",
            None,
        )
        return customer_id
    customer_id = _customer_id(record)
    status = ErpOrderStatus(record["status"])
    now = timezone.now()
    version = int(record.get("version") or 0)
    if order is None:
        order = ErpOrder(order_ref=order_ref, customer_id=customer_id, status_changed_at=now)
    elif order.status != status:
        order.status_changed_at = now
    order.customer_id = customer_id
    order.status = status
    order.erp_order_number = record.get("erp_order_number") or order.erp_order_number
    order.currency = record.get("currency") or order.currency
    order.delivered_on = _date(record.get("delivered_on"))
    order.promised_on = _date(record.get("promised_on"))
    order.erp_version = max(order.erp_version, version)
    order.save()
    order.lines.all().delete()
    ErpOrderLine.objects.bulk_create(
        ErpOrderLine(
            order=order,
            line_no=n,
            sku=line["sku"],
            quantity=line["quantity"],
            shipped=line.get("shipped") or 0,
            unit_price=Decimal(line["unit_price"]) if line.get("unit_price") is not None else None,
        )
        for n, line in enumerate(record.get("lines") or [], start=1)
    )
    _repull_shipments(order, record.get("shipments") or [], version)
    if version:
        ErpOrderStatusChange.objects.get_or_create(
            order=order, erp_version=version, defaults={"status": status, "occurred_at": now}
        )
    note(
        customer_id,
        ErpActivityKind.ERP_ORDER,
        f"Order {order_ref} corrected from the ERP: {status.label.lower()}",
        order,
        order_ref=order_ref,
        status=str(status),
    )
    return customer_id


def _repull_shipments(order: ErpOrder, shipments: list[dict[str, Any]], version: int) -> None:
    """The ERP delivers an order whole: every parcel arrived on the order's delivery day."""
    numbers = [s["shipment_number"] for s in shipments]
    order.shipments.exclude(number__in=numbers).delete()
    for raw in shipments:
        shipment, _ = Shipment.objects.update_or_create(
            number=raw["shipment_number"],
            defaults={
                "order": order,
                "carrier": raw.get("carrier") or "",
                "tracking_number": raw.get("tracking_number") or "",
                "shipped_on": _date(raw["shipped_on"]),
                "delivered_on": order.delivered_on,
                "erp_version": version,
            },
        )
        shipment.lines.all().delete()
        ShipmentLine.objects.bulk_create(
            ShipmentLine(shipment=shipment, line_no=n, sku=line["sku"], quantity=line["quantity"])
            for n, line in enumerate(raw.get("lines") or [], start=1)
        )


def repull_invoice(number: str, record: dict[str, Any] | None) -> int | None:
    """The invoice mirror as the ERP has it (amounts, dates, status, what was paid and
    credited), the customer's balance recomputed; removed when the ERP has none."""
    invoice = Invoice.objects.select_for_update().filter(number=number).first()
    if record is None:
        if invoice is None:
            return None
        customer_id, currency = invoice.customer_id, invoice.currency
        invoice.delete()
        balance_recompute(customer_id=customer_id, currency=currency)
        note(
            customer_id, ErpActivityKind.INVOICE, f"Invoice {number} removed: the ERP does not know it", None
        )
        return customer_id
    customer_id = _customer_id(record)
    old = (invoice.customer_id, invoice.currency) if invoice is not None else None
    invoice = invoice or Invoice(number=number)
    invoice.customer_id = customer_id
    invoice.order_ref = record.get("order_ref") or ""
    invoice.amount = Decimal(record["amount"])
    invoice.currency = record["currency"]
    invoice.issued_on = _date(record["issued_on"])  # type: ignore[assignment]  # required in the shape
    invoice.due_on = _date(record["due_on"])  # type: ignore[assignment]
    invoice.status = InvoiceStatus(record["status"])
    invoice.amount_paid = Decimal(record["amount_paid"])
    invoice.amount_credited = Decimal(record["amount_credited"])
    invoice.erp_version = max(invoice.erp_version, int(record.get("version") or 0))
    invoice.save()
    for early in (Payment, CreditNote):
        early.objects.filter(invoice__isnull=True, invoice_number=number).update(invoice=invoice)
    balance_recompute(customer_id=customer_id, currency=invoice.currency)
    if old is not None and old != (customer_id, invoice.currency):
        balance_recompute(customer_id=old[0], currency=old[1])
    note(
        customer_id,
        ErpActivityKind.INVOICE,
        f"Invoice {number} corrected from the ERP: {invoice.amount:.2f} {invoice.currency}, "
        f"{invoice.status}, {invoice.amount_open:.2f} open",
        invoice,
        invoice_number=number,
    )
    return customer_id


def repull_payment(reference: str, record: dict[str, Any] | None) -> int | None:
    """The payment as the ERP has it, its invoice settled again; removed when the ERP has none."""
    payment = Payment.objects.select_for_update().filter(reference=reference).first()
    if record is None:
        if payment is None:
            return None
        customer_id, invoice = payment.customer_id, payment.invoice
        payment.delete()
        _resettle(invoice)
        note(
            customer_id,
            ErpActivityKind.PAYMENT,
            f"Payment {reference} removed: the ERP does not know it",
            None,
        )
        return customer_id
    customer_id = _customer_id(record)
    invoice = Invoice.objects.select_for_update().filter(number=record["invoice_number"]).first()
    previous = payment.invoice if payment is not None else None
    payment = payment or Payment(reference=reference)
    payment.customer_id = customer_id
    payment.invoice = invoice
    payment.invoice_number = record["invoice_number"]
    payment.amount = Decimal(record["amount"])
    payment.currency = record["currency"]
    payment.received_on = _date(record["received_on"])  # type: ignore[assignment]  # required in the shape
    payment.save()
    _resettle(invoice)
    if previous is not None and previous != invoice:
        _resettle(previous)
    note(
        customer_id,
        ErpActivityKind.PAYMENT,
        f"Payment {reference} corrected from the ERP: {payment.amount:.2f} {payment.currency} "
        f"for invoice {payment.invoice_number}",
        payment,
        invoice_number=payment.invoice_number,
    )
    return customer_id


def _resettle(invoice: Invoice | None) -> None:
    if invoice is None:
        return
    settle(invoice)
    balance_recompute(customer_id=invoice.customer_id, currency=invoice.currency)


REPULL = {"order": repull_order, "invoice": repull_invoice, "payment": repull_payment}
