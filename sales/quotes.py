"""Every write to price lists and quotes, plus the reads the quote builder needs
(prices, discount limits, available-to-promise). One function per business action,
one transaction each, keyword-only arguments.

Rules worth knowing (see also docs in the models):

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
- E-mail is sent after commit (never inside the transaction).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import partial
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, transaction
from django.http import Http404
from django.template.loader import render_to_string
from django.utils import timezone

from backoffice_sync.atp import AtpRequest, Promise, promise_many
from backoffice_sync.models import Product
from customers.models import ContactPoint, Customer
from customers.timeline import activity_record
from frontoffice.errors import Conflict, StaleVersion
from frontoffice.permissions import can_edit_owned
from frontoffice.roles import Role, user_roles
from sales.models import (
    CustomerTier,
    DiscountLimit,
    Opportunity,
    PriceList,
    PriceListItem,
    Quote,
    QuoteLine,
    QuoteStatus,
)
from sales.models.quotes import CENT, EDITABLE_STATUSES, MAX_LINE_QUANTITY, REVISABLE_STATUSES

log = logging.getLogger(__name__)

ANY_QUOTE = "sales.change_any_quote"
APPROVE = "sales.approve_quote"
MANAGE_PRICES = "sales.change_pricelist"
MAX_LINES = 500
HUNDRED = Decimal("100")


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


# --- reads the services and the builder share ----------------------------------------


def customer_tier(customer: Customer) -> str:
    """The customer's price tier: custom attribute `tier` when it names one, else standard."""
    raw = (customer.attributes or {}).get("tier")
    value = raw.strip().lower() if isinstance(raw, str) else ""
    return value if value in CustomerTier.values else CustomerTier.STANDARD


def discount_limit_for(user: Any) -> Decimal:
    """The largest discount (percent) `user` may give without approval (0 without a limit)."""
    if user is None or getattr(user, "is_superuser", False):
        return HUNDRED
    roles = user_roles(user)
    limits = DiscountLimit.objects.filter(role__in=roles).values_list("max_discount_percent", flat=True)
    return max(limits, default=Decimal("0"))


def price_list_for(*, currency: str, tier: str) -> PriceList:
    lists = {p.tier: p for p in PriceList.objects.filter(currency=currency, active=True)}
    found = lists.get(tier) or lists.get(CustomerTier.STANDARD)
    if found is None:
        raise ValidationError(
            {"price_list": [f"There is no active price list for {currency} (tier {tier} or standard)."]}
        )
    return found


def set_the_discounts(user: Any, quote: Quote) -> bool:
    """True when `user` last set the quote's lines: they may not approve them (four eyes)."""
    return quote.priced_by_id is not None and quote.priced_by_id == getattr(user, "pk", None)


def may_approve(user: Any, quote: Quote) -> bool:
    return user.has_perm(APPROVE) and not set_the_discounts(user, quote)


def line_needs_approval(line: QuoteLine, quote: Quote) -> bool:
    return line.discount_percent > quote.discount_limit_percent


@dataclass(frozen=True)
class LineAtp:
    line: QuoteLine
    promise: Promise | None
    needs_approval: bool


@dataclass(frozen=True)
class QuoteDelivery:
    """Available-to-promise for a quote's lines (one `promise_many` call)."""

    lines: list[LineAtp]
    promised_on: dt.date | None  # the latest line date
    requested_on: dt.date | None
    requested_in_past: bool
    error: str  # the back office could not promise (a SKU left the catalogue)
    # One unit of each SKU asked for `also` (products offered to add), by SKU.
    also: dict[str, Promise] = field(default_factory=dict)

    @property
    def meets_request(self) -> bool | None:
        if self.requested_on is None or self.promised_on is None:
            return None
        return self.promised_on <= self.requested_on

    @property
    def needs_approval(self) -> bool:
        return any(line.needs_approval for line in self.lines)


def quote_delivery(
    *, quote: Quote, lines: Sequence[QuoteLine], today: dt.date | None = None, also: Sequence[str] = ()
) -> QuoteDelivery:
    """ATP per line and the promised date; 6 queries whatever the number of lines. `also`
    (SKUs not on the quote, e.g. recommended ones): one unit of each, in the same call,
    after the lines, so that they do not take stock from the lines."""
    today = today or timezone.localdate()
    requested = quote.requested_delivery_on
    in_past = requested is not None and requested < today
    asked = None if in_past else requested
    promises: list[Promise | None] = [None] * len(lines)
    extra = [sku for sku in dict.fromkeys(also) if sku]
    also_promises: dict[str, Promise] = {}
    error = ""
    requests = [AtpRequest(ln.product_id, ln.quantity, asked) for ln in lines]
    if requests or extra:
        try:
            found = list(
                promise_many([*requests, *(AtpRequest(sku, 1, asked) for sku in extra)], today=today)
            )
            promises = list(found[: len(lines)])
            also_promises = dict(zip(extra, found[len(lines) :], strict=True))
        except ValidationError as exc:
            if not extra or not requests:
                error = "; ".join(exc.messages) if requests else ""
            else:
                # An offered product may not spoil the lines' dates: ask again without them.
                try:
                    promises = list(promise_many(requests, today=today))
                except ValidationError as again:
                    error = "; ".join(again.messages)
    rows = [LineAtp(ln, p, line_needs_approval(ln, quote)) for ln, p in zip(lines, promises, strict=True)]
    dates = [p.earliest_on for p in promises if p is not None]
    return QuoteDelivery(
        lines=rows,
        promised_on=max(dates, default=None),
        requested_on=requested,
        requested_in_past=in_past,
        error=error,
        also=also_promises,
    )


# --- helpers ---------------------------------------------------------------------------


def _lock_quote(quote_id: Any) -> Quote:
    try:
        return (
            Quote.objects.select_for_update(of=("self",))
            .select_related("opportunity__owner")
            .get(pk=int(quote_id))
        )
    except (Quote.DoesNotExist, TypeError, ValueError, OverflowError):
        raise Http404("No such quote.") from None


def _check_version(row: Quote | PriceList | DiscountLimit, expected_version: int | None) -> None:
    if expected_version is not None and row.version != expected_version:
        raise StaleVersion(current=row.version)


def _require_edit(actor: Any, quote_or_opportunity: Any) -> None:
    if actor is None:
        return
    if not actor.has_perm("sales.change_quote") or not can_edit_owned(
        actor, quote_or_opportunity, any_permission=ANY_QUOTE
    ):
        raise PermissionDenied("You may only work on quotes of opportunities you or your team own.")


def _cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def _decimal(errors: dict[str, list[str]], key: str, value: Any, *, low: Decimal, high: Decimal) -> Decimal:
    if isinstance(value, bool) or value is None:
        errors.setdefault(key, []).append("Expected a number.")
        return low
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        errors.setdefault(key, []).append("Expected a number.")
        return low
    if not number.is_finite() or not low <= number <= high:
        errors.setdefault(key, []).append(f"Must be between {low} and {high}.")
        return low
    if number != number.quantize(CENT, rounding=ROUND_HALF_UP):
        errors.setdefault(key, []).append("At most 2 decimal places.")
        return low
    return number


def _price_lines(price_list: PriceList, raw_lines: Sequence[Mapping[str, Any]]) -> list[QuoteLine]:
    """Unsaved lines priced from `price_list`, or a ValidationError keyed `lines.N.field`
    (2 queries whatever the number of lines)."""
    errors: dict[str, list[str]] = {}
    if len(raw_lines) > MAX_LINES:
        raise ValidationError({"lines": [f"At most {MAX_LINES} lines."]})
    skus = {str(r.get("sku", "")) for r in raw_lines}
    products = {p.sku: p for p in Product.objects.filter(sku__in=skus)}
    prices = dict(
        PriceListItem.objects.filter(price_list=price_list, product_id__in=skus).values_list(
            "product_id", "unit_price"
        )
    )
    lines = []
    for index, raw in enumerate(raw_lines):
        key = f"lines.{index}"
        sku = raw.get("sku")
        product = products.get(sku) if isinstance(sku, str) else None
        if product is None:
            errors[f"{key}.sku"] = [f"Unknown SKU {str(sku)[:64]!r}: the ERP's catalogue does not have it."]
        elif not product.active:
            errors[f"{key}.sku"] = [f"SKU {sku!r} is no longer sold."]
        elif sku not in prices:
            errors[f"{key}.sku"] = [
                f"SKU {sku!r} is not on the price list {price_list.name!r} ({price_list.currency})."
            ]
        quantity = raw.get("quantity")
        if (
            isinstance(quantity, bool)
            or not isinstance(quantity, int)
            or not 1 <= quantity <= MAX_LINE_QUANTITY
        ):
            errors[f"{key}.quantity"] = [
                f"The quantity must be a whole number from 1 to {MAX_LINE_QUANTITY:,}."
            ]
            quantity = 1
        discount = _decimal(
            errors, f"{key}.discount_percent", raw.get("discount_percent", 0), low=Decimal(0), high=HUNDRED
        )
        if errors:
            continue
        unit_price = prices[sku]
        net = _cents(unit_price * quantity * (HUNDRED - discount) / HUNDRED)
        lines.append(
            QuoteLine(
                position=index + 1,
                product_id=sku,
                description=product.name[:200],
                quantity=quantity,
                unit_price=unit_price,
                discount_percent=discount,
                net_amount=net,
            )
        )
    if errors:
        raise ValidationError(errors)
    return lines


def _apply_totals(quote: Quote, lines: Iterable[QuoteLine]) -> None:
    lines = list(lines)
    gross = sum((_cents(ln.unit_price * ln.quantity) for ln in lines), Decimal("0"))
    subtotal = sum((ln.net_amount for ln in lines), Decimal("0"))
    quote.subtotal = subtotal
    quote.discount_total = max(gross - subtotal, Decimal("0"))
    quote.tax_total = _cents(subtotal * quote.tax_rate / HUNDRED)
    quote.total = subtotal + quote.tax_total


def _replace_lines(quote: Quote, lines: list[QuoteLine]) -> None:
    quote.lines.all().delete()
    for line in lines:
        line.quote = quote
    QuoteLine.objects.bulk_create(lines, batch_size=500)


def _apply_fields(quote: Quote, fields: Mapping[str, Any], *, creating: bool) -> None:
    errors: dict[str, list[str]] = {}
    allowed = {"tax_rate", "valid_until", "requested_delivery_on", "accept_later_delivery", "notes"}
    for name in sorted(set(fields) - allowed):
        errors[name] = ["Unknown field."]
    today = timezone.localdate()
    if "tax_rate" in fields:
        quote.tax_rate = _decimal(errors, "tax_rate", fields["tax_rate"], low=Decimal(0), high=HUNDRED)
    if "valid_until" in fields:
        value = fields["valid_until"]
        if not isinstance(value, dt.date):
            errors["valid_until"] = ["Expected a date."]
        elif value < today:
            errors["valid_until"] = ["The validity date is in the past."]
        else:
            quote.valid_until = value
    if "requested_delivery_on" in fields:
        value = fields["requested_delivery_on"]
        if value is not None and not isinstance(value, dt.date):
            errors["requested_delivery_on"] = ["Expected a date."]
        elif value is not None and value < today:
            errors["requested_delivery_on"] = ["The requested delivery date is in the past."]
        else:
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


def _record(quote: Quote, *, actor: Any, kind: str, subject: str, body: str = "") -> None:
    activity_record(
        customer_id=quote.opportunity.customer_id,
        kind=kind,
        subject=subject,
        body=body,
        actor=actor,
        source_app="sales",
        ref=quote,
    )


def _bump(quote: Quote) -> None:
    quote.version += 1


def _priced_by(quote: Quote, actor: Any) -> None:
    """`actor` sets the lines: their limit decides which discounts need approval, and
    they may not be the one who approves them."""
    quote.discount_limit_percent = discount_limit_for(actor)
    quote.priced_by = actor if getattr(actor, "pk", None) else None


# --- price lists -----------------------------------------------------------------------


def _require_prices(actor: Any) -> None:
    if actor is not None and not actor.has_perm(MANAGE_PRICES):
        raise PermissionDenied("Only admins configure price lists.")


def _set_items(price_list: PriceList, items: Sequence[Mapping[str, Any]]) -> None:
    errors: dict[str, list[str]] = {}
    skus = [str(i.get("sku", "")) for i in items]
    known = set(Product.objects.filter(sku__in=skus).values_list("sku", flat=True))
    seen: set[str] = set()
    rows = []
    for index, (sku, item) in enumerate(zip(skus, items, strict=True)):
        if sku not in known:
            errors[f"items.{index}.sku"] = [
                f"Unknown SKU {sku[:64]!r}: the ERP's catalogue does not have it."
            ]
        elif sku in seen:
            errors[f"items.{index}.sku"] = [f"SKU {sku!r} is listed twice."]
        seen.add(sku)
        price = _decimal(
            errors,
            f"items.{index}.unit_price",
            item.get("unit_price"),
            low=Decimal(0),
            high=Decimal("1e12") - 1,
        )
        rows.append(PriceListItem(price_list=price_list, product_id=sku, unit_price=price))
    if errors:
        raise ValidationError(errors)
    price_list.items.all().delete()
    PriceListItem.objects.bulk_create(rows, batch_size=500)


def _save_price_list(price_list: PriceList) -> None:
    price_list.full_clean(validate_constraints=False)
    clash = PriceList.objects.filter(currency=price_list.currency, tier=price_list.tier, active=True).exclude(
        pk=price_list.pk
    )
    if price_list.active and clash.exists():
        raise ValidationError(
            {"active": [f"Another active price list exists for {price_list.currency} / {price_list.tier}."]}
        )
    try:
        with transaction.atomic():
            price_list.save()
    except IntegrityError:  # a concurrent activation won the race
        raise ValidationError(
            {"active": [f"Another active price list exists for {price_list.currency} / {price_list.tier}."]}
        ) from None


@transaction.atomic
def price_list_create(
    *,
    actor: Any,
    name: str,
    currency: str,
    tier: str = CustomerTier.STANDARD,
    active: bool = True,
    items: Sequence[Mapping[str, Any]] = (),
) -> PriceList:
    _require_prices(actor)
    price_list = PriceList(name=name.strip(), currency=currency, tier=tier, active=active)
    _save_price_list(price_list)
    _set_items(price_list, items)
    return price_list


@transaction.atomic
def price_list_update(
    *,
    actor: Any,
    price_list_id: int,
    expected_version: int | None,
    items: Sequence[Mapping[str, Any]] | None = None,
    **fields: Any,
) -> PriceList:
    """Change a list's fields; `items`, when given, replace the list's items. The prices
    of existing quotes do not change (lines keep the price they were quoted at). The
    list's version moves on whatever changed, items included."""
    _require_prices(actor)
    try:
        price_list = PriceList.objects.select_for_update().get(pk=price_list_id)
    except PriceList.DoesNotExist:
        raise Http404("No such price list.") from None
    _check_version(price_list, expected_version)
    unknown = set(fields) - {"name", "currency", "tier", "active"}
    if unknown:
        raise ValidationError({name: ["Unknown field."] for name in sorted(unknown)})
    if "currency" in fields and fields["currency"] != price_list.currency and price_list.quotes.exists():
        raise ValidationError({"currency": ["Quotes use this list: create a new list for another currency."]})
    for name, value in fields.items():
        setattr(price_list, name, value.strip() if name == "name" else value)
    price_list.version += 1
    _save_price_list(price_list)
    if items is not None:
        _set_items(price_list, items)
    return price_list


# --- discount limits -------------------------------------------------------------------
#
# A changed limit applies from the next time someone sets a quote's lines: a quote keeps
# the limit of whoever priced it (`Quote.discount_limit_percent`), so an approval already
# asked for or given is not undone behind the approver's back.


class DiscountLimitExists(Conflict):
    code = "discount_limit_exists"
    title = "This role already has a discount limit."


def _require_limits(actor: Any, permission: str) -> None:
    if actor is not None and not actor.has_perm(permission):
        raise PermissionDenied("Only admins configure discount limits.")


def _lock_limit(discount_limit_id: Any) -> DiscountLimit:
    try:
        return DiscountLimit.objects.select_for_update().get(pk=int(discount_limit_id))
    except (DiscountLimit.DoesNotExist, TypeError, ValueError, OverflowError):
        raise Http404("No such discount limit.") from None


def _apply_limit_fields(limit: DiscountLimit, fields: Mapping[str, Any]) -> None:
    errors: dict[str, list[str]] = {}
    for name in sorted(set(fields) - {"role", "max_discount_percent"}):
        errors[name] = ["Unknown field."]
    if "role" in fields:
        role = fields["role"]
        if not isinstance(role, str) or role not in Role.ALL:
            errors["role"] = [f"Unknown role {str(role)[:40]!r}; the roles are: {', '.join(Role.ALL)}."]
        else:
            limit.role = role
    if "max_discount_percent" in fields:
        limit.max_discount_percent = _decimal(
            errors, "max_discount_percent", fields["max_discount_percent"], low=Decimal(0), high=HUNDRED
        )
    if errors:
        raise ValidationError(errors)


def _save_limit(limit: DiscountLimit) -> None:
    taken = DiscountLimit.objects.filter(role=limit.role).exclude(pk=limit.pk).values_list("pk", flat=True)
    other = taken.first()
    if other is not None:
        message = f"{limit.role} already has a discount limit (#{other}): change that one."
        raise DiscountLimitExists(message, errors={"role": [message]})
    try:
        with transaction.atomic():
            limit.save()
    except IntegrityError:  # a concurrent create for the same role won the race
        message = f"{limit.role} already has a discount limit: change that one."
        raise DiscountLimitExists(message, errors={"role": [message]}) from None


@transaction.atomic
def discount_limit_create(*, actor: Any, role: Any, max_discount_percent: Any) -> DiscountLimit:
    """The largest discount `role` may give without approval (percent, 0-100, 2 places);
    409 when the role has a limit already."""
    _require_limits(actor, "sales.add_discountlimit")
    limit = DiscountLimit()
    _apply_limit_fields(limit, {"role": role, "max_discount_percent": max_discount_percent})
    _save_limit(limit)
    return limit


@transaction.atomic
def discount_limit_update(
    *, actor: Any, discount_limit_id: Any, expected_version: int | None, **fields: Any
) -> DiscountLimit:
    _require_limits(actor, "sales.change_discountlimit")
    limit = _lock_limit(discount_limit_id)
    _check_version(limit, expected_version)
    _apply_limit_fields(limit, fields)
    limit.version += 1
    _save_limit(limit)
    return limit


@transaction.atomic
def discount_limit_delete(*, actor: Any, discount_limit_id: Any, expected_version: int | None) -> None:
    """The role may then give no discount without approval (a role without a row: 0 %)."""
    _require_limits(actor, "sales.delete_discountlimit")
    limit = _lock_limit(discount_limit_id)
    _check_version(limit, expected_version)
    limit.delete()


# --- quotes ----------------------------------------------------------------------------


@transaction.atomic
def quote_create(
    *,
    actor: Any,
    opportunity_id: int,
    lines: Sequence[Mapping[str, Any]] = (),
    price_list_id: int | None = None,
    **fields: Any,
) -> Quote:
    """A draft quote for an opportunity, priced from the list for its currency and the
    customer's tier (or the list given, which must be in the opportunity's currency)."""
    try:
        opportunity = Opportunity.objects.select_related("customer", "owner").get(pk=opportunity_id)
    except (Opportunity.DoesNotExist, TypeError, ValueError):
        raise ValidationError({"opportunity": ["No such opportunity."]}) from None
    if actor is not None and not actor.has_perm("sales.add_quote"):
        raise PermissionDenied("You may not create quotes.")
    _require_edit(actor, opportunity)
    tier = customer_tier(opportunity.customer)
    if price_list_id is not None:
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
    else:
        price_list = price_list_for(currency=opportunity.currency, tier=tier)
    quote = Quote(
        opportunity=opportunity,
        currency=opportunity.currency,
        tier=tier,
        price_list=price_list,
        valid_until=None,
    )
    _apply_fields(quote, fields, creating=True)
    priced = _price_lines(price_list, lines)
    _priced_by(quote, actor)
    _apply_totals(quote, priced)
    _save(quote)
    quote.reference = f"Q-{quote.pk:06d}"
    quote.save(update_fields=["reference"])
    _replace_lines(quote, priced)
    _record(quote, actor=actor, kind="quote_created", subject=f"Quote {quote.reference} drafted")
    return quote


@transaction.atomic
def quote_update(
    *,
    actor: Any,
    quote_id: int,
    expected_version: int | None,
    lines: Sequence[Mapping[str, Any]] | None = None,
    **fields: Any,
) -> Quote:
    """Change a draft (lines replace all lines). A pending or approved quote goes back to
    draft: an approval covers the lines it saw."""
    quote = _lock_quote(quote_id)
    _require_edit(actor, quote)
    _check_version(quote, expected_version)
    if quote.status not in EDITABLE_STATUSES:
        raise QuoteConflict(
            f"A {quote.get_status_display().lower()} quote cannot change; revise it to make a new revision."
        )
    _apply_fields(quote, fields, creating=False)
    if lines is not None:
        priced = _price_lines(quote.price_list, lines)
        _priced_by(quote, actor)
    else:
        priced = list(quote.lines.all())
    _apply_totals(quote, priced)
    if quote.status != QuoteStatus.DRAFT:
        quote.status = QuoteStatus.DRAFT
        quote.approved_by, quote.approved_at = None, None
    _bump(quote)
    _save(quote)
    if lines is not None:
        _replace_lines(quote, priced)
    return quote


@transaction.atomic
def quote_add_line(
    *, actor: Any, quote_id: int, expected_version: int | None, sku: Any, quantity: Any = 1
) -> Quote:
    """Add `quantity` of one product to a draft (the builder's "Add" on a recommended
    product): a product already on the quote gets the quantity added to its line.
    Otherwise exactly like `quote_update` with the lines plus this one; the new line's
    errors come back keyed `sku` and `quantity`."""
    quote = _lock_quote(quote_id)
    _require_edit(actor, quote)
    _check_version(quote, expected_version)
    raw = [
        {"sku": ln.product_id, "quantity": ln.quantity, "discount_percent": ln.discount_percent}
        for ln in quote.lines.order_by("position", "id")
    ]
    index = next((i for i, line in enumerate(raw) if line["sku"] == sku), None)
    if isinstance(quantity, bool) or not isinstance(quantity, int) or not 1 <= quantity <= MAX_LINE_QUANTITY:
        raise ValidationError(
            {"quantity": [f"The quantity must be a whole number from 1 to {MAX_LINE_QUANTITY:,}."]}
        )
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
def quote_submit_for_approval(*, actor: Any, quote_id: int, expected_version: int | None) -> Quote:
    quote = _lock_quote(quote_id)
    _require_edit(actor, quote)
    _check_version(quote, expected_version)
    if quote.status != QuoteStatus.DRAFT:
        raise QuoteConflict("Only a draft can be submitted for approval.")
    if not quote.lines.filter(discount_percent__gt=quote.discount_limit_percent).exists():
        raise QuoteConflict("No discount exceeds the limit: the quote can be sent without approval.")
    quote.status = QuoteStatus.PENDING_APPROVAL
    _bump(quote)
    _save(quote)
    _record(
        quote, actor=actor, kind="quote_approval_requested", subject=f"Quote {quote.reference} needs approval"
    )
    return quote


@transaction.atomic
def quote_approve(*, actor: Any, quote_id: int, expected_version: int | None) -> Quote:
    quote = _lock_quote(quote_id)
    if actor is not None and not actor.has_perm(APPROVE):
        raise PermissionDenied("Only a sales manager or an admin approves discounts.")
    if actor is not None and set_the_discounts(actor, quote):
        raise PermissionDenied("You set these discounts: another manager must approve them.")
    _check_version(quote, expected_version)
    if quote.status != QuoteStatus.PENDING_APPROVAL:
        raise QuoteConflict("Only a quote pending approval can be approved.")
    quote.status = QuoteStatus.APPROVED
    quote.approved_by = actor
    quote.approved_at = timezone.now()
    _bump(quote)
    _save(quote)
    _record(quote, actor=actor, kind="quote_approved", subject=f"Quote {quote.reference} approved")
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
    actor: Any,
    quote_id: int,
    expected_version: int | None,
    to: str | None = None,
    accept_later_delivery: bool | None = None,
) -> Quote:
    """Mark the quote sent and e-mail it (after commit) to `to` or the customer's primary
    e-mail. Refused while a discount awaits approval, once the validity date is past, or
    when the requested delivery date cannot be met (unless the later date is accepted)."""
    quote = _lock_quote(quote_id)
    _require_edit(actor, quote)
    _check_version(quote, expected_version)
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
    if delivery.meets_request is False and not quote.accept_later_delivery:
        raise DeliveryNotMet(earliest_on=delivery.promised_on, requested_on=quote.requested_delivery_on)
    recipient = (to or "").strip() or _primary_email(quote.opportunity.customer_id)
    if not recipient:
        raise ValidationError({"to": ["The customer has no primary e-mail: give an address."]})
    quote.promised_delivery_on = delivery.promised_on
    quote.status = QuoteStatus.SENT
    quote.sent_at = timezone.now()
    quote.sent_to = recipient
    _bump(quote)
    _save(quote)
    _record(
        quote,
        actor=actor,
        kind="quote_sent",
        subject=f"Quote {quote.reference} rev. {quote.revision} sent to {recipient}",
        body=f"Total {quote.total} {quote.currency}; delivery promised for {quote.promised_delivery_on}.",
    )
    transaction.on_commit(partial(quote_email_deliver, quote_id=quote.pk))
    return quote


@transaction.atomic
def quote_revise(*, actor: Any, quote_id: int, expected_version: int | None) -> Quote:
    """A new draft revision with the same lines (re-priced from the same list); the old
    one becomes superseded and stays readable."""
    quote = _lock_quote(quote_id)
    _require_edit(actor, quote)
    _check_version(quote, expected_version)
    if quote.status not in REVISABLE_STATUSES:
        raise QuoteConflict("Only a sent, rejected or expired quote is revised; edit a draft directly.")
    old_lines = list(quote.lines.all())
    revision = Quote(
        opportunity=quote.opportunity,
        reference=quote.reference,
        revision=quote.revision + 1,
        previous=quote,
        currency=quote.currency,
        tier=quote.tier,
        price_list=quote.price_list,
        tax_rate=quote.tax_rate,
        valid_until=max(quote.valid_until, timezone.localdate()),
        requested_delivery_on=quote.requested_delivery_on,
        accept_later_delivery=quote.accept_later_delivery,
        discount_limit_percent=quote.discount_limit_percent,
        priced_by_id=quote.priced_by_id,
        notes=quote.notes,
    )
    if revision.requested_delivery_on and revision.requested_delivery_on < timezone.localdate():
        revision.requested_delivery_on = None
    quote.status = QuoteStatus.SUPERSEDED
    _bump(quote)
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
    _apply_totals(revision, lines)
    _save(revision)
    _replace_lines(revision, lines)
    _record(
        revision,
        actor=actor,
        kind="quote_revised",
        subject=f"Quote {quote.reference} revised (revision {revision.revision})",
    )
    return revision


# --- e-mail (after commit) ---------------------------------------------------------------


def quote_email_deliver(*, quote_id: int) -> None:
    """Send the sent quote by e-mail (HTML body, text alternative, PDF attached when the
    PDF library is installed). Runs after commit; a mail failure is logged, the quote
    stays sent and can be re-sent by revising."""
    from sales.quote_documents import quote_document_context, quote_pdf

    quote = Quote.objects.select_related("opportunity__customer").filter(pk=quote_id).first()
    if quote is None or not quote.sent_to:
        return
    context = quote_document_context(quote)
    subject = f"Quote {quote.reference} (revision {quote.revision})"
    text = render_to_string("sales/quotes/email.txt", context)
    html = render_to_string("sales/quotes/print.html", {**context, "for_email": True})
    message = EmailMultiAlternatives(subject, text, settings.DEFAULT_FROM_EMAIL, [quote.sent_to])
    message.attach_alternative(html, "text/html")
    pdf = quote_pdf(context)
    if pdf is not None:
        message.attach(f"{quote.reference}-r{quote.revision}.pdf", pdf, "application/pdf")
    try:
        message.send()
    except OSError:
        log.exception("Sending quote %s by e-mail failed", quote.pk)
