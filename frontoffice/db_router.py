"""Reads to a read replica, writes to the primary (settings: DATABASE_REPLICA_URL).

- Every write goes to `default`.
- A read inside a transaction goes to `default`: it must see the transaction's own
  writes, and a `select_for_update` has to lock the primary's rows.
- After a write, the rest of the request (or task) reads from `default` too: the
  replica may not have the write yet (replication lag), and a client that just saved
  must read what it saved. `request_started` (and Celery's `task_prerun`) unpin.
- Everything else reads from `replica`.

Migrations run on `default` only; the replica follows by replication.
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any

from django.db import connections

REPLICA = "replica"
_pinned: ContextVar[bool] = ContextVar("frontoffice_db_pinned", default=False)


def unpin(**_: Any) -> None:
    """A new request or task reads from the replica again."""
    _pinned.set(False)


class ReplicaRouter:
    def db_for_read(self, model: Any, **hints: Any) -> str | None:
        if REPLICA not in connections.databases:
            return None
        if _pinned.get() or connections["default"].in_atomic_block:
            return "default"
        return REPLICA

    def db_for_write(self, model: Any, **hints: Any) -> str:
        _pinned.set(True)
        return "default"

    def allow_relation(self, obj1: Any, obj2: Any, **hints: Any) -> bool:
        # The same data on both aliases.
        return True

    def allow_migrate(self, db: str, app_label: str, model_name: str | None = None, **hints: Any) -> bool:
        return db == "default"
