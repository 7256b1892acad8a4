"""A tiny in-process publish/subscribe, so that an app can tell others what happened
without importing them (backoffice_sync publishes `order.shipped`; sales listens).

Handlers run synchronously inside the publisher's transaction; slow work belongs in
a task enqueued with `enqueue_on_commit`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from typing import Any

Handler = Callable[..., None]
_subscribers: dict[str, list[Handler]] = defaultdict(list)


def subscribe(event: str, handler: Handler) -> None:
    if handler not in _subscribers[event]:
        _subscribers[event].append(handler)


def publish(event: str, **payload: Any) -> None:
    for handler in list(_subscribers.get(event, ())):
        handler(event=event, **payload)
