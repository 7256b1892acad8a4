"""What tests need to point another process (a Celery worker, the ERP simulator server)
at this test process's database and broker."""

from __future__ import annotations

import sys
from pathlib import Path
from urllib.parse import quote

from django.db import connection


def this_test_database_url() -> str:
    """The database this test process really uses (the test database, not the dev one)."""
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{Path(db['NAME']).resolve()}"
    credentials = quote(db["USER"] or "", safe="")
    if db["PASSWORD"]:
        credentials += ":" + quote(db["PASSWORD"], safe="")
    host = db["HOST"] or "127.0.0.1"
    return f"postgres://{credentials}@{host}:{db['PORT'] or 5432}/{quote(db['NAME'], safe='')}"


def celery_worker_argv(*, queue: str, name: str) -> list[str]:
    """A one-process prefork worker on its own queue, quiet on the cluster chatter."""
    return [
        str(Path(sys.executable).parent / "celery"),
        "-A",
        "config",
        "worker",
        "--pool",
        "prefork",
        "--concurrency",
        "1",
        "-l",
        "info",
        "-Q",
        queue,
        "-n",
        f"{name}@%h",
        "--without-gossip",
        "--without-mingle",
        "--without-heartbeat",
    ]
