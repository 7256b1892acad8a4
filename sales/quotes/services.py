"""Every write to quotes: draft, change, add a line, submit for approval, approve, send
and revise. One function per business action, one transaction each, keyword-only
arguments.

Rules worth knowing (see also docs/sales_quotes.md and the models):

- The unit price of a line always comes from the quote's price list: the active list
  for the opportunity's currency and the customer's tier (custom attribute `tier`,
  default `standard`; no list for that tier -> the `standard` list of the currency).
- A line discount above the discount limit of whoever sets the lines (the largest
  `DiscountLimit` over their roles) needs the approval of a sales manager or an Admin
  (`sales.approve_quote`) before the quote is sent; never of whoever set those lines
  (four eyes: a manager's own discount above their own limit goes to another approver).
  Changing an approved quote takes it back to draft: the approval was for those lines.
- Delivery: every line gets an available-to-promise date (one `promise_many` call); the
  quote's promised date is the latest. Sending a quote whose requested date the back
  office cannot meet is refused (409 naming the earliest date) unless the rep moves the
  requested date or sets `accept_later_delivery` (the customer agreed to the later date).
- Sending marks the quote sent and queues its e-mail: a worker renders and sends it
  after commit, never inside the request (`services_email`, `tasks.send_quote_email`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from customers.models import ContactPoint
from customers.timeline import activity_record
from frontoffice.actors import Actor, user_of
from frontoffice.errors import Conflict
from frontoffice.permissions import can_edit_owned
from frontoffice.write_path import authorize, bump_version, check_version, clean_date, enqueue_on_commit, lock
from sales.money import HUNDRED, decimal_between
from sales.pipeline.models import Opportunity
from sales.pricing.models import PriceList
from sales.pricing.selectors import customer_tier, discount_limit_for, price_list_for
from sales.quotes.lines import apply_totals, price_lines, quantity_problem, replace_lines
from sales.quotes.models import (
    EDITABLE_STATUSES,
    REVISABLE_STATUSES,
    Quote,
    QuoteEmailStatus,
    QuoteLine,
    QuoteStatus,
)
from sales.quotes.selectors_atp import line_needs_approval, quote_delivery
from sales.timeline import SOURCE_APP, ActivityKinds
from sales.unset import UNSET, Unset, given_fields

ANY_QUOTE = "sales.change_any_quote"
APPROVE = "sales.approve_quote"
CHANGE_QUOTE = "sales.change_quote"
NOT_YOURS = "You may only work on quotes of opportunities you or your team own."


class QuoteConflict(Conflict):
    code = "quote_conflict"
    title = "The quote cannot do that in its current state."


class DeliveryNotMet(Conflict):
    code = "delivery_date_not_met"
    title = "The back office cannot deliver by the requested date."

    def __init__(self, *, earliest_on: dt.date, requested_on: dt.date) -> None:
        self.earliest_on = earliest_on
        super().__init__(
            f"The earliest possible delivery is {earliest_on.isoformat()}, after the requested "
            f"{requested_on.isoformat()}. Change the requested date, or send with "
            "accept_later_delivery=true if the customer accepts the later date.",
            errors={"requested_delivery_on": [f"Earliest possible: {earliest_on.isoformat()}."]},
        )


# --- who may -----------------------------------------------------------------------------


def can_work_on(user: Any, quote_or_opportunity: Quote | Opportunity) -> bool:
    """A rep works on quotes of opportunities they or their team own; sales managers and
    Admins (`sales.change_any_quote`) on anyone's."""
    return bool(user.has_perm(CHANGE_QUOTE)) and can_edit_owned(
        user, quote_or_opportunity, any_permission=ANY_QUOTE
    )


def set_the_discounts(user: Any, quote: Quote) -> bool:
    """True when `user` last set the quote's lines: they may not approve them (four eyes)."""
    return quote.priced_by_id is not None and quote.priced_by_id == getattr(user, "pk", None)


def may_approve(user: Any, quote: Quote) -> bool:
    return bool(user.has_perm(APPROVE)) and not set_the_discounts(user, quote)


def _locked_for_work(actor: Actor, quote_id: int, expected_version: int | None) -> Quote:
    quote = lock(Quote, quote_id, what="quote")
    authorize(actor, CHANGE_QUOTE, obj=quote, owner_bypass=ANY_QUOTE, message=NOT_YOURS)
    check_version(quote, expected_version)
    return quote


# --- the fields' rules ------------------------------------------------------------------


def _apply_fields(quote: Quote, fields: Mapping[str, Any], *, creating: bool) -> None:
    errors: dict[str, list[str]] = {}
    today = timezone.localdate()
    if "tax_rate" in fields:
        quote.tax_rate = decimal_between(errors, "tax_rate", fields["tax_rate"], low=Decimal(0), high=HUNDRED)
    if "valid_until" in fields:
        value = clean_date(errors, "valid_until", fields["valid_until"])
        if value is None:
            errors.setdefault("valid_until", ["Expected a date."])
        elif value < today:
            errors["valid_until"] = ["The validity date is in the past."]
        else:
            quote.valid_until = value
    if "requested_delivery_on" in fields:
        value = clean_date(errors, "requested_delivery_on", fields["requested_delivery_on"])
        if value is not None and value < today:
            errors["requested_delivery_on"] = ["The requested delivery date is in the past."]
        elif "requested_delivery_on" not in errors:
            quote.requested_delivery_on = value
    if "accept_later_delivery" in fields:
        quote.accept_later_delivery = bool(fields["accept_later_delivery"])
    if "notes" in fields:
        notes = fields["notes"] or ""
        if not isinstance(notes, str) or len(notes) > 5000 or "\x00" in notes:
            errors["notes"] = ["Text of at most 5000 characters."]
        else:
            quote.notes = notes
    if creating and quote.valid_until is None and "valid_until" not in errors:
        errors["valid_until"] = ["A quote needs a validity date."]
    if errors:
        raise ValidationError(errors)


def _save(quote: Quote) -> None:
    try:
        quote.full_clean(exclude=["opportunity", "price_list", "previous", "approved_by"])
        quote.save()
    except IntegrityError as exc:  # a constraint the checks above missed: a 409, not a 500
        raise QuoteConflict(f"The quote breaks a database rule: {exc}") from None


def _record(quote: Quote, *, actor: Actor, kind: str, subject: str, body: str = "") -> None:
    activity_record(
        customer_id=quote.opportunity.customer_id,
        kind=kind,
        subject=subject,
        body=body,
        actor=actor,
        source_app=SOURCE_APP,
        ref=quote,
    )


def _priced_by(quote: Quote, actor: Actor) -> None:
    """`actor` sets the lines: their limit decides which discounts need approval, and
    they may not be the one who approves them."""
    quote.discount_limit_percent = discount_limit_for(actor)
    quote.priced_by = user_of(actor)


def _price_list(opportunity: Opportunity, price_list_id: int | None) -> PriceList:
    if price_list_id is None:
        return price_list_for(currency=opportunity.currency, tier=customer_tier(opportunity.customer))
    price_list = PriceList.objects.filter(pk=price_list_id).first()
    if price_list is None:
        raise ValidationError({"price_list": ["No such price list."]})
    if not price_list.active:
        raise ValidationError({"price_list": ["This price list is not active."]})
    if price_list.currency != opportunity.currency:
        raise ValidationError(
            {
                "price_list": [
                    f"The price list is in {price_list.currency}; the opportunity is in "
                    f"{opportunity.currency}."
                ]
            }
        )
    return price_list


# --- quotes ----------------------------------------------------------------------------


@transaction.atomic
def quote_create(
    *,
    actor: Actor,
    opportunity_id: int,
    valid_until: dt.date | None = None,
    lines: Sequence[Mapping[str, Any]] = (),
    price_list_id: int | None = None,
    tax_rate: Decimal | Unset = UNSET,
    requested_delivery_on: dt.date | Unset | None = UNSET,
    accept_later_delivery: bool | Unset = UNSET,
    notes: str | Unset = UNSET,
) -> Quote:
    """A draft quote for an opportunity, priced from the list for its currency and the
    customer's tier (or the list given, which must be in the opportunity's currency)."""
    opportunity = Opportunity.objects.select_related("customer", "owner").filter(pk=opportunity_id).first()
    if opportunity is None:
        raise ValidationError({"opportunity": ["No such opportunity."]})
    authorize(actor, "sales.add_quote", message="You may not create quotes.")
    authorize(actor, CHANGE_QUOTE, obj=opportunity, owner_bypass=ANY_QUOTE, message=NOT_YOURS)
    price_list = _price_list(opportunity, price_list_id)
    quote = Quote(
        opportunity=opportunity,
        currency=opportunity.currency,
        tier=customer_tier(opportunity.customer),
        price_list=price_list,
    )
    _apply_fields(
        quote,
        given_fields(
            valid_until=valid_until if valid_until is not None else UNSET,
            tax_rate=tax_rate,
            requested_delivery_on=requested_delivery_on,
            accept_later_delivery=accept_later_delivery,
            notes=notes,
        ),
        creating=True,
    )
    priced = price_lines(price_list, lines)
    _priced_by(quote, actor)
    apply_totals(quote, priced)
    _save(quote)
    quote.reference = f"Q-{quote.pk:06d}"
    quote.save(update_fields=["reference"])
    replace_lines(quote, priced)
    _record(quote, actor=actor, kind=ActivityKinds.QUOTE_CREATED, subject=f"Quote {quote.reference} drafted")
    return quote


@transaction.atomic
def quote_update(
    *,
    actor: Actor,
    quote_id: int,
    expected_version: int | None,
    lines: Sequence[Mapping[str, Any]] | None = None,
    tax_rate: Decimal | Unset = UNSET,
    valid_until: dt.date | Unset = UNSET,
    requested_delivery_on: dt.date | Unset | None = UNSET,
    accept_later_delivery: bool | Unset = UNSET,
    notes: str | Unset = UNSET,
) -> Quote:
    """Change a draft (lines replace all lines). A pending or approved quote goes back to
    draft: an approval covers the lines it saw."""
    quote = _locked_for_work(actor, quote_id, expected_version)
    if quote.status not in EDITABLE_STATUSES:
        raise QuoteConflict(
            f"A {quote.get_status_display().lower()} quote cannot change; revise it to make a new revision."
        )
    _apply_fields(
        quote,
        given_fields(
            tax_rate=tax_rate,
            valid_until=valid_until,
            requested_delivery_on=requested_delivery_on,
            accept_later_delivery=accept_later_delivery,
            notes=notes,
        ),
        creating=False,
    )
    if lines is not None:
        priced = price_lines(quote.price_list, lines)
        _priced_by(quote, actor)
    else:
        priced = list(quote.lines.all())
    apply_totals(quote, priced)
    if quote.status != QuoteStatus.DRAFT:
        quote.status = QuoteStatus.DRAFT
        quote.approved_by, quote.approved_at = None, None
    bump_version(quote)
    _save(quote)
    if lines is not None:
        replace_lines(quote, priced)
    return quote


@transaction.atomic
def quote_add_line(
    *, actor: Actor, quote_id: int, expected_version: int | None, sku: str, quantity: int = 1
) -> Quote:
    """Add `quantity` of one product to a draft (the builder's "Add" on a recommended
    product): a product already on the quote gets the quantity added to its line.
    Otherwise exactly like `quote_update` with the lines plus this one; the new line's
    errors come back keyed `sku` and `quantity`."""
    quote = _locked_for_work(actor, quote_id, expected_version)
    raw: list[dict[str, Any]] = [
        {"sku": ln.product_id, "quantity": ln.quantity, "discount_percent": ln.discount_percent}
        for ln in quote.lines.order_by("position", "id")
    ]
    index = next((i for i, line in enumerate(raw) if line["sku"] == sku), None)
    problem = quantity_problem(quantity)
    if problem:
        raise ValidationError({"quantity": [problem]})
    if index is None:
        index = len(raw)
        raw.append({"sku": sku, "quantity": quantity, "discount_percent": Decimal("0")})
    else:
        raw[index]["quantity"] += quantity
    try:
        return quote_update(actor=actor, quote_id=quote.pk, expected_version=expected_version, lines=raw)
    except ValidationError as exc:
        if not hasattr(exc, "error_dict"):
            raise
        prefix = f"lines.{index}."
        raise ValidationError(
            {key.removeprefix(prefix): messages for key, messages in exc.message_dict.items()}
        ) from None


@transaction.atomic
def quote_submit_for_approval(*, actor: Actor, quote_id: int, expected_version: int | None) -> Quote:
    quote = _locked_for_work(actor, quote_id, expected_version)
    if quote.status != QuoteStatus.DRAFT:
        raise QuoteConflict("Only a draft can be submitted for approval.")
    if not quote.lines.filter(discount_percent__gt=quote.discount_limit_percent).exists():
        raise QuoteConflict("No discount exceeds the limit: the quote can be sent without approval.")
    quote.status = QuoteStatus.PENDING_APPROVAL
    bump_version(quote)
    _save(quote)
    _record(
        quote,
        actor=actor,
        kind=ActivityKinds.QUOTE_APPROVAL_REQUESTED,
        subject=f"Quote {quote.reference} needs approval",
    )
    return quote


@transaction.atomic
def quote_approve(*, actor: Actor, quote_id: int, expected_version: int | None) -> Quote:
    quote = lock(Quote, quote_id, what="quote")
    authorize(actor, APPROVE, message="Only a sales manager or an admin approves discounts.")
    if set_the_discounts(actor, quote):
        raise PermissionDenied("You set these discounts: another manager must approve them.")
    check_version(quote, expected_version)
    if quote.status != QuoteStatus.PENDING_APPROVAL:
        raise QuoteConflict("Only a quote pending approval can be approved.")
    quote.status = QuoteStatus.APPROVED
    quote.approved_by = user_of(actor)
    quote.approved_at = timezone.now()
    bump_version(quote)
    _save(quote)
    _record(
        quote, actor=actor, kind=ActivityKinds.QUOTE_APPROVED, subject=f"Quote {quote.reference} approved"
    )
    return quote


def _primary_email(customer_id: int) -> str:
    return (
        ContactPoint.objects.filter(customer_id=customer_id, kind="email", is_primary=True)
        .values_list("value", flat=True)
        .first()
        or ""
    )


@transaction.atomic
def quote_send(
    *,
    actor: Actor,
    quote_id: int,
    expected_version: int | None,
    to: str | None = None,
    accept_later_delivery: bool | None = None,
    email: bool = True,
) -> Quote:
    """Mark the quote sent to `to` (or the customer's primary e-mail) and queue its
    e-mail, which a worker sends after commit (`email=False`: the quote was handed over
    another way; nothing is e-mailed). Refused while a discount awaits approval, once
    the validity date is past, or when the requested delivery date cannot be met
    (unless the later date is accepted)."""
    from sales.quotes.tasks import send_quote_email

    quote = _locked_for_work(actor, quote_id, expected_version)
    today = timezone.localdate()
    if quote.status not in (QuoteStatus.DRAFT, QuoteStatus.APPROVED):
        raise QuoteConflict(f"A {quote.get_status_display().lower()} quote cannot be sent.")
    if quote.valid_until < today:
        raise QuoteConflict(
            f"The quote expired on {quote.valid_until.isoformat()}: change the validity date first.",
            errors={"valid_until": ["The validity date is in the past."]},
        )
    lines = list(quote.lines.all())
    if not lines:
        raise QuoteConflict("A quote without lines cannot be sent.", errors={"lines": ["Add a line."]})
    if quote.status != QuoteStatus.APPROVED and any(line_needs_approval(ln, quote) for ln in lines):
        raise QuoteConflict(
            f"A discount exceeds {quote.discount_limit_percent}%: submit the quote for approval first.",
            errors={"discount_percent": ["Needs a manager's approval."]},
        )
    if accept_later_delivery is not None:
        quote.accept_later_delivery = bool(accept_later_delivery)
    delivery = quote_delivery(quote=quote, lines=lines, today=today)
    if delivery.error:
        raise ValidationError({"lines": [delivery.error]})
    if delivery.requested_in_past:
        raise ValidationError({"requested_delivery_on": ["The requested delivery date is in the past."]})
    if (
        delivery.meets_request is False
        and not quote.accept_later_delivery
        and delivery.promised_on is not None
        and quote.requested_delivery_on is not None
    ):
        raise DeliveryNotMet(earliest_on=delivery.promised_on, requested_on=quote.requested_delivery_on)
    recipient = (to or "").strip() or _primary_email(quote.opportunity.customer_id)
    if not recipient:
        raise ValidationError({"to": ["The customer has no primary e-mail: give an address."]})
    quote.promised_delivery_on = delivery.promised_on
    quote.status = QuoteStatus.SENT
    quote.sent_at = timezone.now()
    quote.sent_to = recipient
    quote.email_status = QuoteEmailStatus.QUEUED if email else QuoteEmailStatus.NONE
    quote.email_sent_at, quote.email_error = None, ""
    bump_version(quote)
    _save(quote)
    _record(
        quote,
        actor=actor,
        kind=ActivityKinds.QUOTE_SENT,
        subject=f"Quote {quote.reference} rev. {quote.revision} sent to {recipient}",
        body=f"Total {quote.total} {quote.currency}; delivery promised for {quote.promised_delivery_on}.",
    )
    if email:
        enqueue_on_commit(send_quote_email, quote.pk)
    return quote


@transaction.atomic
def quote_revise(*, actor: Actor, quote_id: int, expected_version: int | None) -> Quote:
    """A new draft revision with the same lines (re-priced from the same list); the old
    one becomes superseded and stays readable."""
    quote = _locked_for_work(actor, quote_id, expected_version)
    if quote.status not in REVISABLE_STATUSES:
        raise QuoteConflict("Only a sent, rejected or expired quote is revised; edit a draft directly.")
    old_lines = list(quote.lines.all())
    today = timezone.localdate()
    revision = Quote(
        opportunity=quote.opportunity,
        reference=quote.reference,
        revision=quote.revision + 1,
        previous=quote,
        currency=quote.currency,
        tier=quote.tier,
        price_list=quote.price_list,
        tax_rate=quote.tax_rate,
        valid_until=max(quote.valid_until, today),
        requested_delivery_on=quote.requested_delivery_on,
        accept_later_delivery=quote.accept_later_delivery,
        discount_limit_percent=quote.discount_limit_percent,
        priced_by_id=quote.priced_by_id,
        notes=quote.notes,
    )
    if revision.requested_delivery_on and revision.requested_delivery_on < today:
        revision.requested_delivery_on = None
    quote.status = QuoteStatus.SUPERSEDED
    bump_version(quote)
    _save(quote)
    lines = [
        QuoteLine(
            position=ln.position,
            product_id=ln.product_id,
            description=ln.description,
            quantity=ln.quantity,
            unit_price=ln.unit_price,
            discount_percent=ln.discount_percent,
            net_amount=ln.net_amount,
        )
        for ln in old_lines
    ]
    apply_totals(revision, lines)
    _save(revision)
    replace_lines(revision, lines)
    _record(
        revision,
        actor=actor,
        kind=ActivityKinds.QUOTE_REVISED,
        subject=f"Quote {quote.reference} revised (revision {revision.revision})",
    )
    return revision
