"""A tiny in-process publish/subscribe, so that an app can tell others what happened
without importing them (backoffice_sync publishes `OrderShipped`; whoever cares
subscribes in its hooks).

An event is an instance of a contract: a frozen dataclass defined once, in the
publishing app's `events.py`. Subscribers name the contract class and a phase
(`frontoffice.plugin.Phase`):

- IN_TRANSACTION handlers run at once, inside the publisher's transaction: their
  writes commit or roll back with the change (an outbox row for the ERP).
- AFTER_COMMIT handlers run once the publisher's transaction has committed, and never
  for a rollback; one that fails is logged and cannot undo what committed. Slow work
  belongs in a Celery task (`frontoffice.write_path.enqueue_on_commit`).

One event type has one kind of semantics per subscriber, chosen by name, never a mix
decided by who happens to call `publish`.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator
from functools import partial
from typing import Any, TypeVar

from django.db import transaction

from frontoffice import plugin
from frontoffice.plugin import Phase, Subscription

log = logging.getLogger(__name__)
E = TypeVar("E")

# Subscriptions added at run time (tests); apps declare theirs in hooks.
_extra: list[Subscription[Any]] = []


def subscriptions(event_type: type[E]) -> list[Subscription[E]]:
    declared = [s for h in plugin.load() for s in h.hooks.subscriptions]
    return [s for s in (*declared, *_extra) if s.event is event_type]


def publish(event: object) -> None:
    """Deliver `event` to the subscribers of its type, each in its declared phase."""
    for subscription in subscriptions(type(event)):
        if subscription.phase is Phase.IN_TRANSACTION:
            subscription.handler(event)
        else:
            transaction.on_commit(partial(_deliver_after_commit, subscription.handler, event))


def _deliver_after_commit(handler: Callable[[E], object], event: E) -> None:
    try:
        handler(event)
    except Exception:  # the change has committed: log and carry on with the others
        log.exception("Subscriber %s failed on %s", getattr(handler, "__qualname__", handler), event)


@contextlib.contextmanager
def listening(event_type: type[E], handler: Callable[[E], object], phase: Phase) -> Iterator[None]:
    """Subscribe `handler` for the duration of a `with` block (tests, tools)."""
    subscription = Subscription(event=event_type, handler=handler, phase=phase)
    _extra.append(subscription)
    try:
        yield
    finally:
        _extra.remove(subscription)
