"""A logged-in session ends after SESSION_IDLE_MINUTES without a request, and lives on while used."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import time_machine
from django.conf import settings
from django.contrib.sessions.models import Session
from django.test import Client
from django.urls import reverse

from frontoffice.tasks import clear_expired_sessions

pytestmark = pytest.mark.django_db

START = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
IDLE = dt.timedelta(seconds=settings.SESSION_COOKIE_AGE)


def _logged_in(user: Any) -> Client:
    client = Client()
    response = client.post(reverse("login"), {"username": user.username, "password": "pw-" + user.username})
    assert response.status_code == 302
    return client


def test_the_idle_limit_is_the_setting_in_minutes() -> None:
    # then
    assert settings.SESSION_COOKIE_AGE == settings.SESSION_IDLE_MINUTES * 60


def test_a_session_left_idle_past_the_limit_must_log_in_again(sales_rep: Any) -> None:
    with time_machine.travel(START, tick=False) as clock:
        # given
        client = _logged_in(sales_rep)

        # when
        clock.shift(IDLE + dt.timedelta(seconds=1))
        response = client.get(reverse("dashboard"))

        # then
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))


def test_a_session_in_use_outlives_the_idle_limit_counted_from_the_login(sales_rep: Any) -> None:
    with time_machine.travel(START, tick=False) as clock:
        # given: requests at 60 % and 120 % of the idle limit after logging in
        client = _logged_in(sales_rep)
        clock.shift(IDLE * 0.6)
        assert client.get(reverse("dashboard")).status_code == 200

        # when
        clock.shift(IDLE * 0.6)
        response = client.get(reverse("dashboard"))

        # then
        assert response.status_code == 200


def test_requests_within_a_minute_do_not_write_the_session_again(sales_rep: Any) -> None:
    with time_machine.travel(START, tick=False) as clock:
        # given
        client = _logged_in(sales_rep)
        clock.shift(dt.timedelta(seconds=61))
        client.get(reverse("dashboard"))  # slides the expiry: one write
        cookie = client.cookies[settings.SESSION_COOKIE_NAME]
        expires = cookie["expires"]

        # when
        clock.shift(dt.timedelta(seconds=5))
        response = client.get(reverse("dashboard"))

        # then: no new cookie, so no new expiry, so no session save
        assert settings.SESSION_COOKIE_NAME not in response.cookies
        assert client.cookies[settings.SESSION_COOKIE_NAME]["expires"] == expires


def test_the_nightly_sweep_deletes_ended_sessions_and_keeps_live_ones(sales_rep: Any) -> None:
    # given
    with time_machine.travel(START, tick=False):
        _logged_in(sales_rep)
    live = _logged_in(sales_rep)

    # when
    clear_expired_sessions()

    # then
    assert list(Session.objects.values_list("session_key", flat=True)) == [
        live.cookies[settings.SESSION_COOKIE_NAME].value
    ]
