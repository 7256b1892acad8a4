"""An in-memory ERP for the outbox tests: honours idempotency keys, counts calls, and can
be down, lose its answer after applying, or reject chosen messages."""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from backoffice_sync.erp import DeliveryResult, DeliveryStatus, ErpUnavailable, OutboundMessage


@dataclass
class FakeErp:
    name: str = "fake"
    down: bool = False
    lose_next_answers: int = 0  # apply the batch, then fail the call as a timeout would
    reject: Callable[[OutboundMessage], str | None] = lambda message: None
    on_deliver: Callable[[Sequence[OutboundMessage]], None] | None = None
    calls: list[list[str]] = field(default_factory=list)  # keys of every call, answered or not
    applied: dict[str, OutboundMessage] = field(default_factory=dict)
    applied_times: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    per_aggregate: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))  # kinds, in order
    lock: threading.Lock = field(default_factory=threading.Lock)

    def deliver(self, messages: Sequence[OutboundMessage]) -> list[DeliveryResult]:
        if self.on_deliver is not None:
            self.on_deliver(messages)
        with self.lock:
            self.calls.append([m.idempotency_key for m in messages])
            if self.down:
                raise ErpUnavailable("the ERP is down")
            results = []
            for message in messages:
                if message.idempotency_key in self.applied:
                    results.append(DeliveryResult(message.idempotency_key, DeliveryStatus.DUPLICATE))
                    continue
                reason = self.reject(message)
                if reason:
                    results.append(DeliveryResult(message.idempotency_key, DeliveryStatus.REJECTED, reason))
                    continue
                self.applied[message.idempotency_key] = message
                self.applied_times[message.idempotency_key] += 1
                self.per_aggregate[message.aggregate].append(str(message.kind))
                results.append(
                    DeliveryResult(
                        message.idempotency_key,
                        DeliveryStatus.ACCEPTED,
                        data={"erp_ref": f"ERP-{len(self.applied)}"},
                    )
                )
            if self.lose_next_answers:
                self.lose_next_answers -= 1
                raise ErpUnavailable("timed out waiting for the answer")
            return results

    def pull_changes(self, *, cursor: str | None, limit: int = 500):  # pragma: no cover
        raise NotImplementedError

    def stock(self, skus):  # pragma: no cover
        raise NotImplementedError

    def catalogue(self):  # pragma: no cover
        raise NotImplementedError


class CountingAdapter:
    """Wraps a real adapter and records the keys of every call (answered or not)."""

    name = "counting"

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.calls: list[list[str]] = []
        self.lock = threading.Lock()

    def deliver(self, messages: Sequence[OutboundMessage]) -> list[DeliveryResult]:
        with self.lock:
            self.calls.append([m.idempotency_key for m in messages])
        return self.inner.deliver(messages)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def order_payload(order_ref: str, *, customer_ref: str = "C-1", quantity: int = 1) -> dict[str, Any]:
    """An order.submit payload the simulator accepts (FO-1001 is in its catalogue)."""
    return {
        "order_ref": order_ref,
        "customer_ref": customer_ref,
        "currency": "EUR",
        "requested_date": None,
        "lines": [{"line_no": 1, "sku": "FO-1001", "quantity": quantity, "unit_price": "10.00"}],
        "ship_to": None,
    }
