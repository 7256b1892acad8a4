"""Cross-cutting Celery tasks: beat's heartbeat and a request-id diagnostic.
(Enqueueing after commit: `frontoffice.write_path.enqueue_on_commit`.)"""

from __future__ import annotations

import logging
from typing import Any

from celery import shared_task
from django.core.cache import cache
from django.utils import timezone

log = logging.getLogger(__name__)


# Celery ships no type information: its decorators are untyped.
@shared_task(name="frontoffice.tasks.heartbeat", ignore_result=True)  # type: ignore[untyped-decorator]
def heartbeat() -> str:
    """Beat's pulse: records when the worker last ran a scheduled task (cost: one cache write)."""
    now = timezone.now().isoformat()
    cache.set("frontoffice:heartbeat", now, timeout=None)
    log.info("heartbeat %s", now)
    return now


# Untyped decorator, as above.
@shared_task(name="frontoffice.tasks.clear_expired_sessions", ignore_result=True)  # type: ignore[untyped-decorator]
def clear_expired_sessions() -> None:
    """Delete sessions past their expiry: idle ones end (SESSION_IDLE_MINUTES) but their
    rows stay until removed. One DELETE over the expiry index, daily."""
    from importlib import import_module

    from django.conf import settings

    import_module(settings.SESSION_ENGINE).SessionStore.clear_expired()


# Untyped decorator, as above.
@shared_task(name="frontoffice.tasks.echo_request_id", ignore_result=False)  # type: ignore[untyped-decorator]
def echo_request_id(marker: str) -> dict[str, Any]:
    """Diagnostics: returns the request id this task runs under (tests use it)."""
    from frontoffice.request_context import current_request_id

    result = {"marker": marker, "request_id": current_request_id()}
    log.info("echo %s", marker)
    return result


# Untyped decorator, as above.
@shared_task(name="frontoffice.tasks.purge_idempotency_keys", ignore_result=True)  # type: ignore[untyped-decorator]
def purge_idempotency_keys() -> int:
    """Delete Idempotency-Keys and form tokens older than IDEMPOTENCY_KEY_TTL_HOURS
    (one DELETE over the expiry index, hourly)."""
    from frontoffice.idempotency import purge_expired

    return purge_expired()


# Untyped decorator, as above.
@shared_task(name="frontoffice.tasks.purge_expired_api_tokens", ignore_result=True)  # type: ignore[untyped-decorator]
def purge_expired_api_tokens() -> int:
    """Delete API tokens past their expiry (one DELETE, hourly): what knox did on every
    authenticated request for the caller's other tokens (`TokenAuthentication`)."""
    from knox.models import AuthToken

    _, deleted = AuthToken.objects.filter(expiry__lt=timezone.now()).delete()
    return int(deleted.get(AuthToken._meta.label, 0))
