"""Request id and access log."""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from frontoffice.request_context import reset_request_id, set_request_id

access_log = logging.getLogger("frontoffice.requests")
_VALID_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


class RequestIdMiddleware:
    """One log line per request: id, user, method, path, status, duration.

    The id comes from a trusted `X-Request-ID` header when it looks sane, else is new;
    it is returned as `X-Request-ID` and follows into Celery tasks started here.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.headers.get("X-Request-ID", "")
        request_id = incoming if _VALID_ID.match(incoming) else uuid.uuid4().hex
        request.request_id = request_id
        token = set_request_id(request_id)
        started = time.perf_counter()
        try:
            response = self.get_response(request)
            duration_ms = (time.perf_counter() - started) * 1000
            user = getattr(request, "user", None)
            username = user.get_username() if user is not None and user.is_authenticated else "-"
            response["X-Request-ID"] = request_id
            access_log.info(
                "%s %s %s user=%s duration_ms=%.1f",
                request.method,
                request.path,
                response.status_code,
                username,
                duration_ms,
            )
            return response
        finally:
            reset_request_id(token)
