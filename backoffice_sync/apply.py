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
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Count, DecimalField, F, Q, Sum
from django.db.models.functions import Coalesce
from rest_framework import serializers

from backoffice_sync.choices import ErpActivityKind
from backoffice_sync.erp import ErpEvent, EventType
from backoffice_sync.models import (
    CreditNote,
    CustomerBalance,
    ErpOrder,
    ErpOrderLine,
    ErpOrderStatus,
    ErpOrderStatusChange,
    IncomingStock,
    Invoice,
    InvoiceStatus,
    Payment,
    Product,
    Shipment,
    ShipmentLine,
    StockLevel,
)
from customers.choices import ActivityKind
from customers.models import Customer
from customers.services import customer_update
from customers.timeline import activity_record
from frontoffice.actors import ERP_SYNC
from frontoffice.serializers import TextField

SOURCE_APP = "backoffice_sync"
MAX_LINES = 500
MAX_MERGE_HOPS = 5
CENT = Decimal("0.01")


class Rejected(Exception):
    """The event cannot be applied; `str(exc)` says why (kept on the inbox row)."""


class Deferred(Exception):
    """The event depends on one not applied yet; `str(exc)` says which."""


@dataclass
class Outcome:
    """What a handler did: `stale` when nothing was newer, and the domain events
    (name, payload) to publish after commit."""

    stale: bool = False
    publish: list[tuple[str, dict[str, Any]]] = field(default_factory=list)


STALE = Outcome(stale=True)


# --- data shapes --------------------------------------------------------------------


def _ref(max_length: int = 40, **kwargs: Any) -> TextField:
    return TextField(max_length=max_length, trim_whitespace=True, **kwargs)


def _money(**kwargs: Any) -> serializers.DecimalField:
    return serializers.DecimalField(max_digits=14, decimal_places=2, min_value=Decimal(0), **kwargs)


def _quantity(**kwargs: Any) -> serializers.IntegerField:
    return serializers.IntegerField(min_value=0, max_value=10**9, **kwargs)


class CustomerRefField(serializers.Field):
    """The front office's Customer id, as a string of digits."""

    default_error_messages = {"invalid": "Expected a customer id (digits)."}

    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, bool) or not isinstance(data, str | int):
            self.fail("invalid")
        text = str(data).strip()
        if not (text.isascii() and text.isdigit()) or len(text) > 18 or int(text) < 1:
            raise serializers.ValidationError("Expected a customer id (digits).")
        return int(text)


class CurrencyField(serializers.RegexField):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(r"^[A-Z]{3}\Z", error_messages={"invalid": "Expected an ISO 4217 code."}, **kwargs)


class OrderLineData(serializers.Serializer):
    sku = _ref(64)
    quantity = _quantity()
    shipped = _quantity(required=False, default=0)
    unit_price = _money(required=False, allow_null=True, default=None)


class ShipmentLineData(serializers.Serializer):
    sku = _ref(64)
    quantity = _quantity()


class OrderData(serializers.Serializer):
    """order.*: the order as the ERP now sees it; shipped/partially_shipped add the shipment."""

    order_ref = _ref()
    erp_order_number = _ref(required=False, allow_null=True, allow_blank=True)
    customer_ref = CustomerRefField()
    status = _ref(30, required=False, allow_blank=True)
    currency = CurrencyField(required=False, allow_null=True)
    lines = OrderLineData(many=True, required=False, max_length=MAX_LINES)
    reason = _ref(500, required=False, allow_blank=True, allow_null=True)
    shipment_number = _ref(required=False, allow_null=True, allow_blank=True)
    carrier = _ref(60, required=False, allow_blank=True, allow_null=True)
    tracking_number = _ref(100, required=False, allow_blank=True, allow_null=True)
    shipped_lines = ShipmentLineData(many=True, required=False, max_length=MAX_LINES)
    shipment_lines = ShipmentLineData(many=True, required=False, max_length=MAX_LINES)  # an alias
    shipped_on = serializers.DateField(required=False, allow_null=True)
    delivered_on = serializers.DateField(required=False, allow_null=True)


class InvoiceData(serializers.Serializer):
    number = _ref()
    order_ref = _ref(required=False, allow_blank=True, allow_null=True)
    customer_ref = CustomerRefField()
    amount = _money()
    currency = CurrencyField()
    issued_on = serializers.DateField()
    due_on = serializers.DateField()

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs["due_on"] < attrs["issued_on"]:
            raise serializers.ValidationError({"due_on": ["An invoice cannot be due before it is issued."]})
        return attrs


class PaymentData(serializers.Serializer):
    reference = _ref(60, required=False)
    payment_ref = _ref(60, required=False)  # the simulator's name for the reference
    invoice_number = _ref()
    customer_ref = CustomerRefField()
    amount = _money()
    currency = CurrencyField()
    received_on = serializers.DateField()

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        attrs["reference"] = attrs.get("reference") or attrs.get("payment_ref")
        if not attrs["reference"]:
            raise serializers.ValidationError({"reference": ["A payment needs its reference."]})
        return attrs


class OverdueData(serializers.Serializer):
    invoice_number = _ref()
    customer_ref = CustomerRefField()
    amount_due = _money(required=False)


class CreditNoteData(serializers.Serializer):
    number = _ref()
    credit_ref = _ref(60, required=False, allow_blank=True, allow_null=True)
    invoice_number = _ref(required=False, allow_blank=True, allow_null=True)
    customer_ref = CustomerRefField()
    amount = _money()
    currency = CurrencyField()
    reason = _ref(500, required=False, allow_blank=True, allow_null=True)
    issued_on = serializers.DateField(required=False, allow_null=True)


class IncomingData(serializers.Serializer):
    quantity = serializers.IntegerField(min_value=1, max_value=10**9)
    expected_on = serializers.DateField()


class StockData(serializers.Serializer):
    sku = _ref(64)
    warehouse = _ref()
    on_hand = _quantity()
    reserved = _quantity()
    incoming = IncomingData(many=True, required=False, max_length=100)


class ProductData(serializers.Serializer):
    sku = _ref(64)
    name = _ref(200)
    unit_price = _money()
    currency = CurrencyField()
    lead_time_days = serializers.IntegerField(min_value=0, max_value=3650)
    active = serializers.BooleanField()


class CustomerData(serializers.Serializer):
    customer_ref = CustomerRefField()
    erp_customer_number = _ref(allow_blank=True, allow_null=True)


def _errors_text(detail: Any, prefix: str = "") -> list[str]:
    if isinstance(detail, dict):
        return [m for key, value in detail.items() for m in _errors_text(value, f"{prefix}{key}.")]
    if isinstance(detail, list) and any(isinstance(item, dict | list) for item in detail):
        return [m for i, item in enumerate(detail) if item for m in _errors_text(item, f"{prefix}{i}.")]
    if isinstance(detail, list):
        return [f"{prefix.rstrip('.') or 'data'}: {message}" for message in detail]
    return [f"{prefix.rstrip('.') or 'data'}: {detail}"]


def _valid(shape: type[serializers.Serializer], event: ErpEvent) -> dict[str, Any]:
    serializer = shape(data=event.data)
    if not serializer.is_valid():
        raise Rejected("Invalid data: " + "; ".join(_errors_text(serializer.errors))[:1000])
    return dict(serializer.validated_data)


def _customer(customer_id: int) -> Customer:
    """The live customer the ERP means, following a merge to its survivor; locked."""
    seen = 0
    current: Any = customer_id
    while True:
        customer = Customer.objects.select_for_update().filter(pk=current).first()
        if customer is None:
            raise Rejected(f"Unknown customer {customer_id}: no such customer in the front office.")
        if customer.merged_into_id is None:
            return customer
        seen += 1
        if seen > MAX_MERGE_HOPS:
            raise Rejected(f"Customer {customer_id} was merged too many times to follow.")
        current = customer.merged_into_id


def _record(customer_id: int, kind: str, subject: str, event: ErpEvent, ref: Any, **payload: Any) -> None:
    activity_record(
        customer_id=customer_id,
        kind=kind,
        subject=subject[:200],
        actor=ERP_SYNC,
        source_app=SOURCE_APP,
        occurred_at=event.occurred_at,
        ref=ref,
        payload={
            "erp_event_id": event.id,
            "erp_event_type": str(event.type),
            "erp_version": event.version,
            **payload,
        },
    )


def _money_text(amount: Decimal, currency: str) -> str:
    return f"{amount:.2f} {currency}"


# --- orders and shipments -------------------------------------------------------------

ORDER_STATUS = {
    EventType.ORDER_CONFIRMED: ErpOrderStatus.CONFIRMED,
    EventType.ORDER_REJECTED: ErpOrderStatus.REJECTED,
    EventType.ORDER_PARTIALLY_SHIPPED: ErpOrderStatus.PARTIALLY_SHIPPED,
    EventType.ORDER_SHIPPED: ErpOrderStatus.SHIPPED,
    EventType.ORDER_DELIVERED: ErpOrderStatus.DELIVERED,
    EventType.ORDER_CANCELLED: ErpOrderStatus.CANCELLED,
}
SHIPPING = (EventType.ORDER_SHIPPED, EventType.ORDER_PARTIALLY_SHIPPED)


def _order_subject(order: ErpOrder, event: ErpEvent, data: dict[str, Any], lines: list[ErpOrderLine]) -> str:
    ref = order.order_ref
    if event.type in SHIPPING:
        verb = "shipped" if event.type == EventType.ORDER_SHIPPED else "partially shipped"
        subject = f"Order {ref} {verb}"
        if lines:
            done = sum(1 for line in lines if line.shipped >= line.quantity)
            subject += f" ({done} of {len(lines)} lines)"
        if data.get("tracking_number"):
            subject += f", tracking {(data.get('carrier') or '').strip()} {data['tracking_number']}".replace(
                "  ", " "
            )
        return subject
    if event.type == EventType.ORDER_CONFIRMED:
        number = f" as {order.erp_order_number}" if order.erp_order_number else ""
        return f"Order {ref} confirmed by the ERP{number}"
    if event.type == EventType.ORDER_REJECTED:
        reason = f": {data['reason']}" if data.get("reason") else ""
        return f"Order {ref} rejected by the ERP{reason}"
    return f"Order {ref} {ORDER_STATUS[event.type].label.lower()}"


def _shipment_lines(data: dict[str, Any]) -> list[dict[str, Any]]:
    """What the shipment carried: as the event lists it, or else what the lines say shipped."""
    for key in ("shipped_lines", "shipment_lines"):
        if data.get(key):
            return data[key]
    return [
        {"sku": line["sku"], "quantity": line["shipped"]} for line in data.get("lines", []) if line["shipped"]
    ]


def _record_shipment(order: ErpOrder, event: ErpEvent, data: dict[str, Any]) -> Shipment | None:
    """Insert the shipment once (a fact that a later event cannot make untrue)."""
    number = data.get("shipment_number")
    if not number:
        return None
    shipment = Shipment.objects.filter(number=number).first()
    if shipment is not None:
        if shipment.order_id != order.pk:
            raise Rejected(f"Shipment {number} belongs to another order.")
        return shipment
    shipment = Shipment.objects.create(
        number=number,
        order=order,
        carrier=data.get("carrier") or "",
        tracking_number=data.get("tracking_number") or "",
        shipped_on=data.get("shipped_on") or event.occurred_at.date(),
        erp_version=event.version,
    )
    ShipmentLine.objects.bulk_create(
        ShipmentLine(shipment=shipment, line_no=n, sku=line["sku"], quantity=line["quantity"])
        for n, line in enumerate(_shipment_lines(data), start=1)
    )
    return shipment


def apply_order(event: ErpEvent, *, stale: bool) -> Outcome:
    """order.confirmed / rejected / partially_shipped / shipped / delivered / cancelled.

    data: {order_ref, erp_order_number, customer_ref, status, currency?, lines: [{sku,
    quantity, shipped, unit_price?}]}; shipping events add {shipment_number, carrier,
    tracking_number, shipped_lines?: [{sku, quantity}], shipped_on?}; delivered may add
    delivered_on. An event without a currency keeps the one known; the lines'
    prices (net, in that currency) come with the lines.
    A stale event still records its status in the history and its shipment if unknown
    (facts, not state), but changes neither the current status nor the lines.
    """
    data = _valid(OrderData, event)
    if event.type in SHIPPING and not data.get("shipment_number"):
        raise Rejected("Invalid data: shipment_number: A shipping event needs the shipment number.")
    customer = _customer(data["customer_ref"])
    status = ORDER_STATUS[event.type]
    number = data.get("erp_order_number") or None
    order = ErpOrder.objects.select_for_update().filter(order_ref=data["order_ref"]).first()
    if order is not None and order.customer_id != customer.pk:
        raise Rejected(f"Order {order.order_ref} belongs to customer {order.customer_id}, not {customer.pk}.")
    if (
        number
        and ErpOrder.objects.filter(erp_order_number=number).exclude(order_ref=data["order_ref"]).exists()
    ):
        raise Rejected(f"ERP order number {number} is already used by another order.")
    if order is None and stale:
        return STALE
    newer = order is None or (not stale and event.version > order.erp_version)
    if order is None:
        order = ErpOrder.objects.create(
            order_ref=data["order_ref"],
            erp_order_number=number,
            customer=customer,
            status=status,
            status_changed_at=event.occurred_at,
            currency=data.get("currency") or "",
            erp_version=event.version,
        )
    elif newer:
        order.status = status
        order.erp_order_number = number or order.erp_order_number
        order.status_changed_at = event.occurred_at
        order.currency = data.get("currency") or order.currency
        order.erp_version = event.version
        order.save(
            update_fields=[
                "status",
                "erp_order_number",
                "status_changed_at",
                "currency",
                "erp_version",
                "updated_at",
            ]
        )
    ErpOrderStatusChange.objects.get_or_create(
        order=order,
        erp_version=event.version,
        defaults={"status": status, "occurred_at": event.occurred_at},
    )
    shipment = _record_shipment(order, event, data)
    if not newer:
        return STALE
    if "lines" in data:
        order.lines.all().delete()
        ErpOrderLine.objects.bulk_create(
            ErpOrderLine(
                order=order,
                line_no=n,
                sku=line["sku"],
                quantity=line["quantity"],
                shipped=line["shipped"],
                unit_price=line["unit_price"],
            )
            for n, line in enumerate(data["lines"], start=1)
        )
    lines = list(order.lines.all())
    if event.type == EventType.ORDER_DELIVERED:
        delivered_on = data.get("delivered_on") or event.occurred_at.date()
        shipments = order.shipments.filter(delivered_on__isnull=True)
        if data.get("shipment_number"):
            shipments = shipments.filter(number=data["shipment_number"])
        shipments.update(delivered_on=delivered_on)
    kind = ErpActivityKind.SHIPMENT if shipment is not None else ErpActivityKind.ERP_ORDER
    _record(
        customer.pk,
        kind,
        _order_subject(order, event, data, lines),
        event,
        shipment or order,
        order_ref=order.order_ref,
        status=status,
    )
    payload = {
        "order_ref": order.order_ref,
        "erp_order_number": order.erp_order_number,
        "customer_id": customer.pk,
        "status": str(status),
        "erp_event_id": event.id,
        "occurred_at": event.occurred_at.isoformat(),
    }
    if shipment is not None:
        payload.update(
            shipment_number=shipment.number,
            carrier=shipment.carrier,
            tracking_number=shipment.tracking_number,
            lines=[{"sku": line.sku, "quantity": line.quantity, "shipped": line.shipped} for line in lines],
        )
    if event.type == EventType.ORDER_REJECTED:
        payload["reason"] = data.get("reason") or ""
    return Outcome(publish=[(str(event.type), payload)])


# --- invoices, payments, balance ---------------------------------------------------------


def _settle(invoice: Invoice) -> None:
    """Recompute what was paid and credited, and the status that follows (paid once covered)."""
    invoice.amount_paid = invoice.payments.aggregate(total=Sum("amount"))["total"] or Decimal(0)
    invoice.amount_credited = invoice.credit_notes.aggregate(total=Sum("amount"))["total"] or Decimal(0)
    if invoice.amount_paid + invoice.amount_credited >= invoice.amount:
        invoice.status = InvoiceStatus.PAID
    elif invoice.status == InvoiceStatus.PAID:
        invoice.status = InvoiceStatus.OPEN
    invoice.save()


def balance_recompute(*, customer_id: int, currency: str) -> CustomerBalance:
    """Rewrite the customer's balance in `currency` from their invoices (in the caller's
    transaction). Folds the extra rows a merge may have left into one."""
    money = DecimalField(max_digits=14, decimal_places=2)
    outstanding = F("amount") - F("amount_paid") - F("amount_credited")
    totals = Invoice.objects.filter(
        customer_id=customer_id, currency=currency, status__in=[InvoiceStatus.OPEN, InvoiceStatus.OVERDUE]
    ).aggregate(
        open=Coalesce(Sum(outstanding, output_field=money), Decimal(0), output_field=money),
        overdue=Coalesce(
            Sum(outstanding, filter=Q(status=InvoiceStatus.OVERDUE), output_field=money),
            Decimal(0),
            output_field=money,
        ),
        count=Count("id"),
    )
    CustomerBalance.objects.filter(customer_id=customer_id, currency=currency).delete()
    return CustomerBalance.objects.create(
        customer_id=customer_id,
        currency=currency,
        open_amount=max(totals["open"], Decimal(0)).quantize(CENT),
        overdue_amount=max(totals["overdue"], Decimal(0)).quantize(CENT),
        open_invoices=totals["count"],
    )


def _balance_payload(balance: CustomerBalance) -> dict[str, Any]:
    return {
        "currency": balance.currency,
        "open_amount": f"{balance.open_amount:.2f}",
        "overdue_amount": f"{balance.overdue_amount:.2f}",
        "overdue": balance.is_overdue,
    }


def _bump(row: Any, event: ErpEvent, aggregate: str) -> None:
    if event.aggregate == aggregate and event.version > row.erp_version:
        row.erp_version = event.version


def apply_invoice_issued(event: ErpEvent, *, stale: bool) -> Outcome:
    """invoice.issued: {number, order_ref, customer_ref, amount, currency, issued_on, due_on}.
    Payments and credit notes that arrived before their invoice are attached to it now.
    Compared with the invoice row's version, not the aggregate's: a payment (a later
    version of the same aggregate) may have overtaken it."""
    data = _valid(InvoiceData, event)
    customer = _customer(data["customer_ref"])
    invoice = Invoice.objects.select_for_update().filter(number=data["number"]).first()
    if invoice is not None:
        if invoice.customer_id != customer.pk:
            raise Rejected(
                f"Invoice {invoice.number} belongs to customer {invoice.customer_id}, not {customer.pk}."
            )
        if invoice.erp_version >= event.version:
            return STALE
    old_currency = invoice.currency if invoice is not None else None
    invoice = invoice or Invoice(number=data["number"], customer=customer)
    invoice.order_ref = data.get("order_ref") or ""
    invoice.amount = data["amount"]
    invoice.currency = data["currency"]
    invoice.issued_on = data["issued_on"]
    invoice.due_on = data["due_on"]
    invoice.erp_version = event.version
    invoice.save()
    for early in (Payment, CreditNote):
        early.objects.filter(invoice__isnull=True, invoice_number=invoice.number, customer=customer).update(
            invoice=invoice
        )
    _settle(invoice)
    balance = balance_recompute(customer_id=customer.pk, currency=invoice.currency)
    if old_currency and old_currency != invoice.currency:
        balance_recompute(customer_id=customer.pk, currency=old_currency)
    subject = f"Invoice {invoice.number} issued: {_money_text(invoice.amount, invoice.currency)}, due {invoice.due_on:%Y-%m-%d}"
    _record(customer.pk, ErpActivityKind.INVOICE, subject, event, invoice, invoice_number=invoice.number)
    return Outcome(
        publish=[
            (
                "invoice.issued",
                {
                    "invoice_number": invoice.number,
                    "order_ref": invoice.order_ref,
                    "customer_id": customer.pk,
                    "amount": str(invoice.amount),
                    "currency": invoice.currency,
                    "issued_on": invoice.issued_on.isoformat(),
                    "due_on": invoice.due_on.isoformat(),
                    "status": invoice.status,
                    "balance": _balance_payload(balance),
                    "erp_event_id": event.id,
                },
            )
        ]
    )


def apply_payment_received(event: ErpEvent, *, stale: bool) -> Outcome:
    """payment.received: {reference, invoice_number, customer_ref, amount, currency,
    received_on}. A payment for an invoice not mirrored yet is kept and attached when
    the invoice arrives; the payment's reference makes it count once."""
    data = _valid(PaymentData, event)
    customer = _customer(data["customer_ref"])
    invoice = Invoice.objects.select_for_update().filter(number=data["invoice_number"]).first()
    if invoice is not None:
        if invoice.customer_id != customer.pk:
            raise Rejected(
                f"Invoice {invoice.number} belongs to customer {invoice.customer_id}, not {customer.pk}."
            )
        if invoice.currency != data["currency"]:
            raise Rejected(
                f"Payment in {data['currency']} for invoice {invoice.number} in {invoice.currency}."
            )
    if Payment.objects.filter(reference=data["reference"]).exists():
        return STALE  # the same payment under another event id: applied already
    payment = Payment.objects.create(
        reference=data["reference"],
        invoice=invoice,
        invoice_number=data["invoice_number"],
        customer=customer,
        amount=data["amount"],
        currency=data["currency"],
        received_on=data["received_on"],
        erp_version=event.version,
    )
    balance = None
    if invoice is not None:
        _bump(invoice, event, f"invoice:{invoice.number}")
        _settle(invoice)
        balance = balance_recompute(customer_id=customer.pk, currency=invoice.currency)
    subject = f"Payment of {_money_text(payment.amount, payment.currency)} received for invoice {payment.invoice_number}"
    _record(
        customer.pk, ErpActivityKind.PAYMENT, subject, event, payment, invoice_number=payment.invoice_number
    )
    return Outcome(
        publish=[
            (
                "payment.received",
                {
                    "reference": payment.reference,
                    "invoice_number": payment.invoice_number,
                    "customer_id": customer.pk,
                    "amount": str(payment.amount),
                    "currency": payment.currency,
                    "received_on": payment.received_on.isoformat(),
                    "invoice_status": invoice.status if invoice is not None else None,
                    "balance": _balance_payload(balance) if balance is not None else None,
                    "erp_event_id": event.id,
                },
            )
        ]
    )


def apply_payment_overdue(event: ErpEvent, *, stale: bool) -> Outcome:
    """payment.overdue: {invoice_number, customer_ref, amount_due}. Waits for its
    invoice; one already paid stays paid (the notice crossed the payment)."""
    data = _valid(OverdueData, event)
    customer = _customer(data["customer_ref"])
    invoice = Invoice.objects.select_for_update().filter(number=data["invoice_number"]).first()
    if invoice is None:
        raise Deferred(f"Waiting for invoice {data['invoice_number']}: no invoice mirror yet.")
    if invoice.customer_id != customer.pk:
        raise Rejected(
            f"Invoice {invoice.number} belongs to customer {invoice.customer_id}, not {customer.pk}."
        )
    if invoice.status == InvoiceStatus.PAID or (
        event.aggregate == f"invoice:{invoice.number}" and invoice.erp_version >= event.version
    ):
        return STALE
    invoice.status = InvoiceStatus.OVERDUE
    _bump(invoice, event, f"invoice:{invoice.number}")
    invoice.save(update_fields=["status", "erp_version", "updated_at"])
    balance = balance_recompute(customer_id=customer.pk, currency=invoice.currency)
    due = data.get("amount_due")
    if due is None:
        due = invoice.amount_open
    subject = f"Invoice {invoice.number} is overdue: {_money_text(due, invoice.currency)} due since {invoice.due_on:%Y-%m-%d}"
    _record(customer.pk, ErpActivityKind.INVOICE, subject, event, invoice, invoice_number=invoice.number)
    return Outcome(
        publish=[
            (
                "payment.overdue",
                {
                    "invoice_number": invoice.number,
                    "customer_id": customer.pk,
                    "amount_due": str(due),
                    "currency": invoice.currency,
                    "due_on": invoice.due_on.isoformat(),
                    "balance": _balance_payload(balance),
                    "erp_event_id": event.id,
                },
            )
        ]
    )


def apply_credit_note(event: ErpEvent, *, stale: bool) -> Outcome:
    """credit_note.issued: {number, credit_ref, customer_ref, invoice_number|None, amount,
    currency, reason, issued_on}. A credit note against an invoice reduces what is open."""
    if stale:
        return STALE
    data = _valid(CreditNoteData, event)
    customer = _customer(data["customer_ref"])
    invoice_number = data.get("invoice_number") or ""
    invoice = None
    if invoice_number:
        invoice = Invoice.objects.select_for_update().filter(number=invoice_number).first()
    if invoice is not None:
        if invoice.customer_id != customer.pk:
            raise Rejected(
                f"Invoice {invoice.number} belongs to customer {invoice.customer_id}, not {customer.pk}."
            )
        if invoice.currency != data["currency"]:
            raise Rejected(
                f"Credit in {data['currency']} for invoice {invoice.number} in {invoice.currency}."
            )
    if CreditNote.objects.filter(number=data["number"]).exists():
        return STALE  # the same credit note under another event id: applied already
    note = CreditNote.objects.create(
        number=data["number"],
        credit_ref=data.get("credit_ref") or "",
        customer=customer,
        invoice=invoice,
        invoice_number=invoice_number,
        amount=data["amount"],
        currency=data["currency"],
        issued_on=data.get("issued_on") or event.occurred_at.date(),
        reason=data.get("reason") or "",
        erp_version=event.version,
    )
    balance = None
    if invoice is not None:
        _settle(invoice)
        balance = balance_recompute(customer_id=customer.pk, currency=invoice.currency)
    subject = f"Credit note {note.number} issued: {_money_text(note.amount, note.currency)}"
    if invoice_number:
        subject += f" against invoice {invoice_number}"
    _record(customer.pk, ErpActivityKind.INVOICE, subject, event, note, invoice_number=invoice_number)
    return Outcome(
        publish=[
            (
                "credit_note.issued",
                {
                    "number": note.number,
                    "credit_ref": note.credit_ref,
                    "invoice_number": invoice_number,
                    "customer_id": customer.pk,
                    "amount": str(note.amount),
                    "currency": note.currency,
                    "balance": _balance_payload(balance) if balance is not None else None,
                    "erp_event_id": event.id,
                },
            )
        ]
    )


# --- catalogue and stock -------------------------------------------------------------------


def apply_stock_changed(event: ErpEvent, *, stale: bool) -> Outcome:
    """stock.changed: {sku, warehouse, on_hand, reserved, incoming: [{quantity,
    expected_on}]}. Stock of a SKU without a product mirror waits for the product,
    then is rejected."""
    if stale:
        return STALE
    data = _valid(StockData, event)
    product = Product.objects.filter(sku=data["sku"]).first()
    if product is None:
        # Its product.changed may be right behind it in a reordered batch: wait for it;
        # the inbox rejects the event for inspection once the attempts are used up.
        raise Deferred(f"Unknown SKU {data['sku']}: no product mirror.")
    level = (
        StockLevel.objects.select_for_update().filter(product=product, warehouse=data["warehouse"]).first()
    )
    if level is not None and level.erp_version >= event.version:
        return STALE
    level = level or StockLevel(product=product, warehouse=data["warehouse"])
    level.on_hand = data["on_hand"]
    level.reserved = data["reserved"]
    level.erp_version = event.version
    level.save()
    level.incoming.all().delete()
    incoming = data.get("incoming", [])
    IncomingStock.objects.bulk_create(
        IncomingStock(stock_level=level, quantity=item["quantity"], expected_on=item["expected_on"])
        for item in incoming
    )
    return Outcome(
        publish=[
            (
                "stock.changed",
                {
                    "sku": product.sku,
                    "warehouse": level.warehouse,
                    "on_hand": level.on_hand,
                    "reserved": level.reserved,
                    "free": level.free,
                    "incoming": [
                        {"quantity": item["quantity"], "expected_on": item["expected_on"].isoformat()}
                        for item in incoming
                    ],
                    "erp_event_id": event.id,
                },
            )
        ]
    )


def apply_product_changed(event: ErpEvent, *, stale: bool) -> Outcome:
    """product.changed: {sku, name, unit_price, currency, lead_time_days, active}."""
    if stale:
        return STALE
    data = _valid(ProductData, event)
    product = Product.objects.select_for_update().filter(sku=data["sku"]).first()
    if product is not None and product.erp_version >= event.version:
        return STALE
    product = product or Product(sku=data["sku"])
    for name in ("name", "unit_price", "currency", "lead_time_days", "active"):
        setattr(product, name, data[name])
    product.erp_version = event.version
    product.save()
    return Outcome(
        publish=[
            (
                "product.changed",
                {
                    "sku": product.sku,
                    "name": product.name,
                    "unit_price": str(product.unit_price),
                    "currency": product.currency,
                    "lead_time_days": product.lead_time_days,
                    "active": product.active,
                    "erp_event_id": event.id,
                },
            )
        ]
    )


def apply_customer_changed(event: ErpEvent, *, stale: bool) -> Outcome:
    """customer.changed: {customer_ref, erp_customer_number}: the ERP's number for the
    customer, written through the customer profile's own service."""
    if stale:
        return STALE
    data = _valid(CustomerData, event)
    customer = _customer(data["customer_ref"])
    number = data.get("erp_customer_number") or None
    if customer.erp_customer_number == number:
        return Outcome()
    try:
        customer_update(
            actor=ERP_SYNC, customer_id=customer.pk, expected_version=None, erp_customer_number=number
        )
    except ValidationError as exc:
        raise Rejected("; ".join(exc.messages)[:1000]) from None
    subject = f"ERP customer number set to {number}" if number else "ERP customer number removed"
    _record(customer.pk, ActivityKind.PROFILE, subject, event, customer)
    return Outcome(
        publish=[
            (
                "customer.changed",
                {"customer_id": customer.pk, "erp_customer_number": number, "erp_event_id": event.id},
            )
        ]
    )


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
