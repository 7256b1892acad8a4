"""The Celery app. Workers and beat run beside the web process (see Makefile, compose)."""

from __future__ import annotations

import os

from celery import Celery, signals
from celery.beat import PersistentScheduler

from frontoffice import broker

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
# Before any connection is made: the settings' embedded broker URL names this transport.
broker.register()

app = Celery("frontoffice")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# Request id each running task replaced, restored when it ends (keyed by task id, so
# nested eager tasks and thread pools each get their own value back).
_replaced_request_ids: dict[str, str | None] = {}


@signals.setup_logging.connect
def _use_project_logging(loglevel: int | str | None = None, **_kwargs: object) -> None:
    # Connecting here stops Celery from replacing the root handlers, so worker and beat
    # lines carry the same format as the web's, request id included; `-l` still rules.
    import logging.config

    from django.conf import settings

    logging.config.dictConfig(settings.LOGGING)
    if loglevel:
        logging.getLogger().setLevel(loglevel)


def install_beat_schedule() -> dict:
    from frontoffice import plugin

    schedule = plugin.beat_schedule()
    app.conf.beat_schedule = schedule
    return schedule


class AppsScheduler(PersistentScheduler):
    """Celery beat's persistent scheduler (the schedule file in VAR_DIR), on every app's
    periodic tasks (their hooks). The settings name it (`CELERY_BEAT_SCHEDULER`).

    The schedule is installed here, where the scheduler reads it, once Django is set up.
    Not on `beat_init`: beat builds its scheduler before it sends that signal (to log
    the scheduler's max interval), so a schedule installed there was never read: beat
    kept only Celery's own entry and sent no sweep at all, and the outbox waited for
    on-commit kicks alone.
    """

    def setup_schedule(self) -> None:
        install_beat_schedule()
        super().setup_schedule()


@signals.before_task_publish.connect
def _propagate_request_id(headers: dict | None = None, **_kwargs: object) -> None:
    from frontoffice.request_context import current_request_id

    request_id = current_request_id()
    if headers is not None and request_id and "request_id" not in headers:
        headers["request_id"] = request_id


@signals.task_prerun.connect
def _read_from_the_replica_again(task: object = None, **_kwargs: object) -> None:
    """A worker's task starts unpinned from the primary (frontoffice/db_router.py); an
    eager task runs inside its publisher's request and keeps that request's pin."""
    if not getattr(getattr(task, "request", None), "is_eager", False):
        from frontoffice.db_router import unpin

        unpin()


@signals.task_prerun.connect
def _adopt_request_id(task_id: str | None = None, task: object = None, **_kwargs: object) -> None:
    from frontoffice.request_context import current_request_id, is_sane_request_id, set_request_id

    # A worker finds the id in the message headers (Celery exposes them as request
    # attributes). An eager task has none: it runs in the publisher's context and
    # simply keeps the id it inherited.
    request = getattr(task, "request", None)
    incoming = getattr(request, "request_id", None)
    if incoming is None:
        incoming = (getattr(request, "headers", None) or {}).get("request_id")
    _replaced_request_ids[task_id or ""] = current_request_id()
    if is_sane_request_id(incoming):
        set_request_id(incoming)


@signals.task_postrun.connect
def _restore_request_id(task_id: str | None = None, **_kwargs: object) -> None:
    from frontoffice.request_context import set_request_id

    # Without this an eager task would leave its id (or none) behind in the request
    # that ran it, and a worker would log the last task's id on unrelated lines.
    set_request_id(_replaced_request_ids.pop(task_id or "", None))


@signals.worker_process_init.connect
def _close_inherited_connections(**_kwargs: object) -> None:
    # A forked worker must not share the parent's database socket. Connections are
    # then reused between tasks (CONN_MAX_AGE); Django's own request signals that
    # would close them never fire in a worker.
    from django.db import connections

    for conn in connections.all(initialized_only=True):
        conn.close()


@signals.task_postrun.connect
def _recycle_broken_connections(task: object = None, **_kwargs: object) -> None:
    from django.db import close_old_connections

    # An eager task runs on its caller's connection, maybe inside the caller's
    # transaction: closing it there would break the caller, so only workers recycle.
    if getattr(getattr(task, "request", None), "is_eager", False):
        return
    # Closes only connections that are unusable or past CONN_MAX_AGE; healthy ones
    # stay open for the next task (measured here: ~144 vs ~800 tasks/s).
    close_old_connections()
