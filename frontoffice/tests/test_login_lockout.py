"""Repeated wrong passwords lock one username out from one address for a while (django-axes)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import time_machine
from django.conf import settings
from django.test import Client
from django.urls import reverse

pytestmark = pytest.mark.django_db


def _log_in(client: Client, password: str, *, username: str = "rep") -> Any:
    return client.post(reverse("login"), {"username": username, "password": password})


def test_after_the_failure_limit_even_the_right_password_is_refused_with_429(sales_rep: Any) -> None:
    # given
    client = Client(REMOTE_ADDR="192.0.2.40")
    wrong = [_log_in(client, f"guess-{n}").status_code for n in range(settings.AXES_FAILURE_LIMIT)]

    # when
    response = _log_in(client, "pw-rep")

    # then
    assert wrong == [200] * (settings.AXES_FAILURE_LIMIT - 1) + [429]
    assert response.status_code == 429
    assert int(response["Retry-After"]) == settings.AXES_COOLOFF_TIME.total_seconds()
    assert "Too many failed log-ins" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_fifty_wrong_passwords_are_not_all_answered_as_mere_mistakes(sales_rep: Any) -> None:
    # given
    client = Client(REMOTE_ADDR="192.0.2.41")

    # when
    statuses = [_log_in(client, f"guess-{n}").status_code for n in range(50)]

    # then
    assert statuses.count(200) < settings.AXES_FAILURE_LIMIT
    assert set(statuses[settings.AXES_FAILURE_LIMIT :]) == {429}


def test_the_lockout_ends_after_the_cool_off(sales_rep: Any) -> None:
    # given
    with time_machine.travel(dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC), tick=False) as clock:
        client = Client(REMOTE_ADDR="192.0.2.42")
        for n in range(settings.AXES_FAILURE_LIMIT):
            _log_in(client, f"guess-{n}")

        # when
        clock.shift(settings.AXES_COOLOFF_TIME + dt.timedelta(seconds=1))
        response = _log_in(client, "pw-rep")

        # then
        assert response.status_code == 302
        assert client.session["_auth_user_id"] == str(sales_rep.pk)


def test_the_same_user_from_another_address_is_not_locked_out(sales_rep: Any) -> None:
    # given: someone elsewhere guessing this user's password
    attacker = Client(REMOTE_ADDR="192.0.2.43")
    for n in range(settings.AXES_FAILURE_LIMIT):
        _log_in(attacker, f"guess-{n}")

    # when
    response = _log_in(Client(REMOTE_ADDR="192.0.2.44"), "pw-rep")

    # then
    assert response.status_code == 302


def test_a_right_password_resets_the_count_of_failures(sales_rep: Any) -> None:
    # given
    client = Client(REMOTE_ADDR="192.0.2.45")
    for n in range(settings.AXES_FAILURE_LIMIT - 1):
        _log_in(client, f"guess-{n}")
    assert _log_in(client, "pw-rep").status_code == 302
    client.post(reverse("logout"))

    # when
    for n in range(settings.AXES_FAILURE_LIMIT - 1):
        _log_in(client, f"again-{n}")
    response = _log_in(client, "pw-rep")

    # then
    assert response.status_code == 302
