"""Re-pointing the Celery app for one test (its conf is read once, not from Django settings)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from kombu import pools

from config.celery import app


def _drop_broker_pools() -> None:
    # The app caches its connection and producer pools on first publish (and kombu
    # keeps them in a process-wide registry); without dropping them a changed broker
    # URL or folder would be silently ignored, or a closed pool handed back.
    pools.reset()
    app._pool = None
    app.amqp._producer_pool = None


@contextmanager
def celery_conf(**changes: Any) -> Iterator[None]:
    """Applies `changes` to `app.conf` (e.g. broker_url, task_always_eager) and undoes them."""
    saved = {name: app.conf[name] for name in changes}
    _drop_broker_pools()
    app.conf.update(changes)
    try:
        yield
    finally:
        _drop_broker_pools()
        app.conf.update(saved)
