"""The rules of an opportunity's values: amounts, the currency, the campaign reference,
and its product lines (checked against the ERP catalogue's mirror)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from backoffice_sync.models import Product
from frontoffice.write_path import clean_text
from sales.pipeline.models import OpportunityLine

MAX_AMOUNT = Decimal("999999999999.99")
MAX_LINES = 100
MAX_CAMPAIGN_ID = 2**31 - 1
_currency = re.compile(r"[A-Z]{3}")


def money(errors: dict[str, list[str]], field: str, value: Any) -> Decimal:
    try:
        amount = value if isinstance(value, Decimal) else Decimal(str(value))
    except (InvalidOperation, ValueError):
        errors.setdefault(field, []).append("Enter an amount, e.g. 1200.50.")
        return Decimal("0")
    if not amount.is_finite():
        errors.setdefault(field, []).append("Enter an amount, e.g. 1200.50.")
        return Decimal("0")
    if amount < 0:
        errors.setdefault(field, []).append("An amount cannot be negative.")
    elif amount > MAX_AMOUNT:
        errors.setdefault(field, []).append("The amount is too large.")
    elif amount != amount.quantize(Decimal("0.01")):
        errors.setdefault(field, []).append("At most 2 decimal places.")
    return amount


def currency_code(errors: dict[str, list[str]], value: Any) -> str:
    if not isinstance(value, str) or not _currency.fullmatch(value):
        errors.setdefault("currency", []).append("Use a 3-letter ISO currency code in capitals, e.g. EUR.")
        return ""
    return value


def campaign_reference(errors: dict[str, list[str]], value: Any) -> int | None:
    """A marketing campaign's id (a reference: there is no foreign key yet)."""
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_CAMPAIGN_ID:
        errors.setdefault("campaign_id", []).append("Expected a campaign id (a positive whole number).")
        return None
    return int(value)


def clean_lines(errors: dict[str, list[str]], items: Any, currency: str) -> list[OpportunityLine]:
    """The new lines ({sku, quantity, unit_price?, description?}), unsaved, priced from the
    catalogue when no price is given; problems keyed `lines.N.field` in `errors`."""
    if not isinstance(items, list | tuple):
        errors["lines"] = ["Expected a list of lines."]
        return []
    if len(items) > MAX_LINES:
        errors["lines"] = [f"At most {MAX_LINES} lines."]
        return []
    skus = {
        item.get("sku") for item in items if isinstance(item, Mapping) and isinstance(item.get("sku"), str)
    }
    products = {p.sku: p for p in Product.objects.filter(sku__in=skus)} if skus else {}
    lines = []
    for index, item in enumerate(items):
        prefix = f"lines.{index}"
        if not isinstance(item, Mapping):
            errors[prefix] = ["Expected an object."]
            continue
        row: dict[str, list[str]] = {}
        sku = clean_text(row, "sku", item.get("sku"), 64)
        product = products.get(sku)
        if product is None and "sku" not in row:
            row["sku"] = ["No product with this SKU in the catalogue."]
        quantity = money(row, "quantity", item.get("quantity", 1))
        if "quantity" not in row and quantity <= 0:
            row["quantity"] = ["The quantity must be more than 0."]
        elif "quantity" in row:
            row["quantity"] = ["The quantity must be a number more than 0."]
        if item.get("unit_price") is None:
            if product is not None and product.currency != currency:
                row["unit_price"] = [
                    f"The catalogue price is in {product.currency}: give a price in {currency}."
                ]
            unit_price = product.unit_price if product is not None else Decimal("0")
        else:
            unit_price = money(row, "unit_price", item.get("unit_price"))
        description = clean_text(row, "description", item.get("description"), 200)
        for key, messages in row.items():
            errors[f"{prefix}.{key}"] = messages
        if not row:
            lines.append(
                OpportunityLine(
                    sku=sku,
                    description=description or (product.name[:200] if product else ""),
                    quantity=quantity,
                    unit_price=unit_price,
                )
            )
    return lines
