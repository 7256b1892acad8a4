"""Request id and access log."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable

from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.http import HttpRequest, HttpResponse
from django.utils.encoding import escape_uri_path

from frontoffice.request_context import is_sane_request_id, reset_request_id, set_request_id

access_log = logging.getLogger("frontoffice.requests")


class RequestIdMiddleware:
    """One log line per request: id, user, method, path, status, duration.

    The id comes from an incoming `X-Request-ID` header (set by the proxy) when it looks
    sane, else is new; it is returned as `X-Request-ID` and follows into Celery tasks
    published while the request runs (see config/celery.py).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.headers.get("X-Request-ID", "")
        request_id = incoming if is_sane_request_id(incoming) else uuid.uuid4().hex
        # For views and templates; HttpRequest declares no such attribute (code that is
        # not handed the request reads frontoffice.request_context.current_request_id()).
        request.request_id = request_id  # type: ignore[attr-defined]
        token = set_request_id(request_id)
        started = time.perf_counter()
        try:
            # Django turns exceptions into responses inside get_response, so a 500 is
            # logged here like any other status.
            response = self.get_response(request)
            duration_ms = (time.perf_counter() - started) * 1000
            user = getattr(request, "user", None)
            username = user.get_username() if user is not None and user.is_authenticated else "-"
            # Percent-encoded as on the wire: a decoded path could smuggle a newline
            # (a forged log line) into the access log.
            path = escape_uri_path(request.path)
            response["X-Request-ID"] = request_id
            access_log.info(
                "%s %s %s user=%s duration_ms=%.1f",
                request.method,
                path,
                response.status_code,
                username,
                duration_ms,
                extra={
                    "request_id": request_id,
                    "user": username,
                    "method": request.method,
                    "path": path,
                    "status": response.status_code,
                    "duration_ms": round(duration_ms, 1),
                },
            )
            return response
        finally:
            reset_request_id(token)


class HealthCheckMiddleware:
    """Answers `GET /healthz` and `GET /readyz` before host validation and HTTPS redirects.

    Orchestrators probe a container by its IP over plain HTTP: with production
    `ALLOWED_HOSTS` the probe would get 400 (or a redirect to HTTPS) and the
    container would be restarted for being perfectly healthy. Nothing here builds
    a URL from the Host header, so skipping that check is safe.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        from frontoffice import health

        self.get_response = get_response
        self.probes: dict[str, Callable[[HttpRequest], HttpResponse]] = {
            "/healthz": health.healthz,
            "/readyz": health.readyz,
        }

    def __call__(self, request: HttpRequest) -> HttpResponse:
        probe = self.probes.get(request.path_info)
        if probe is not None and request.method in {"GET", "HEAD"}:
            return probe(request)
        return self.get_response(request)


class SessionIdleTimeoutMiddleware:
    """A logged-in session ends after `SESSION_COOKIE_AGE` seconds without a request.

    Django sets a session's expiry (in its row and its cookie) when the session is
    saved; `SESSION_SAVE_EVERY_REQUEST` would write the row on every request. This
    touches the session at most once per `interval` instead, which slides the expiry
    forward just as well: the idle limit holds to within that interval.
    """

    KEY = "_seen_at"

    @classmethod
    def mark_login(cls, sender: object, request: HttpRequest | None, **kwargs: object) -> None:
        """`user_logged_in`: a login is a use. The login saves the session anyway, so the
        requests that follow within the interval write nothing."""
        if request is not None and hasattr(request, "session"):
            request.session[cls.KEY] = int(time.time())

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.interval = max(1, min(60, settings.SESSION_COOKIE_AGE // 10))

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        session = getattr(request, "session", None)
        # Only a logged-in session: not a token client's (which has none), nor one that
        # a logout just flushed.
        if session is not None and SESSION_KEY in session:
            now = int(time.time())
            if now - session.get(self.KEY, 0) >= self.interval:
                session[self.KEY] = now  # modified: SessionMiddleware saves it, with a new expiry
        return response
