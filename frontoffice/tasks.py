"""Cross-cutting Celery plumbing: enqueue after commit, a heartbeat, and diagnostics."""

from __future__ import annotations

import logging
import os
import uuid
from functools import partial
from typing import Any

from celery import shared_task
from django.core.cache import cache
from django.db import connection, transaction
from django.utils import timezone

log = logging.getLogger(__name__)


def enqueue_on_commit(task: Any, *args: Any, **kwargs: Any) -> None:
    """Send `task` once the current transaction commits (now, outside one).

    Calling `.delay()` inside an open transaction lets a worker read the database
    before the change is visible, or run for a change that is then rolled back.
    """
    transaction.on_commit(partial(task.delay, *args, **kwargs))


@shared_task(name="frontoffice.tasks.heartbeat", ignore_result=True)
def heartbeat() -> str:
    """Beat's pulse: records when the worker last ran a scheduled task (cost: one cache write)."""
    now = timezone.now().isoformat()
    cache.set("frontoffice:heartbeat", now, timeout=None)
    log.info("heartbeat %s", now)
    return now


@shared_task(name="frontoffice.tasks.clear_expired_sessions", ignore_result=True)
def clear_expired_sessions() -> None:
    """Delete sessions past their expiry: idle ones end (SESSION_IDLE_MINUTES) but their
    rows stay until removed. One DELETE over the expiry index, daily."""
    from importlib import import_module

    from django.conf import settings

    import_module(settings.SESSION_ENGINE).SessionStore.clear_expired()


@shared_task(name="frontoffice.tasks.echo_request_id", ignore_result=False)
def echo_request_id(marker: str) -> dict[str, Any]:
    """Diagnostics: returns the request id this task runs under (tests use it)."""
    from frontoffice.request_context import current_request_id

    result = {"marker": marker, "request_id": current_request_id()}
    log.info("echo %s", marker)
    return result


def _connection_identity() -> str:
    """Names the database session this process is using, to prove connection reuse."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT pid::text || '@' || backend_start::text FROM pg_stat_activity"
                " WHERE pid = pg_backend_pid()"
            )
            return cursor.fetchone()[0]
        # SQLite has no server session; a TEMP table lives exactly as long as the
        # connection that created it, so its token identifies that connection.
        cursor.execute("CREATE TEMP TABLE IF NOT EXISTS fo_connection_probe (token TEXT)")
        cursor.execute("SELECT token FROM fo_connection_probe")
        row = cursor.fetchone()
        if row is not None:
            return row[0]
        token = uuid.uuid4().hex
        cursor.execute("INSERT INTO fo_connection_probe (token) VALUES (%s)", [token])
        return token


@shared_task(name="frontoffice.tasks.diagnostic_probe", ignore_result=True)
def diagnostic_probe(customer_id: int, marker: str) -> None:
    """Diagnostics: notes on the customer's timeline which request, process and database
    connection ran this task (the integration tests use it). Cost: two small queries."""
    from customers.services import activity_record
    from frontoffice.request_context import current_request_id

    log.info("diagnostic probe %s for customer %s", marker, customer_id)
    activity_record(
        customer_id=customer_id,
        kind="diagnostic",
        subject=f"Diagnostic probe {marker}"[:200],
        source_app="frontoffice",
        payload={
            "marker": marker,
            "request_id": current_request_id(),
            "pid": os.getpid(),
            "connection": _connection_identity(),
        },
    )
