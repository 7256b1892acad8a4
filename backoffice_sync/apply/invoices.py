"""invoice.issued, payment.received, payment.overdue, credit_note.issued: the invoice
mirror, what was paid and credited against it, and the customer's balance."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db.models import Count, DecimalField, F, Q, Sum
from django.db.models.functions import Coalesce

from backoffice_sync.apply.rules import (
    CENT,
    STALE,
    Deferred,
    Outcome,
    Rejected,
    live_customer,
    money_text,
    record_on_timeline,
    valid_data,
)
from backoffice_sync.apply.shapes import CreditNoteData, InvoiceData, OverdueData, PaymentData
from backoffice_sync.choices import ErpActivityKind
from backoffice_sync.erp import ErpEvent
from backoffice_sync.events import InvoiceOverdue, PaymentReceived
from backoffice_sync.models import CreditNote, CustomerBalance, Invoice, InvoiceStatus, Payment


def settle(invoice: Invoice) -> None:
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
    money: DecimalField[Decimal, Decimal] = DecimalField(max_digits=14, decimal_places=2)
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


def _bump(row: Any, event: ErpEvent, aggregate: str) -> None:
    if event.aggregate == aggregate and event.version > row.erp_version:
        row.erp_version = event.version


def apply_invoice_issued(event: ErpEvent, *, stale: bool) -> Outcome:
    """invoice.issued: {number, order_ref, customer_ref, amount, currency, issued_on, due_on}.
    Payments and credit notes that arrived before their invoice are attached to it now.
    Compared with the invoice row's version, not the aggregate's: a payment (a later
    version of the same aggregate) may have overtaken it."""
    data = valid_data(InvoiceData, event)
    customer = live_customer(data["customer_ref"])
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
    settle(invoice)
    balance_recompute(customer_id=customer.pk, currency=invoice.currency)
    if old_currency and old_currency != invoice.currency:
        balance_recompute(customer_id=customer.pk, currency=old_currency)
    subject = f"Invoice {invoice.number} issued: {money_text(invoice.amount, invoice.currency)}, due {invoice.due_on:%Y-%m-%d}"
    record_on_timeline(
        customer.pk, ErpActivityKind.INVOICE, subject, event, invoice, invoice_number=invoice.number
    )
    return Outcome()


def apply_payment_received(event: ErpEvent, *, stale: bool) -> Outcome:
    """payment.received: {reference, invoice_number, customer_ref, amount, currency,
    received_on}. A payment for an invoice not mirrored yet is kept and attached when
    the invoice arrives; the payment's reference makes it count once."""
    data = valid_data(PaymentData, event)
    customer = live_customer(data["customer_ref"])
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
    if invoice is not None:
        _bump(invoice, event, f"invoice:{invoice.number}")
        settle(invoice)
        balance_recompute(customer_id=customer.pk, currency=invoice.currency)
    subject = f"Payment of {money_text(payment.amount, payment.currency)} received for invoice {payment.invoice_number}"
    record_on_timeline(
        customer.pk, ErpActivityKind.PAYMENT, subject, event, payment, invoice_number=payment.invoice_number
    )
    return Outcome(
        publish=[
            PaymentReceived(
                customer_id=customer.pk,
                reference=payment.reference,
                invoice_number=payment.invoice_number,
                amount=payment.amount,
                currency=payment.currency,
                received_on=payment.received_on,
                invoice_paid=invoice is not None and invoice.status == InvoiceStatus.PAID,
                occurred_at=event.occurred_at,
                erp_event_id=event.id,
            )
        ]
    )


def apply_payment_overdue(event: ErpEvent, *, stale: bool) -> Outcome:
    """payment.overdue: {invoice_number, customer_ref, amount_due}. Waits for its
    invoice; one already paid stays paid (the notice crossed the payment)."""
    data = valid_data(OverdueData, event)
    customer = live_customer(data["customer_ref"])
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
    balance_recompute(customer_id=customer.pk, currency=invoice.currency)
    due = data.get("amount_due")
    if due is None:
        due = invoice.amount_open
    subject = f"Invoice {invoice.number} is overdue: {money_text(due, invoice.currency)} due since {invoice.due_on:%Y-%m-%d}"
    record_on_timeline(
        customer.pk, ErpActivityKind.INVOICE, subject, event, invoice, invoice_number=invoice.number
    )
    return Outcome(
        publish=[
            InvoiceOverdue(
                customer_id=customer.pk,
                invoice_number=invoice.number,
                amount_due=due,
                currency=invoice.currency,
                due_on=invoice.due_on,
                occurred_at=event.occurred_at,
                erp_event_id=event.id,
            )
        ]
    )


def apply_credit_note(event: ErpEvent, *, stale: bool) -> Outcome:
    """credit_note.issued: {number, credit_ref, customer_ref, invoice_number|None, amount,
    currency, reason, issued_on}. A credit note against an invoice reduces what is open."""
    if stale:
        return STALE
    data = valid_data(CreditNoteData, event)
    customer = live_customer(data["customer_ref"])
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
    if invoice is not None:
        settle(invoice)
        balance_recompute(customer_id=customer.pk, currency=invoice.currency)
    subject = f"Credit note {note.number} issued: {money_text(note.amount, note.currency)}"
    if invoice_number:
        subject += f" against invoice {invoice_number}"
    record_on_timeline(
        customer.pk, ErpActivityKind.INVOICE, subject, event, note, invoice_number=invoice_number
    )
    return Outcome()
