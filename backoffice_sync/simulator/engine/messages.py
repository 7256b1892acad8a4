"""What each message kind does to the ERP, and the answer kept per idempotency key."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction

from backoffice_sync.contracts import (
    Answer,
    CreditNoteAnswer,
    CreditNoteIssuedData,
    ForecastAnswer,
    ForecastLine,
    OrderAnswer,
)
from backoffice_sync.erp import DeliveryResult, DeliveryStatus, EventType, MessageKind, OutboundMessage
from backoffice_sync.simulator.engine.accounts import (
    CUSTOMER_NUMBER_LENGTH,
    customer_for,
    customer_merge,
    customer_upsert,
)
from backoffice_sync.simulator.engine.change_log import emit, order_changed
from backoffice_sync.simulator.engine.checks import (
    active_products,
    check_currency,
    check_decimal,
    check_lines,
    check_quantity,
    check_text,
    optional_date,
    optional_object,
)
from backoffice_sync.simulator.engine.fulfilment import order_lines, release
from backoffice_sync.simulator.engine.rules import SHIPPED_STATUSES, Rejected, money, next_number
from backoffice_sync.simulator.models import (
    SimCreditNote,
    SimCustomer,
    SimDelivery,
    SimForecast,
    SimInvoice,
    SimInvoiceStatus,
    SimOrder,
    SimOrderLine,
    SimOrderStatus,
    SimProduct,
    SimState,
)

_MONTH = re.compile(r"\d{4}-(0[1-9]|1[0-2])")


@dataclass(frozen=True)
class Submit:
    """An order.submit payload that passed the checks needing no database."""

    order_ref: str
    customer_ref: str
    currency: str
    requested_date: dt.date | None
    ship_to: dict[str, Any] | None
    lines: tuple[tuple[int, str, int, Decimal], ...]  # (line_no, sku, quantity, unit_price)
    erp_customer_number: str = ""  # numbers the customer if the ERP does not know it yet

    @property
    def skus(self) -> set[str]:
        return {sku for _, sku, _, _ in self.lines}


def parse_submit(payload: Mapping[str, Any]) -> Submit:
    """Checks an order.submit payload's shape; raises Rejected with the reason."""
    order_ref = check_text(payload, "order_ref")
    customer_ref = check_text(payload, "customer_ref")
    erp_customer_number = check_text(payload, "erp_customer_number", max_length=40, required=False)
    if len(erp_customer_number) > CUSTOMER_NUMBER_LENGTH:
        erp_customer_number = ""  # not one of this ERP's numbers: it numbers the account itself
    currency = check_currency(payload)
    requested_date = optional_date(payload, "requested_date")
    ship_to = optional_object(payload, "ship_to")
    parsed = []
    seen: set[int] = set()
    for index, line in enumerate(check_lines(payload), start=1):
        line_no = line.get("line_no", index)
        if isinstance(line_no, bool) or not isinstance(line_no, int) or line_no <= 0 or line_no in seen:
            raise Rejected(f"line {index}: line_no must be a positive integer, unique in the order")
        seen.add(line_no)
        sku = check_text(line, "sku", max_length=64)
        parsed.append(
            (
                line_no,
                sku,
                check_quantity(line.get("quantity"), f"line {line_no}: quantity"),
                check_decimal(line.get("unit_price"), f"line {line_no}: unit_price", positive=False),
            )
        )
    return Submit(
        order_ref, customer_ref, currency, requested_date, ship_to, tuple(parsed), erp_customer_number
    )


def already_submitted(order_ref: str, number: str) -> Rejected:
    return Rejected(f"order {order_ref} was already submitted (ERP order {number})")


def new_order(state: SimState, submit: Submit, customer: SimCustomer) -> SimOrder:
    return SimOrder(
        order_ref=submit.order_ref,
        number=next_number(state, "order", "SO"),
        customer=customer,
        currency=submit.currency,
        requested_date=submit.requested_date,
        ship_to=submit.ship_to,
        received_at=state.now,
    )


def new_lines(order: SimOrder, submit: Submit, products: dict[str, SimProduct]) -> list[SimOrderLine]:
    return [
        SimOrderLine(order=order, line_no=line_no, product=products[sku], quantity=quantity, unit_price=price)
        for line_no, sku, quantity, price in submit.lines
    ]


def submitted(order: SimOrder) -> OrderAnswer:
    return {"erp_order_number": order.number, "status": str(order.status)}


def _order_submit(state: SimState, payload: Mapping[str, Any]) -> OrderAnswer:
    submit = parse_submit(payload)
    existing = SimOrder.objects.filter(order_ref=submit.order_ref).first()
    if existing is not None:
        raise already_submitted(submit.order_ref, existing.number)
    products = active_products(submit.skus)
    customer = customer_for(state, submit.customer_ref, number=submit.erp_customer_number)
    order = new_order(state, submit, customer)
    order.save(force_insert=True)
    SimOrderLine.objects.bulk_create(new_lines(order, submit, products))
    return submitted(order)


def _order_cancel(state: SimState, payload: Mapping[str, Any]) -> OrderAnswer:
    order_ref = check_text(payload, "order_ref")
    reason = check_text(payload, "reason", max_length=2000, required=False)
    order = (
        SimOrder.objects.select_for_update().select_related("customer").filter(order_ref=order_ref).first()
    )
    if order is None:
        raise Rejected(f"order {order_ref} was never submitted: nothing to cancel")
    if order.status in SHIPPED_STATUSES:
        raise Rejected(f"order {order_ref} is already shipped ({order.status}): it cannot be cancelled")
    if order.status == SimOrderStatus.REJECTED:
        raise Rejected(f"order {order_ref} was rejected by the ERP: nothing to cancel")
    if order.status != SimOrderStatus.CANCELLED:
        lines = order_lines(order)
        release(state, lines)
        order.status = SimOrderStatus.CANCELLED
        order.reason = reason
        order_changed(state, order, lines, EventType.ORDER_CANCELLED, reason=reason)
    return {"erp_order_number": order.number, "status": str(order.status)}


def _credit_note_issue(state: SimState, payload: Mapping[str, Any]) -> CreditNoteAnswer:
    credit_ref = check_text(payload, "credit_ref")
    customer_ref = check_text(payload, "customer_ref")
    invoice_number = check_text(payload, "invoice_number", max_length=20, required=False)
    amount = check_decimal(payload.get("amount"), "amount", positive=True)
    currency = check_currency(payload)
    reason = check_text(payload, "reason", max_length=2000, required=False)
    existing = SimCreditNote.objects.filter(credit_ref=credit_ref).first()
    if existing is not None:
        raise Rejected(f"credit {credit_ref} was already issued as {existing.number}")
    invoice = None
    if invoice_number:
        invoice = (
            SimInvoice.objects.select_for_update()
            .select_related("customer")
            .filter(number=invoice_number)
            .first()
        )
        if invoice is None:
            raise Rejected(f"unknown invoice {invoice_number}")
        if invoice.customer.customer_ref != customer_ref:
            raise Rejected(f"invoice {invoice_number} belongs to another customer")
        if invoice.currency != currency:
            raise Rejected(f"invoice {invoice_number} is in {invoice.currency}, not {currency}")
        if invoice.credited + amount > invoice.amount:
            raise Rejected(
                f"credits would exceed invoice {invoice_number}'s amount of {money(invoice.amount)}"
            )
    customer = customer_for(state, customer_ref)
    note = SimCreditNote.objects.create(
        credit_ref=credit_ref,
        number=next_number(state, "credit_note", "CN"),
        customer=customer,
        invoice=invoice,
        amount=amount,
        currency=currency,
        reason=reason,
        issued_on=state.now.date(),
    )
    if invoice is not None:
        invoice.credited += amount
        if invoice.status == SimInvoiceStatus.OPEN and invoice.credited >= invoice.amount:
            invoice.status = SimInvoiceStatus.SETTLED
        invoice.save(update_fields=["credited", "status", "updated_at"])
    data: CreditNoteIssuedData = {
        "number": note.number,
        "credit_ref": credit_ref,
        "customer_ref": customer_ref,
        "invoice_number": invoice_number or None,
        "amount": money(amount),
        "currency": currency,
        "reason": reason,
        "issued_on": note.issued_on.isoformat(),
    }
    emit(
        state, type=EventType.CREDIT_NOTE_ISSUED, aggregate=f"credit_note:{note.number}", version=1, data=data
    )
    return {"credit_note_number": note.number}


def _forecast_publish(state: SimState, payload: Mapping[str, Any]) -> ForecastAnswer:
    forecast_ref = check_text(payload, "forecast_ref")
    currency = check_currency(payload)
    lines = payload.get("lines")
    if (
        not isinstance(lines, list)
        or len(lines) > 10_000
        or not all(isinstance(line, dict) for line in lines)
    ):
        raise Rejected("lines must be a list of objects")
    clean: list[ForecastLine] = []
    for index, line in enumerate(lines, start=1):
        month = line.get("month")
        if not isinstance(month, str) or not _MONTH.fullmatch(month):
            raise Rejected(f"line {index}: month must be YYYY-MM")
        quantity = line.get("quantity")
        if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 0:
            raise Rejected(f"line {index}: quantity must be an integer, zero or more")
        clean.append(
            {
                "month": month,
                "sku": check_text(line, "sku", max_length=64),
                "quantity": quantity,
                "amount": money(check_decimal(line.get("amount"), f"line {index}: amount", positive=False)),
            }
        )
    known = set(
        SimProduct.objects.filter(sku__in={line["sku"] for line in clean}).values_list("sku", flat=True)
    )
    for line in clean:
        if line["sku"] not in known:
            raise Rejected(f"unknown SKU {line['sku']}")
    SimForecast.objects.update_or_create(
        forecast_ref=forecast_ref, defaults={"currency": currency, "lines": clean}
    )
    return {"lines": len(clean)}


_HANDLERS: dict[MessageKind, Callable[[SimState, Mapping[str, Any]], Answer]] = {
    MessageKind.ORDER_SUBMIT: _order_submit,
    MessageKind.ORDER_CANCEL: _order_cancel,
    MessageKind.CREDIT_NOTE_ISSUE: _credit_note_issue,
    MessageKind.CUSTOMER_UPSERT: customer_upsert,
    MessageKind.CUSTOMER_MERGE: customer_merge,
    MessageKind.FORECAST_PUBLISH: _forecast_publish,
}


def answer(row: SimDelivery, *, again: bool) -> DeliveryResult:
    """The result for a remembered key: DUPLICATE when it was applied, the same rejection when not."""
    if row.status == DeliveryStatus.ACCEPTED:
        status = DeliveryStatus.DUPLICATE if again else DeliveryStatus.ACCEPTED
        return DeliveryResult(row.idempotency_key, status, data=row.data)
    return DeliveryResult(row.idempotency_key, DeliveryStatus.REJECTED, error=row.error)


def valid_key(key: Any) -> bool:
    return isinstance(key, str) and 0 < len(key) <= 200


def bad_key(key: Any) -> DeliveryResult:
    return DeliveryResult(
        str(key)[:200], DeliveryStatus.REJECTED, error="idempotency_key must be 1-200 characters"
    )


def deliver_one(state: SimState, message: OutboundMessage) -> DeliveryResult:
    key = message.idempotency_key
    if not valid_key(key):
        return bad_key(key)
    existing = SimDelivery.objects.filter(idempotency_key=key).first()
    if existing is not None:
        return answer(existing, again=True)
    try:
        with transaction.atomic():
            row = SimDelivery.objects.create(
                idempotency_key=key,
                kind=str(message.kind)[:40],
                aggregate=str(message.aggregate)[:200],
                status="pending",
            )
    except IntegrityError:
        # A concurrent caller claimed this key first and has committed: it was applied there.
        return answer(SimDelivery.objects.get(idempotency_key=key), again=True)
    counters = dict(state.counters)
    try:
        try:
            kind = MessageKind(message.kind)
        except ValueError:
            raise Rejected(f"unknown message kind {message.kind!r}") from None
        if not isinstance(message.payload, dict):
            raise Rejected("payload must be an object")
        with transaction.atomic():
            row.data = _HANDLERS[kind](state, message.payload)
        row.status = DeliveryStatus.ACCEPTED
    except Rejected as exc:
        state.counters = counters
        row.status, row.error, row.data = DeliveryStatus.REJECTED, str(exc), {}
    row.save(update_fields=["status", "error", "data", "updated_at"])
    return answer(row, again=False)
