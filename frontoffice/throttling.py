"""Who is asking too often: API rate limits, failed-token limits and the login lockout.

One notion of "the client" for all of them: DRF's `get_ident`, which reads the
address the `NUM_PROXIES` trusted proxies put in `X-Forwarded-For` (or `REMOTE_ADDR`
when there is no proxy). A client-chosen `X-Forwarded-For` is never trusted blindly.
"""

from __future__ import annotations

import math
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from rest_framework import exceptions, throttling
from rest_framework.settings import api_settings


def client_ip(request: HttpRequest) -> str:
    """The client's address as the rate limits see it (also django-axes' AXES_CLIENT_IP_CALLABLE)."""
    return throttling.BaseThrottle().get_ident(request) or ""  # type: ignore[arg-type]  # DRF reads META only


class _RatesReadAtRequestTime:
    """DRF reads the rates once, when its throttle classes are defined; reading them per
    request lets `override_settings(REST_FRAMEWORK=...)` lower them in a test."""

    scope: str | None

    def get_rate(self) -> str | None:
        rate = api_settings.DEFAULT_THROTTLE_RATES.get(self.scope or "")
        return None if rate is None else str(rate)


class AnonRateThrottle(_RatesReadAtRequestTime, throttling.AnonRateThrottle):
    """Anonymous requests, per client address (`API_THROTTLE_ANON`)."""


class UserRateThrottle(_RatesReadAtRequestTime, throttling.UserRateThrottle):
    """Authenticated requests, per user whatever the token or session (`API_THROTTLE_USER`)."""


class AuthFailureThrottle(_RatesReadAtRequestTime, throttling.SimpleRateThrottle):
    """Failed token authentications, per client address (`API_THROTTLE_AUTH_FAILURES`).

    DRF checks throttles after authentication, so a request with a wrong token is
    refused (401) before any throttle sees it: guessing tokens would never be slowed
    down. The token authentication asks this throttle first and records each failure.
    """

    scope = "auth_failure"
    duration: int
    num_requests: int

    def get_cache_key(self, request: Any, view: Any) -> str:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}

    def check_not_blocked(self, request: Any) -> None:
        """Raise `Throttled` while this client has used up its failures."""
        if self.rate is None:
            return
        self.key = self.get_cache_key(request, None)
        self.history = self.cache.get(self.key, [])
        self.now = self.timer()
        while self.history and self.history[-1] <= self.now - self.duration:
            self.history.pop()
        if len(self.history) >= self.num_requests:
            raise exceptions.Throttled(wait=self.wait())

    def record_failure(self, request: Any) -> None:
        self.allow_request(request, None)  # type: ignore[arg-type]  # get_cache_key ignores the view


def login_locked_out(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
    """django-axes' AXES_LOCKOUT_CALLABLE: the login page says why and for how long (429)."""
    from axes.helpers import get_cool_off

    cool_off = get_cool_off(request)
    seconds = math.ceil(cool_off.total_seconds()) if cool_off else None
    response = render(
        request,
        "registration/locked_out.html",
        {"minutes": math.ceil(seconds / 60) if seconds else None},
        status=429,
    )
    if seconds:
        response["Retry-After"] = str(seconds)
    return response
