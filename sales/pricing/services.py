"""Every write of price lists (with their items) and discount limits: admin
configuration. One function per business action, one transaction each.

A changed price applies to quotes priced from then on: quote lines keep the price they
were quoted at. A changed discount limit applies from the next time someone sets a
quote's lines: a quote keeps the limit of whoever priced it
(`Quote.discount_limit_percent`), so an approval already asked for or given is not
undone behind the approver's back.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from backoffice_sync.models import Product
from frontoffice.actors import Actor
from frontoffice.errors import Conflict
from frontoffice.roles import Role
from frontoffice.write_path import authorize, bump_version, check_version, clean_text, lock
from sales.money import HUNDRED, decimal_between
from sales.pricing.models import CustomerTier, DiscountLimit, PriceList, PriceListItem
from sales.unset import UNSET, Unset, given

MANAGE_PRICES = "sales.change_pricelist"
CURRENCY = re.compile(r"[A-Z]{3}")
MAX_PRICE = Decimal("1e12") - 1
MAX_ITEMS = 5000


class DiscountLimitExists(Conflict):
    code = "discount_limit_exists"
    title = "This role already has a discount limit."


# --- price lists -----------------------------------------------------------------------


def _clean_items(
    errors: dict[str, list[str]], price_list: PriceList, items: Sequence[Mapping[str, Any]]
) -> list[PriceListItem]:
    """The list's new items, unsaved; problems keyed `items.N.field` in `errors`."""
    if len(items) > MAX_ITEMS:
        errors["items"] = [f"At most {MAX_ITEMS} items."]
        return []
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
        price = decimal_between(
            errors, f"items.{index}.unit_price", item.get("unit_price"), low=Decimal(0), high=MAX_PRICE
        )
        rows.append(PriceListItem(price_list=price_list, product_id=sku, unit_price=price))
    return rows


def _replace_items(price_list: PriceList, rows: list[PriceListItem]) -> None:
    price_list.items.all().delete()
    for row in rows:
        row.price_list = price_list
    PriceListItem.objects.bulk_create(rows, batch_size=500)


def _save_price_list(price_list: PriceList) -> None:
    price_list.full_clean(validate_constraints=False)
    clash = PriceList.objects.filter(currency=price_list.currency, tier=price_list.tier, active=True).exclude(
        pk=price_list.pk
    )
    taken = f"Another active price list exists for {price_list.currency} / {price_list.tier}."
    # A valid list that clashes with the current state (409), not bad input.
    if price_list.active and clash.exists():
        raise Conflict(taken, errors={"active": [taken]})
    try:
        with transaction.atomic():
            price_list.save()
    except IntegrityError:  # a concurrent activation won the race
        raise Conflict(taken, errors={"active": [taken]}) from None


def _apply_fields(
    errors: dict[str, list[str]], price_list: PriceList, *, name: Any, currency: Any, tier: Any
) -> None:
    """Set the given fields; problems in `errors`."""
    if given(name):
        price_list.name = clean_text(errors, "name", name, 100)
        if not price_list.name and "name" not in errors:
            errors["name"] = ["A price list needs a name."]
    if given(currency):
        if not isinstance(currency, str) or not CURRENCY.fullmatch(currency):
            errors["currency"] = ["Use a 3-letter ISO currency code in capitals, e.g. EUR."]
        else:
            price_list.currency = currency
    if given(tier):
        if tier not in CustomerTier.values:
            errors["tier"] = [f"Choose one of: {', '.join(CustomerTier.values)}."]
        else:
            price_list.tier = tier


@transaction.atomic
def price_list_create(
    *,
    actor: Actor,
    name: str,
    currency: str,
    tier: str = CustomerTier.STANDARD,
    active: bool = True,
    items: Sequence[Mapping[str, Any]] = (),
) -> PriceList:
    """A price list for a currency and tier (one active per pair) with its items
    ({sku, unit_price}); admins only."""
    authorize(actor, MANAGE_PRICES, message="Only admins configure price lists.")
    price_list = PriceList(active=active)
    errors: dict[str, list[str]] = {}
    _apply_fields(errors, price_list, name=name, currency=currency, tier=tier)
    rows = _clean_items(errors, price_list, items)
    if errors:
        raise ValidationError(errors)
    _save_price_list(price_list)
    _replace_items(price_list, rows)
    return price_list


@transaction.atomic
def price_list_update(
    *,
    actor: Actor,
    price_list_id: int,
    expected_version: int | None,
    name: str | Unset = UNSET,
    currency: str | Unset = UNSET,
    tier: str | Unset = UNSET,
    active: bool | Unset = UNSET,
    items: Sequence[Mapping[str, Any]] | Unset = UNSET,
) -> PriceList:
    """Change a list's fields; `items`, when given, replace the list's items. The prices
    of existing quotes do not change (lines keep the price they were quoted at). The
    list's version moves on whatever changed, items included."""
    authorize(actor, MANAGE_PRICES, message="Only admins configure price lists.")
    price_list = lock(PriceList, price_list_id, what="price list")
    check_version(price_list, expected_version)
    if given(currency) and currency != price_list.currency and price_list.quotes.exists():
        raise ValidationError({"currency": ["Quotes use this list: create a new list for another currency."]})
    errors: dict[str, list[str]] = {}
    _apply_fields(errors, price_list, name=name, currency=currency, tier=tier)
    rows = _clean_items(errors, price_list, items) if given(items) else None
    if errors:
        raise ValidationError(errors)
    if given(active):
        price_list.active = active
    bump_version(price_list)
    _save_price_list(price_list)
    if rows is not None:
        _replace_items(price_list, rows)
    return price_list


# --- discount limits -------------------------------------------------------------------


def _apply_limit(limit: DiscountLimit, *, role: Any, max_discount_percent: Any) -> None:
    errors: dict[str, list[str]] = {}
    if given(role):
        if not isinstance(role, str) or role not in Role.ALL:
            errors["role"] = [f'Unknown role "{str(role)[:40]}"; the roles are: {", ".join(Role.ALL)}.']
        else:
            limit.role = role
    if given(max_discount_percent):
        limit.max_discount_percent = decimal_between(
            errors, "max_discount_percent", max_discount_percent, low=Decimal(0), high=HUNDRED
        )
    if errors:
        raise ValidationError(errors)


def _save_limit(limit: DiscountLimit) -> None:
    other = (
        DiscountLimit.objects.filter(role=limit.role)
        .exclude(pk=limit.pk)
        .values_list("pk", flat=True)
        .first()
    )
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
def discount_limit_create(*, actor: Actor, role: str, max_discount_percent: Decimal) -> DiscountLimit:
    """The largest discount `role` may give without approval (percent, 0-100, 2 places);
    409 when the role has a limit already."""
    authorize(actor, "sales.add_discountlimit", message="Only admins configure discount limits.")
    limit = DiscountLimit()
    _apply_limit(limit, role=role, max_discount_percent=max_discount_percent)
    _save_limit(limit)
    return limit


@transaction.atomic
def discount_limit_update(
    *,
    actor: Actor,
    discount_limit_id: int,
    expected_version: int | None,
    role: str | Unset = UNSET,
    max_discount_percent: Decimal | Unset = UNSET,
) -> DiscountLimit:
    authorize(actor, "sales.change_discountlimit", message="Only admins configure discount limits.")
    limit = lock(DiscountLimit, discount_limit_id, what="discount limit")
    check_version(limit, expected_version)
    _apply_limit(limit, role=role, max_discount_percent=max_discount_percent)
    bump_version(limit)
    _save_limit(limit)
    return limit


@transaction.atomic
def discount_limit_delete(*, actor: Actor, discount_limit_id: int, expected_version: int | None) -> None:
    """The role may then give no discount without approval (a role without a row: 0 %)."""
    authorize(actor, "sales.delete_discountlimit", message="Only admins configure discount limits.")
    limit = lock(DiscountLimit, discount_limit_id, what="discount limit")
    check_version(limit, expected_version)
    limit.delete()
