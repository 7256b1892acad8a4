"""The Celery queues sales' tasks run on, and how each retries.

Retries are for transient failures only (a mail server that hung up, a timeout): a task
raises `TransientError` for those, and its queue's kwargs bound the retries, spaced out
exponentially with jitter so that a recovering server is not hit by every worker at once.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any


class TransientError(Exception):
    """A failure worth trying again later (the effect did not happen)."""


class Queue(StrEnum):
    # The queue `celery worker` consumes without -Q (Makefile, docker-compose), where
    # every sales task goes (a task on another one would be routed by CELERY_TASK_ROUTES).
    DEFAULT = "celery"


RETRY: Mapping[Queue, Mapping[str, Any]] = {
    Queue.DEFAULT: {
        "autoretry_for": (TransientError,),
        "retry_backoff": 30,  # seconds before the first retry; doubled each time
        "retry_backoff_max": 15 * 60,
        "retry_jitter": True,
        "max_retries": 5,  # about 15 minutes of trying before giving up
    },
}
