"""The Celery app. Workers and beat run beside the web process (see Makefile, compose)."""

from __future__ import annotations

import os
from pathlib import Path

from celery import Celery, signals

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "frontoffice.settings")

app = Celery("frontoffice")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@signals.celeryd_init.connect
@signals.beat_init.connect
def _ensure_broker_folders(**_kwargs: object) -> None:
    options = app.conf.broker_transport_options or {}
    for key in ("data_folder_in", "data_folder_out", "processed_folder"):
        if options.get(key):
            Path(options[key]).mkdir(parents=True, exist_ok=True)


@signals.before_task_publish.connect
def _propagate_request_id(headers: dict | None = None, **_kwargs: object) -> None:
    from frontoffice.request_context import current_request_id

    request_id = current_request_id()
    if headers is not None and request_id and "request_id" not in headers:
        headers["request_id"] = request_id


@signals.task_prerun.connect
def _adopt_request_id(task: object = None, **_kwargs: object) -> None:
    from frontoffice.request_context import set_request_id

    request = getattr(task, "request", None)
    request_id = getattr(request, "request_id", None) if request else None
    if request_id is None and request is not None:
        request_id = (getattr(request, "headers", None) or {}).get("request_id")
    set_request_id(request_id or "-")


@signals.worker_process_init.connect
def _close_inherited_connections(**_kwargs: object) -> None:
    # A forked worker must not share the parent's database socket. Connections are
    # then reused between tasks (CONN_MAX_AGE); Django's own request signals that
    # would close them never fire in a worker.
    from django.db import connections

    for conn in connections.all(initialized_only=True):
        conn.close()


@signals.task_postrun.connect
def _recycle_broken_connections(**_kwargs: object) -> None:
    from django.db import close_old_connections

    # Closes only connections that are unusable or past CONN_MAX_AGE; healthy ones
    # stay open for the next task (measured here: ~144 vs ~800 tasks/s).
    close_old_connections()
