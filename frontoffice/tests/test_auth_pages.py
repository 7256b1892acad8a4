"""Logging in and out through the pages."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

pytestmark = pytest.mark.django_db


def _csrf_token(client: Client) -> str:
    client.get(reverse("login"))
    return client.cookies["csrftoken"].value


def test_the_login_page_renders_a_form_for_anonymous_visitors(client: Client) -> None:
    # when
    response = client.get(reverse("login"))

    # then
    assert response.status_code == 200
    html = response.content.decode()
    assert 'name="username"' in html
    assert 'name="password"' in html
    assert 'name="csrfmiddlewaretoken"' in html


def test_a_wrong_password_shows_an_error_and_logs_nobody_in(sales_rep: Any) -> None:
    # given
    client = Client(enforce_csrf_checks=True)
    token = _csrf_token(client)

    # when
    response = client.post(
        reverse("login"),
        {"username": "rep", "password": "not-the-password", "csrfmiddlewaretoken": token},
    )

    # then
    assert response.status_code == 200
    assert "Please enter a correct username and password" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_a_good_login_lands_on_the_dashboard(sales_rep: Any) -> None:
    # given
    client = Client(enforce_csrf_checks=True)
    token = _csrf_token(client)

    # when
    response = client.post(
        reverse("login"), {"username": "rep", "password": "pw-rep", "csrfmiddlewaretoken": token}
    )

    # then
    assert response.status_code == 302
    assert response["Location"] == reverse("dashboard")
    assert client.session["_auth_user_id"] == str(sales_rep.pk)
    assert client.get(reverse("dashboard")).status_code == 200


def test_a_login_returns_to_the_page_that_asked_for_it(client: Client, sales_rep: Any) -> None:
    # given
    asked = client.get("/customers/")
    login_url = asked["Location"]

    # when
    response = client.post(login_url, {"username": "rep", "password": "pw-rep", "next": "/customers/"})

    # then
    assert response.status_code == 302
    assert response["Location"] == "/customers/"


def test_logging_out_takes_a_post_and_ends_the_session(client: Client, sales_rep: Any) -> None:
    # given
    client.force_login(sales_rep)

    # when
    refused = client.get(reverse("logout"))
    response = client.post(reverse("logout"))

    # then
    assert refused.status_code == 405
    assert response.status_code == 302
    assert response["Location"] == reverse("login")
    assert "_auth_user_id" not in client.session
    assert client.get(reverse("dashboard")).status_code == 302
