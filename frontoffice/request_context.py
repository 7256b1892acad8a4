"""The id of the request (or task) being served, for log lines and Celery headers."""

from __future__ import annotations

import contextvars
import logging
import re

_request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")

# What we accept from a proxy or a message header: short and unable to break a log line.
_SANE_ID = re.compile(r"[A-Za-z0-9._-]{8,64}")


def is_sane_request_id(value: object) -> bool:
    return isinstance(value, str) and _SANE_ID.fullmatch(value) is not None


def current_request_id() -> str | None:
    value = _request_id.get()
    return None if value == "-" else value


def set_request_id(value: str | None) -> contextvars.Token[str]:
    return _request_id.set(value or "-")


def reset_request_id(token: contextvars.Token[str]) -> None:
    _request_id.reset(token)


class RequestIdFilter(logging.Filter):
    """Adds `request_id` to every record so one format string serves web and worker."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = _request_id.get()
        return True
