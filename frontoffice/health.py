"""Liveness and readiness probes (JSON, no login)."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from django.contrib.auth.decorators import login_not_required
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache

# A probe that hangs is worse than one that fails: orchestrators time out at a few
# seconds, so every check gives up after this long.
CHECK_TIMEOUT_SECONDS = 1.0


@login_not_required
@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    """The process is alive and serving requests."""
    return JsonResponse({"status": "ok"})


def _check_database() -> dict[str, Any]:
    started = time.perf_counter()
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # any failure means "not ready"; the name says which
        return {"ok": False, "error": type(exc).__name__}
    return {"ok": True, "ms": round((time.perf_counter() - started) * 1000, 1)}


def _check_broker() -> dict[str, Any]:
    from celery import current_app as app

    started = time.perf_counter()
    try:
        with app.connection_for_write(
            connect_timeout=CHECK_TIMEOUT_SECONDS,
            # Redis reads its timeouts from the transport options (merged into the app's).
            transport_options={
                "socket_connect_timeout": CHECK_TIMEOUT_SECONDS,
                "socket_timeout": CHECK_TIMEOUT_SECONDS,
            },
        ) as conn:
            # No retry: kombu would otherwise sleep 2 s between attempts.
            conn.ensure_connection(max_retries=0, timeout=CHECK_TIMEOUT_SECONDS)
            if conn.transport.driver_type == "filesystem":
                # "Connecting" to folders always succeeds; publishing needs them writable.
                folder = Path(conn.transport_options.get("data_folder_out", "data_out"))
                if not (folder.is_dir() and os.access(folder, os.W_OK)):
                    return {"ok": False, "error": "BrokerFolderNotWritable"}
    except Exception as exc:  # any failure means "not ready"; the name says which
        return {"ok": False, "error": type(exc).__name__}
    return {"ok": True, "ms": round((time.perf_counter() - started) * 1000, 1)}


@login_not_required
@never_cache
def readyz(request: HttpRequest) -> JsonResponse:
    """Database and broker reachable: 200, else 503 naming what failed."""
    checks = {"database": _check_database(), "broker": _check_broker()}
    ready = all(check["ok"] for check in checks.values())
    failing = sorted(name for name, check in checks.items() if not check["ok"])
    return JsonResponse(
        {"status": "ok" if ready else "unavailable", "failing": failing, "checks": checks},
        status=200 if ready else 503,
    )
