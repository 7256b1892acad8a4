"""Checks of the payloads the front office sends: a message that fails one is rejected
with the reason, never half applied."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from backoffice_sync.simulator.engine.rules import CENT, MAX_BATCH, Rejected
from backoffice_sync.simulator.models import SimProduct

_CURRENCY = re.compile(r"[A-Z]{3}")


def check_text(payload: Mapping[str, Any], key: str, *, max_length: int = 100, required: bool = True) -> str:
    value = payload.get(key)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value.strip()):
        raise Rejected(f"{key} must be a non-empty string")
    if len(value) > max_length:
        raise Rejected(f"{key} must be at most {max_length} characters")
    return value


def check_currency(payload: Mapping[str, Any]) -> str:
    value = payload.get("currency")
    if not isinstance(value, str) or not _CURRENCY.fullmatch(value):
        raise Rejected("currency must be a three-letter ISO code such as EUR")
    return value


def check_decimal(value: Any, key: str, *, positive: bool) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise Rejected(f"{key} must be a decimal number")
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        raise Rejected(f"{key} must be a decimal number") from None
    if not amount.is_finite() or amount < 0 or (positive and amount == 0) or amount >= Decimal("1e11"):
        raise Rejected(f"{key} must be {'positive' if positive else 'zero or more'} (got {value})")
    return amount.quantize(CENT)


def check_quantity(value: Any, key: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise Rejected(f"{key} must be an integer")
    if value <= 0:
        raise Rejected(f"{key} must be positive (got {value})")
    if value > 1_000_000:
        raise Rejected(f"{key} is too large (got {value})")
    return value


def optional_date(payload: Mapping[str, Any], key: str) -> dt.date | None:
    value = payload.get(key)
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except (TypeError, ValueError):
        raise Rejected(f"{key} must be an ISO date (YYYY-MM-DD) or null") from None


def optional_object(payload: Mapping[str, Any], key: str) -> dict[str, Any] | None:
    value = payload.get(key)
    if value is not None and not isinstance(value, dict):
        raise Rejected(f"{key} must be an object or null")
    return value


def check_lines(payload: Mapping[str, Any]) -> list[dict[str, Any]]:
    lines = payload.get("lines")
    if not isinstance(lines, list) or not lines:
        raise Rejected("lines must be a non-empty list")
    if len(lines) > MAX_BATCH:
        raise Rejected(f"at most {MAX_BATCH} lines")
    if not all(isinstance(line, dict) for line in lines):
        raise Rejected("every line must be an object")
    return lines


def check_active(skus: Iterable[str], products: dict[str, SimProduct]) -> None:
    """Rejects the first unknown or discontinued SKU, in SKU order."""
    for sku in sorted(set(skus)):
        if sku not in products:
            raise Rejected(f"unknown SKU {sku}")
        if not products[sku].active:
            raise Rejected(f"SKU {sku} is discontinued")


def active_products(skus: Iterable[str]) -> dict[str, SimProduct]:
    wanted = sorted(set(skus))
    products = {p.sku: p for p in SimProduct.objects.filter(sku__in=wanted)}
    check_active(wanted, products)
    return products
