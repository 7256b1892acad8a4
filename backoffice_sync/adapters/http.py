"""The `http` ERP adapter: JSON over HTTP to ERP_URL (the simulator's `run_erp_simulator`).

Connection errors, timeouts, 5xx answers, 429 (too many requests), 408 (request timeout)
and answers that are not what the API promises raise ErpUnavailable: the ERP is not
available now, the call may or may not have been applied, and re-sending is safe because
every message carries its idempotency key (the relay's circuit breaker waits it out). Any
other 4xx raises ErpBadRequest: the ERP refused the request itself, and sending it again
as it is would not help.

One `requests.Session` per adapter (connection reuse); `get_adapter()` keeps one adapter
per process, and Celery's prefork workers run one task at a time per process.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import requests
from django.conf import settings

from backoffice_sync.adapters import wire
from backoffice_sync.erp import (
    AdapterBase,
    ChangeBatch,
    DailyTotals,
    DeliveryResult,
    ErpBadRequest,
    ErpUnavailable,
    OutboundMessage,
    Product,
    StockLevel,
)

_MALFORMED = (KeyError, TypeError, ValueError)
# "Not now" rather than "not this": the ERP is busy or slow, not refusing the request.
UNAVAILABLE_4XX = frozenset({408, 429})


class HttpAdapter(AdapterBase):
    name = "http"

    def __init__(self, *, base_url: str | None = None, timeout: float | None = None) -> None:
        self.base_url = (base_url or settings.ERP_URL).rstrip("/")
        self.timeout = timeout if timeout is not None else settings.ERP_TIMEOUT_SECONDS
        self.session = requests.Session()
        self.session.headers.update({"Accept": "application/json", "User-Agent": "frontoffice-erp-adapter"})

    def _call(self, method: str, path: str, *, params: Any = None, body: Any = None) -> Any:
        try:
            response = self.session.request(
                method, f"{self.base_url}{path}", params=params, json=body, timeout=self.timeout
            )
        except requests.RequestException as exc:
            raise ErpUnavailable(f"ERP unreachable: {exc.__class__.__name__}: {exc}") from exc
        if response.status_code >= 500 or response.status_code in UNAVAILABLE_4XX:
            raise ErpUnavailable(f"ERP answered {response.status_code}: {_detail(response)}")
        if response.status_code >= 400:
            raise ErpBadRequest(f"ERP refused {method} {path} ({response.status_code}): {_detail(response)}")
        try:
            return response.json()
        except ValueError as exc:
            raise ErpUnavailable(f"ERP answered {response.status_code} without JSON") from exc

    def deliver(self, messages: Sequence[OutboundMessage]) -> list[DeliveryResult]:
        messages = list(messages)
        answer = self._call(
            "POST", "/v1/messages", body={"messages": [wire.message_to_json(m) for m in messages]}
        )
        try:
            results = [wire.result_from_json(raw) for raw in answer["results"]]
        except _MALFORMED as exc:
            raise ErpUnavailable(f"ERP answered a malformed delivery result: {exc}") from exc
        if [r.idempotency_key for r in results] != [m.idempotency_key for m in messages]:
            raise ErpUnavailable("ERP answered results that do not match the batch")
        return results

    def pull_changes(self, *, cursor: str | None, limit: int = 500) -> ChangeBatch:
        params: dict[str, Any] = {"limit": limit}
        if cursor:
            params["cursor"] = cursor
        answer = self._call("GET", "/v1/changes", params=params)
        try:
            return wire.changes_from_json(answer)
        except _MALFORMED as exc:
            raise ErpUnavailable(f"ERP answered a malformed change batch: {exc}") from exc

    def stock(self, skus: Sequence[str]) -> list[StockLevel]:
        if not skus:
            return []
        answer = self._call("GET", "/v1/stock", params=[("sku", sku) for sku in skus])
        try:
            return [wire.stock_from_json(raw) for raw in answer["stock"]]
        except _MALFORMED as exc:
            raise ErpUnavailable(f"ERP answered malformed stock levels: {exc}") from exc

    def catalogue(self) -> list[Product]:
        answer = self._call("GET", "/v1/products")
        try:
            return [wire.product_from_json(raw) for raw in answer["products"]]
        except _MALFORMED as exc:
            raise ErpUnavailable(f"ERP answered a malformed catalogue: {exc}") from exc

    def daily_totals(self, *, since: dt.date, until: dt.date) -> list[DailyTotals]:
        answer = self._call(
            "GET", "/v1/daily-totals", params={"since": since.isoformat(), "until": until.isoformat()}
        )
        try:
            return [wire.daily_totals_from_json(raw) for raw in answer["days"]]
        except _MALFORMED as exc:
            raise ErpUnavailable(f"ERP answered malformed daily totals: {exc}") from exc

    # Simulator controls: not part of the ErpAdapter protocol (a real ERP has none).

    def tick(self, hours: float) -> dt.datetime:
        """Advance the simulator's clock; returns the new time."""
        return dt.datetime.fromisoformat(self._call("POST", "/v1/tick", body={"hours": hours})["now"])

    def clock(self) -> dt.datetime:
        return dt.datetime.fromisoformat(self._call("GET", "/v1/clock")["now"])

    def set_faults(self, **knobs: Any) -> dict[str, Any]:
        return self._call("PUT", "/v1/faults", body=knobs)

    def get_faults(self) -> dict[str, Any]:
        return self._call("GET", "/v1/faults")

    def reset(self, *, seed: int | None = None, start: dt.datetime | None = None) -> None:
        self._call("POST", "/v1/reset", body={"seed": seed, "start": start.isoformat() if start else None})


def _detail(response: requests.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:200]
    return str(body.get("detail", body))[:500] if isinstance(body, dict) else str(body)[:500]
