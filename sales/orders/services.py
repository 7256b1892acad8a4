"""Every write to sales orders: accepting a quote (which places the order and submits it
to the ERP through the outbox, in one transaction) and requesting its cancellation.

- Only a sent, unexpired, latest revision is accepted, by a rep who may edit its
  opportunity (or a sales manager or an Admin). The quote row is locked (`select_for_update`) and the order
  has a OneToOne to its quote: two reps accepting at once make exactly one order.
- The quote's delivery promise was made when it was sent, maybe weeks ago: accepting asks
  the back office again (available-to-promise for the lines, live). The order keeps the
  promise when the back office can still keep it; otherwise 409 (`delivery_date_not_met`,
  naming the earliest date now), unless the customer accepts the later date
  (`accept_later_delivery`): the order then promises that date and the timeline says the
  promise moved. An order never carries a promise made in the past.
- The ERP's view of the order (confirmed, shipped, delivered, cancelled) comes back
  through the inbox into the mirrors; nothing here writes it.
- Cancelling goes through the outbox on the order's aggregate (so it never overtakes the
  submit), and is refused once the mirror says the order (partly) shipped.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from backoffice_sync.contracts import OrderCancel, OrderSubmit
from backoffice_sync.erp import MessageKind
from backoffice_sync.models import ErpOrder, ErpOrderStatus, Product
from backoffice_sync.outbox import outbox_enqueue
from customers.models import ContactPoint
from customers.timeline import activity_record
from frontoffice.actors import Actor, user_of
from frontoffice.errors import Conflict
from frontoffice.write_path import authorize, bump_version, check_version, clean_text, lock
from sales.money import HUNDRED, cents
from sales.orders.models import SalesOrder, SalesOrderLine
from sales.pipeline.models import Opportunity
from sales.pipeline.services import can_edit_opportunity, opportunity_win_by_quote
from sales.quotes.models import Quote, QuoteLine, QuoteStatus
from sales.quotes.selectors_atp import quote_delivery
from sales.quotes.services import ANY_QUOTE
from sales.timeline import SOURCE_APP, ActivityKinds

NOT_YOURS = "You may only place or cancel orders of opportunities you or your team own."
# Once the ERP has (partly) shipped, cancelling is a return, not a cancellation.
NOT_CANCELLABLE = (
    ErpOrderStatus.PARTIALLY_SHIPPED,
    ErpOrderStatus.SHIPPED,
    ErpOrderStatus.DELIVERED,
    ErpOrderStatus.CANCELLED,
    ErpOrderStatus.REJECTED,
)


class OrderConflict(Conflict):
    code = "order_conflict"
    title = "The order cannot do that in its current state."


class PromiseNotKept(Conflict):
    """The back office can no longer deliver by the date the quote promised."""

    code = "delivery_date_not_met"
    title = "The back office can no longer deliver by the promised date."

    def __init__(
        self, *, earliest_on: dt.date, promised_on: dt.date, accepted_on: dt.date | None = None
    ) -> None:
        self.earliest_on = earliest_on
        self.promised_on = promised_on
        self.accepted_on = accepted_on
        if accepted_on is not None:
            detail = (
                f"The earliest possible delivery is now {earliest_on.isoformat()}, later than the "
                f"{accepted_on.isoformat()} the customer accepted: ask the customer again."
            )
        else:
            detail = (
                f"The quote promised delivery on {promised_on.isoformat()}; the back office can now "
                f"deliver on {earliest_on.isoformat()} at the earliest. Accept with "
                "accept_later_delivery=true if the customer accepts the later date, or revise the quote."
            )
        super().__init__(
            detail,
            errors={
                "promised_delivery_on": [f"Earliest possible now: {earliest_on.isoformat()}."],
                "accept_later_delivery": [f"Set it if the customer accepts {earliest_on.isoformat()}."],
            },
        )


def aggregate_for(order_ref: str) -> str:
    return f"order:{order_ref}"


def can_work_on_order(actor: Any, opportunity: Opportunity | Quote) -> bool:
    """A rep who may edit the opportunity (a quote's: its own), or whoever may change
    anyone's quotes (sales managers, Admin)."""
    if not actor.has_perm("sales.add_salesorder"):
        return False
    if isinstance(opportunity, Quote):
        opportunity = opportunity.opportunity
    return bool(actor.has_perm(ANY_QUOTE)) or can_edit_opportunity(actor, opportunity)


def _authorize_order_work(actor: Actor, opportunity: Opportunity) -> None:
    authorize(actor, "sales.add_salesorder", message=NOT_YOURS)
    # Two ways past the owner rule: anyone's quotes, or an opportunity the actor may edit.
    if not can_work_on_order(actor, opportunity):
        raise PermissionDenied(NOT_YOURS)


def _ship_to(customer_id: int) -> dict[str, str] | None:
    """The customer's shipping address (else the primary, else any postal address)."""
    points = ContactPoint.objects.filter(customer_id=customer_id, kind="address").order_by(
        "-is_primary", "id"
    )
    chosen = None
    for point in points:
        if point.label == "shipping":
            chosen = point
            break
        chosen = chosen or point
    if chosen is None:
        return None
    return {
        "line": chosen.value,
        "street": chosen.street,
        "postal_code": chosen.postal_code,
        "city": chosen.city,
        "region": chosen.region,
        "country": chosen.country,
    }


def _net_unit_price(line: SalesOrderLine) -> Decimal:
    """The price the ERP invoices per unit: the quoted price less the line discount."""
    return cents(line.unit_price * (HUNDRED - line.discount_percent) / HUNDRED)


def submit_payload(order: SalesOrder, lines: list[SalesOrderLine]) -> OrderSubmit:
    return {
        "order_ref": order.order_ref,
        "customer_ref": str(order.customer_id),
        # An order may reach the ERP before the customer's first upsert: the number
        # lets the ERP open the account under the number the profile already carries.
        "erp_customer_number": order.customer.erp_customer_number or None,
        "currency": order.currency,
        "requested_date": order.promised_delivery_on.isoformat() if order.promised_delivery_on else None,
        "lines": [
            {
                "line_no": line.line_no,
                "sku": line.product_id,
                "quantity": line.quantity,
                "unit_price": str(_net_unit_price(line)),
            }
            for line in lines
        ],
        "ship_to": order.ship_to,
    }


def _lock_products(lines: list[QuoteLine]) -> None:
    """Two quotes drawing on the same last units, accepted at once: the second waits here
    until the first's order (and the stock its outbox message holds) is committed, then
    its ATP sees that stock taken. Sorted, so that accepts lock in one order."""
    skus = sorted({line.product_id for line in lines})
    list(Product.objects.select_for_update().filter(sku__in=skus).order_by("sku").values_list("pk"))


def _delivery_promise(
    quote: Quote,
    lines: list[QuoteLine],
    *,
    accept_later_delivery: bool,
    accepted_delivery_on: dt.date | None,
) -> tuple[dt.date | None, dt.date | None]:
    """The order's promised date and, when it is later than the quote's, the quote's
    (the promise moved); or a 409 when the back office can no longer keep the promise and
    the customer did not accept the later date (or a later one than they accepted)."""
    delivery = quote_delivery(quote=quote, lines=lines)
    if delivery.error:
        raise OrderConflict(
            "The back office cannot promise a delivery date for this quote any more "
            f"({delivery.error.rstrip('.')}): revise the quote.",
            errors={"lines": [delivery.error]},
        )
    earliest, promised = delivery.promised_on, quote.promised_delivery_on
    if earliest is None:  # every line got a promise (no error): not reached
        raise OrderConflict("The back office gave no delivery date for this quote: revise it.")
    if promised is None:  # sent without a promise: the order makes the first one
        return earliest, None
    if earliest <= promised:
        return promised, None
    if not accept_later_delivery:
        raise PromiseNotKept(earliest_on=earliest, promised_on=promised)
    if accepted_delivery_on is not None and earliest > accepted_delivery_on:
        raise PromiseNotKept(earliest_on=earliest, promised_on=promised, accepted_on=accepted_delivery_on)
    return earliest, promised


@transaction.atomic
def quote_accept(
    *,
    actor: Actor,
    quote_id: int,
    expected_version: int | None,
    accept_later_delivery: bool = False,
    accepted_delivery_on: dt.date | None = None,
) -> SalesOrder:
    """The customer accepted the quote: place the order, submit it to the ERP (outbox),
    mark the quote accepted, win the opportunity and write the timeline.

    The quote's promised date is checked against live ATP first (see the module doc):
    `accept_later_delivery` says the customer accepts a later earliest date;
    `accepted_delivery_on` (optional) is the date they were told, so that a date that
    slipped further since is refused rather than promised."""
    # The opportunity comes with the quote (and is locked with it: accepting wins it).
    quote = lock(Quote, quote_id, what="quote", queryset=Quote.objects.select_related("opportunity"))
    opportunity = quote.opportunity
    _authorize_order_work(actor, opportunity)
    check_version(quote, expected_version)
    if quote.status == QuoteStatus.ACCEPTED or SalesOrder.objects.filter(quote=quote).exists():
        raise OrderConflict("This quote was already accepted: its order exists.")
    if quote.status != QuoteStatus.SENT:
        raise OrderConflict(
            f"Only a sent quote can be accepted; this one is {quote.get_status_display().lower()}."
        )
    if Quote.objects.filter(previous=quote).exists():
        raise OrderConflict("A newer revision of this quote exists: accept the latest one.")
    if quote.valid_until < timezone.localdate():
        raise OrderConflict(
            f"The quote expired on {quote.valid_until.isoformat()}: revise it and send it again.",
            errors={"valid_until": ["The validity date is in the past."]},
        )
    quote_lines = list(quote.lines.order_by("position", "id"))
    if not quote_lines:
        raise OrderConflict("A quote without lines cannot be accepted.")
    _lock_products(quote_lines)
    promised_on, moved_from = _delivery_promise(
        quote,
        quote_lines,
        accept_later_delivery=bool(accept_later_delivery),
        accepted_delivery_on=accepted_delivery_on,
    )
    order = SalesOrder(
        quote=quote,
        opportunity=opportunity,
        customer_id=opportunity.customer_id,
        currency=quote.currency,
        requested_delivery_on=quote.requested_delivery_on,
        promised_delivery_on=promised_on,
        ship_to=_ship_to(opportunity.customer_id),
        subtotal=quote.subtotal,
        tax_total=quote.tax_total,
        total=quote.total,
        placed_by=user_of(actor),
    )
    try:
        with transaction.atomic():  # a savepoint: the constraint is the last word on races
            order.save()
    except IntegrityError:
        raise OrderConflict("This quote was already accepted: its order exists.") from None
    order.order_ref = f"SO-{order.pk:06d}"
    order.save(update_fields=["order_ref"])
    lines = [
        SalesOrderLine(
            order=order,
            line_no=n,
            product_id=ql.product_id,
            description=ql.description,
            quantity=ql.quantity,
            unit_price=ql.unit_price,
            discount_percent=ql.discount_percent,
            net_amount=ql.net_amount,
        )
        for n, ql in enumerate(quote_lines, start=1)
    ]
    SalesOrderLine.objects.bulk_create(lines, batch_size=500)
    outbox_enqueue(
        kind=MessageKind.ORDER_SUBMIT,
        aggregate=aggregate_for(order.order_ref),
        payload=submit_payload(order, lines),
    )
    quote.status = QuoteStatus.ACCEPTED
    bump_version(quote)
    quote.save(update_fields=["status", "version", "updated_at"])
    opportunity_win_by_quote(actor=actor, opportunity_id=opportunity.pk, amount=quote.subtotal)
    body = f"Total {order.total} {order.currency}; delivery promised for {order.promised_delivery_on or '—'}."
    payload = {"order_ref": order.order_ref, "quote_id": quote.pk}
    if moved_from is not None and promised_on is not None:
        body = (
            f"Total {order.total} {order.currency}; delivery promise moved from {moved_from.isoformat()} "
            f"to {promised_on.isoformat()}: the back office can no longer deliver by the quoted date "
            "and the customer accepts the later one."
        )
        payload["promise_moved_from"] = moved_from.isoformat()
    activity_record(
        customer_id=order.customer_id,
        kind=ActivityKinds.ORDER_PLACED,
        subject=f"Order {order.order_ref} placed from quote {quote.reference} rev. {quote.revision}",
        body=body,
        actor=actor,
        source_app=SOURCE_APP,
        ref=order,
        payload=payload,
    )
    return order


@transaction.atomic
def order_cancel(
    *, actor: Actor, order_id: int, reason: str, expected_version: int | None = None
) -> SalesOrder:
    """Ask the ERP to cancel the order (outbox, after the submit on the same aggregate).
    The order shows "cancel requested" until the ERP reports `order.cancelled`."""
    order = lock(SalesOrder, order_id, what="order")
    _authorize_order_work(actor, order.opportunity)
    check_version(order, expected_version)
    problems: dict[str, list[str]] = {}
    reason = clean_text(problems, "reason", reason, 500)
    if not reason or problems:
        raise ValidationError({"reason": ["Say why the order is cancelled (at most 500 characters)."]})
    if order.cancel_requested_at is not None:
        raise OrderConflict("Cancelling this order was already requested.")
    erp_status = ErpOrder.objects.filter(order_ref=order.order_ref).values_list("status", flat=True).first()
    if erp_status in NOT_CANCELLABLE:
        label = ErpOrderStatus(erp_status).label.lower()
        raise OrderConflict(f"The order is {label} in the ERP: it can no longer be cancelled.")
    order.cancel_requested_at = timezone.now()
    order.cancel_requested_by = user_of(actor)
    order.cancel_reason = reason
    bump_version(order)
    order.save()
    outbox_enqueue(
        kind=MessageKind.ORDER_CANCEL,
        aggregate=aggregate_for(order.order_ref),
        payload=OrderCancel(order_ref=order.order_ref, reason=reason),
    )
    activity_record(
        customer_id=order.customer_id,
        kind=ActivityKinds.ORDER_CANCEL_REQUESTED,
        subject=f"Cancelling order {order.order_ref} requested",
        body=reason,
        actor=actor,
        source_app=SOURCE_APP,
        ref=order,
        payload={"order_ref": order.order_ref},
    )
    return order
