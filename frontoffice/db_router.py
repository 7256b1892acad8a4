"""Reads to a read replica, writes to the primary (settings: DATABASE_REPLICA_URL).

- Every write goes to `default`.
- A read inside a transaction goes to `default`: it must see the transaction's own
  writes, and a `select_for_update` has to lock the primary's rows.
- After a write, the rest of the request (or task) reads from `default` too: the
  replica may not have the write yet (replication lag), and a client that just saved
  must read what it saved. `request_started` (and Celery's `task_prerun`) unpin.
- And the browser's next requests for `DATABASE_REPLICA_PIN_SECONDS` (a cookie set by
  `ReadYourWritesMiddleware`): the page a form redirects to after saving (the 360 after
  a logged call) must show what was saved, whatever the replica's lag.
- The session and API token rows are always read from `default`: a login or a token
  just made must work on the very next request, cookie or not.
- Everything else reads from `replica`.

Migrations run on `default` only; the replica follows by replication.
"""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar
from typing import Any

from django.conf import settings
from django.db import connections
from django.http import HttpRequest, HttpResponse

REPLICA = "replica"
PIN_COOKIE = "fo_read_primary"
# Read where the rows are written, whatever the lag: what authenticates a request.
PRIMARY_READS = frozenset({"sessions.Session", "knox.AuthToken"})
_pinned: ContextVar[bool] = ContextVar("frontoffice_db_pinned", default=False)
_wrote: ContextVar[bool] = ContextVar("frontoffice_db_wrote", default=False)


def unpin(**_: Any) -> None:
    """A new request or task reads from the replica again."""
    _pinned.set(False)
    _wrote.set(False)


def pinned() -> bool:
    """Whether this request or task reads from the primary (it wrote, or was told to)."""
    return _pinned.get()


class ReplicaRouter:
    def db_for_read(self, model: Any, **hints: Any) -> str | None:
        if REPLICA not in connections.databases:
            return None
        if _pinned.get() or connections["default"].in_atomic_block or model._meta.label in PRIMARY_READS:
            return "default"
        return REPLICA

    def db_for_write(self, model: Any, **hints: Any) -> str:
        _pinned.set(True)
        _wrote.set(True)
        return "default"

    def allow_relation(self, obj1: Any, obj2: Any, **hints: Any) -> bool:
        # The same data on both aliases.
        return True

    def allow_migrate(self, db: str, app_label: str, model_name: str | None = None, **hints: Any) -> bool:
        return db == "default"


class ReadYourWritesMiddleware:
    """With a replica (settings add it before the session's middleware): a request with
    the pin cookie reads from the primary; a request that wrote (the view, or the
    session saved on the way out) sets the cookie for `DATABASE_REPLICA_PIN_SECONDS`,
    so the next pages show what it saved even while the replica lags."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.COOKIES.get(PIN_COOKIE):
            _pinned.set(True)
        response = self.get_response(request)
        if _wrote.get():
            response.set_cookie(
                PIN_COOKIE,
                "1",
                max_age=settings.DATABASE_REPLICA_PIN_SECONDS,
                httponly=True,
                samesite="Lax",
                secure=settings.SESSION_COOKIE_SECURE,
            )
        return response
