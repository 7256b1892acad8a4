"""A quote's lines priced from its price list, and its totals: the rules `quote_create`,
`quote_update` and `quote_revise` share (nothing here saves the quote itself)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError

from backoffice_sync.models import Product
from sales.money import HUNDRED, cents, decimal_between
from sales.pricing.models import PriceList, PriceListItem
from sales.quotes.models import MAX_LINE_QUANTITY, Quote, QuoteLine

MAX_LINES = 500


def quantity_problem(quantity: Any) -> str | None:
    """Why `quantity` is no line quantity (whole units, 1 to MAX_LINE_QUANTITY), or None."""
    if isinstance(quantity, bool) or not isinstance(quantity, int) or not 1 <= quantity <= MAX_LINE_QUANTITY:
        return f"The quantity must be a whole number from 1 to {MAX_LINE_QUANTITY:,}."
    return None


def price_lines(price_list: PriceList, raw_lines: Sequence[Mapping[str, Any]]) -> list[QuoteLine]:
    """Unsaved lines ({sku, quantity, discount_percent}) priced from `price_list`, or a
    ValidationError keyed `lines.N.field` (2 queries whatever the number of lines)."""
    errors: dict[str, list[str]] = {}
    if len(raw_lines) > MAX_LINES:
        raise ValidationError({"lines": [f"At most {MAX_LINES} lines."]})
    skus = {str(r.get("sku", "")) for r in raw_lines}
    products = {p.sku: p for p in Product.objects.filter(sku__in=skus)}
    prices: dict[str, Decimal] = {
        str(sku): price
        for sku, price in PriceListItem.objects.filter(
            price_list=price_list, product_id__in=skus
        ).values_list("product_id", "unit_price")
    }
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
        problem = quantity_problem(quantity)
        if problem or not isinstance(quantity, int):
            errors[f"{key}.quantity"] = [problem or "Expected a whole number."]
            quantity = 1
        discount = decimal_between(
            errors, f"{key}.discount_percent", raw.get("discount_percent", 0), low=Decimal(0), high=HUNDRED
        )
        if errors or product is None or not isinstance(sku, str):
            continue
        unit_price = prices[sku]
        lines.append(
            QuoteLine(
                position=index + 1,
                product_id=sku,
                description=product.name[:200],
                quantity=quantity,
                unit_price=unit_price,
                discount_percent=discount,
                net_amount=cents(unit_price * quantity * (HUNDRED - discount) / HUNDRED),
            )
        )
    if errors:
        raise ValidationError(errors)
    return lines


def apply_totals(quote: Quote, lines: Iterable[QuoteLine]) -> None:
    """Subtotal (net of discounts), discount total, tax and total from `lines`."""
    lines = list(lines)
    gross = sum((cents(ln.unit_price * ln.quantity) for ln in lines), Decimal("0"))
    subtotal = sum((ln.net_amount for ln in lines), Decimal("0"))
    quote.subtotal = subtotal
    quote.discount_total = max(gross - subtotal, Decimal("0"))
    quote.tax_total = cents(subtotal * quote.tax_rate / HUNDRED)
    quote.total = subtotal + quote.tax_total


def replace_lines(quote: Quote, lines: list[QuoteLine]) -> None:
    quote.lines.all().delete()
    for line in lines:
        line.quote = quote
    QuoteLine.objects.bulk_create(lines, batch_size=500)
