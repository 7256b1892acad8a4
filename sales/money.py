"""Money and percentages as sales computes and checks them: Decimals rounded half up to
the cent, and the one check of a number typed in (a price, a discount, a tax rate)."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

CENT = Decimal("0.01")
HUNDRED = Decimal("100")


def cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def decimal_between(
    errors: dict[str, list[str]], key: str, value: Any, *, low: Decimal, high: Decimal
) -> Decimal:
    """`value` as a Decimal from `low` to `high` with at most 2 places; else `low`, and a
    message in `errors[key]`."""
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
