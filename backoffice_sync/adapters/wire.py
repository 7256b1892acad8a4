"""The JSON form of the adapter interface's data, as the simulator's HTTP API speaks it.

Both ends use these functions (the `http` adapter and `manage.py run_erp_simulator`),
so the two cannot drift apart. The `from_json` functions raise KeyError, TypeError or
ValueError on malformed input; callers turn that into a 400 or an ErpUnavailable.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from backoffice_sync.erp import (
    ChangeBatch,
    DailyTotals,
    DeliveryResult,
    DeliveryStatus,
    ErpEvent,
    IncomingStock,
    MessageKind,
    OutboundMessage,
    Product,
    StockLevel,
)


def _require(raw: Any, kind: type, what: str) -> Any:
    if not isinstance(raw, kind) or (kind is int and isinstance(raw, bool)):
        raise TypeError(f"{what} must be a {kind.__name__}")
    return raw


def message_to_json(message: OutboundMessage) -> dict[str, Any]:
    return {
        "idempotency_key": message.idempotency_key,
        "kind": str(message.kind),
        "aggregate": message.aggregate,
        "payload": message.payload,
    }


def message_from_json(raw: Any) -> OutboundMessage:
    """The kind stays a plain string when unknown: the ERP rejects that message, not the batch."""
    _require(raw, dict, "a message")
    kind = _require(raw["kind"], str, "kind")
    return OutboundMessage(
        idempotency_key=_require(raw["idempotency_key"], str, "idempotency_key"),
        kind=MessageKind(kind) if kind in MessageKind._value2member_map_ else kind,
        aggregate=_require(raw.get("aggregate", ""), str, "aggregate"),
        payload=raw.get("payload"),  # checked by the ERP, per message
    )


def result_to_json(result: DeliveryResult) -> dict[str, Any]:
    return {
        "idempotency_key": result.idempotency_key,
        "status": str(result.status),
        "error": result.error,
        "data": result.data,
    }


def result_from_json(raw: Any) -> DeliveryResult:
    _require(raw, dict, "a result")
    return DeliveryResult(
        idempotency_key=_require(raw["idempotency_key"], str, "idempotency_key"),
        status=DeliveryStatus(raw["status"]),
        error=_require(raw.get("error", ""), str, "error"),
        data=_require(raw.get("data", {}), dict, "data"),
    )


def changes_to_json(batch: ChangeBatch) -> dict[str, Any]:
    return {
        "events": [event.as_json() for event in batch.events],
        "cursor": batch.cursor,
        "has_more": batch.has_more,
    }


def changes_from_json(raw: Any) -> ChangeBatch:
    _require(raw, dict, "a change batch")
    return ChangeBatch(
        events=[ErpEvent.from_json(event) for event in _require(raw["events"], list, "events")],
        cursor=_require(raw["cursor"], str, "cursor"),
        has_more=_require(raw["has_more"], bool, "has_more"),
    )


def stock_to_json(level: StockLevel) -> dict[str, Any]:
    return {
        "sku": level.sku,
        "warehouse": level.warehouse,
        "on_hand": level.on_hand,
        "reserved": level.reserved,
        "incoming": [
            {"quantity": i.quantity, "expected_on": i.expected_on.isoformat()} for i in level.incoming
        ],
        "version": level.version,
    }


def stock_from_json(raw: Any) -> StockLevel:
    _require(raw, dict, "a stock level")
    return StockLevel(
        sku=_require(raw["sku"], str, "sku"),
        warehouse=_require(raw["warehouse"], str, "warehouse"),
        on_hand=_require(raw["on_hand"], int, "on_hand"),
        reserved=_require(raw["reserved"], int, "reserved"),
        incoming=tuple(
            IncomingStock(
                quantity=_require(i["quantity"], int, "quantity"),
                expected_on=dt.date.fromisoformat(i["expected_on"]),
            )
            for i in _require(raw["incoming"], list, "incoming")
        ),
        version=_require(raw["version"], int, "version"),
    )


def product_to_json(product: Product) -> dict[str, Any]:
    return {
        "sku": product.sku,
        "name": product.name,
        "unit_price": str(product.unit_price),
        "currency": product.currency,
        "lead_time_days": product.lead_time_days,
        "active": product.active,
        "version": product.version,
    }


def product_from_json(raw: Any) -> Product:
    _require(raw, dict, "a product")
    return Product(
        sku=_require(raw["sku"], str, "sku"),
        name=_require(raw["name"], str, "name"),
        unit_price=Decimal(_require(raw["unit_price"], str, "unit_price")),
        currency=_require(raw["currency"], str, "currency"),
        lead_time_days=_require(raw["lead_time_days"], int, "lead_time_days"),
        active=_require(raw["active"], bool, "active"),
        version=_require(raw["version"], int, "version"),
    )


def daily_totals_to_json(totals: DailyTotals) -> dict[str, Any]:
    return {
        "day": totals.day.isoformat(),
        "orders": totals.orders,
        "invoiced": {currency: f"{amount:.2f}" for currency, amount in totals.invoiced.items()},
    }


def daily_totals_from_json(raw: Any) -> DailyTotals:
    _require(raw, dict, "a day's totals")
    invoiced = _require(raw["invoiced"], dict, "invoiced")
    return DailyTotals(
        day=dt.date.fromisoformat(_require(raw["day"], str, "day")),
        orders=_require(raw["orders"], int, "orders"),
        invoiced={
            _require(c, str, "currency"): Decimal(_require(a, str, "amount")) for c, a in invoiced.items()
        },
    )
