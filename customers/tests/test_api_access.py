"""REST API v1, customers: authentication (tokens, sessions) and who may do what."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Callable
from typing import Any

import pytest
import time_machine
from django.core.management import call_command
from django.utils import timezone
from knox.models import AuthToken
from rest_framework.test import APIClient

from customers.tests.api_setup import LIST, etag, person, unchanged, url
from tests.api_contract import (
    assert_problem,
    send_json,
)

pytestmark = pytest.mark.django_db


# --- authentication ------------------------------------------------------------------


def test_session_authentication_reads_customers(api: APIClient, agent: Any) -> None:
    # given
    customer = person(agent)
    api.force_login(agent)
    # when
    response = api.get(url(customer))
    # then
    assert response.status_code == 200
    assert response.json()["id"] == customer.pk


def test_a_session_write_without_a_csrf_token_is_refused(agent: Any) -> None:
    # given
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(agent)
    before = unchanged()
    # when
    response = send_json(client, "POST", LIST, {"kind": "person", "last_name": "X"})
    # then
    assert_problem(response, 403)
    assert "CSRF" in response.json()["detail"]
    assert unchanged() == before


def test_an_expired_token_is_401(agent: Any) -> None:
    # given
    _, token = AuthToken.objects.create(user=agent, expiry=dt.timedelta(hours=1))
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert client.get(LIST).status_code == 200
    # when
    with time_machine.travel(timezone.now() + dt.timedelta(hours=2)):
        response = client.get(LIST)
    # then
    assert_problem(response, 401)


def test_a_revoked_token_is_401(agent: Any) -> None:
    # given
    instance, token = AuthToken.objects.create(user=agent)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert client.get(LIST).status_code == 200
    # when
    instance.delete()
    # then
    assert_problem(client.get(LIST), 401)


def test_a_token_of_a_deactivated_user_is_401(agent: Any) -> None:
    _, token = AuthToken.objects.create(user=agent)
    agent.is_active = False
    agent.save()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert_problem(client.get(LIST), 401)


@pytest.mark.parametrize(
    "header",
    [
        "Token",
        "Token a b",
        "Token nope",
        "Token \xff\xfe\xfd",
        "Token abc\x00def",
        "Token " + "a" * 5000,
        "Token ../../etc",
        "Bearer something",
        "",
    ],
)
def test_a_malformed_or_unknown_authorization_header_is_401(agent: Any, header: str) -> None:
    # given
    AuthToken.objects.create(user=agent)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header)
    # when
    response = client.get(LIST)
    # then
    assert_problem(response, 401)
    assert response["WWW-Authenticate"] == "Token"


def test_create_api_token_prints_a_working_token_and_stores_only_its_digest(agent: Any) -> None:
    # given
    out, err = io.StringIO(), io.StringIO()
    # when
    call_command("create_api_token", "agent", stdout=out, stderr=err)
    token = out.getvalue().strip()
    # then: the printed token works ...
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert client.get(LIST).status_code == 200
    # ... and the database holds a digest, never the token itself
    row = AuthToken.objects.values().get(user=agent)
    assert row["digest"] != token
    assert len(row["digest"]) == 128  # SHA-512 hex
    assert all(token not in str(value) for key, value in row.items() if key != "token_key")
    assert token.startswith(row["token_key"])  # knox's lookup prefix, not enough to authenticate
    assert "shown only once" in err.getvalue()


def test_create_api_token_with_an_expiry_makes_a_token_that_expires(agent: Any) -> None:
    out = io.StringIO()
    call_command("create_api_token", "agent", "--expires-in-days", "1", stdout=out, stderr=io.StringIO())
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {out.getvalue().strip()}")
    with time_machine.travel(timezone.now() + dt.timedelta(days=2)):
        assert_problem(client.get(LIST), 401)


# --- permissions -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "role", ["sales_rep", "sales_manager", "agent", "supervisor", "marketer", "admin_user", "back_office"]
)
def test_every_role_reads_customer_profiles(
    request: pytest.FixtureRequest, api_as: Callable[[Any], APIClient], agent: Any, role: str
) -> None:
    customer = person(agent)
    client = api_as(request.getfixturevalue(role))
    assert client.get(LIST).status_code == 200
    assert client.get(url(customer)).status_code == 200
    assert client.get(url(customer, "360/")).status_code == 200


def test_a_user_without_a_role_is_refused_everywhere(
    api_as: Callable[[Any], APIClient], nobody: Any, agent: Any
) -> None:
    # given
    customer = person(agent, contact_points=[{"kind": "email", "value": "a@example.com"}])
    cp = customer.contact_points.get()
    client = api_as(nobody)
    before = unchanged()
    requests = [
        ("GET", LIST, None),
        ("GET", url(customer), None),
        ("GET", url(customer, "360/"), None),
        ("GET", url(customer, "timeline/"), None),
        ("GET", url(customer, "contact-points/"), None),
        ("GET", url(customer, "consents/"), None),
        ("GET", f"{LIST}duplicates/", None),
        ("GET", url(customer, "merge/?duplicate=1"), None),
        ("GET", "/api/v1/activities/", None),
        ("POST", LIST, {"kind": "person", "last_name": "X"}),
        ("PATCH", url(customer), {"last_name": "X"}),
        ("PUT", url(customer), {"kind": "person", "last_name": "X"}),
        ("DELETE", url(customer), None),
        ("POST", url(customer, "contact-points/"), {"kind": "email", "value": "b@example.com"}),
        ("DELETE", url(customer, f"contact-points/{cp.pk}/"), None),
        (
            "POST",
            url(customer, "consents/"),
            {"channel": "email", "purpose": "marketing", "granted": True, "source": "x"},
        ),
        ("POST", url(customer, "merge/"), {"duplicate": 1}),
        ("POST", "/api/v1/activities/", {"customer": customer.pk, "kind": "note", "subject": "x"}),
    ]
    # when / then
    for method, path, body in requests:
        response = send_json(client, method, path, body if body is not None else "", HTTP_IF_MATCH='"1"')
        assert_problem(response, 403)
    assert unchanged() == before


def test_the_read_only_back_office_token_cannot_write_anything(
    readonly_client: APIClient, agent: Any
) -> None:
    # given
    customer = person(agent, contact_points=[{"kind": "email", "value": "a@example.com"}])
    other = person(agent, first="Other")
    cp = customer.contact_points.get()
    before = unchanged()
    writes = [
        ("POST", LIST, {"kind": "person", "last_name": "X"}),
        ("PATCH", url(customer), {"last_name": "X"}),
        ("PUT", url(customer), {"kind": "person", "last_name": "X"}),
        ("DELETE", url(customer), ""),
        ("POST", url(customer, "contact-points/"), {"kind": "email", "value": "b@example.com"}),
        ("DELETE", url(customer, f"contact-points/{cp.pk}/"), ""),
        (
            "POST",
            url(customer, "consents/"),
            {"channel": "email", "purpose": "marketing", "granted": True, "source": "x"},
        ),
        ("POST", url(customer, "merge/"), {"duplicate": other.pk}),
        ("POST", "/api/v1/activities/", {"customer": customer.pk, "kind": "note", "subject": "x"}),
    ]
    # when / then
    for method, path, body in writes:
        assert_problem(
            send_json(readonly_client, method, path, body, HTTP_IF_MATCH=etag(readonly_client, customer)), 403
        )
    assert unchanged() == before


def test_back_office_does_not_see_consent(readonly_client: APIClient, agent: Any) -> None:
    customer = person(agent)
    assert_problem(readonly_client.get(url(customer, "consents/")), 403)


def test_a_sales_rep_cannot_change_another_teams_customer_and_nothing_is_written(
    api_as: Callable[[Any], APIClient], sales_rep: Any, other_rep: Any
) -> None:
    # given
    theirs = person(other_rep, contact_points=[{"kind": "email", "value": "theirs@example.com"}])
    cp = theirs.contact_points.get()
    client = api_as(sales_rep)
    current = etag(client, theirs)
    before = unchanged()
    # when / then: 403 first, whatever else is wrong with the request
    assert_problem(send_json(client, "PATCH", url(theirs), {"last_name": "Mine"}, HTTP_IF_MATCH=current), 403)
    assert_problem(send_json(client, "PATCH", url(theirs), {"last_name": "Mine"}), 403)
    assert_problem(send_json(client, "PATCH", url(theirs), {"last_name": 5}, HTTP_IF_MATCH='"9"'), 403)
    assert_problem(
        send_json(client, "PUT", url(theirs), {"kind": "person", "last_name": "Mine"}, HTTP_IF_MATCH=current),
        403,
    )
    assert_problem(
        send_json(
            client, "POST", url(theirs, "contact-points/"), {"kind": "email", "value": "x@example.com"}
        ),
        403,
    )
    assert_problem(client.delete(url(theirs, f"contact-points/{cp.pk}/")), 403)
    assert unchanged() == before


def test_a_sales_rep_edits_their_teams_customers(
    api_as: Callable[[Any], APIClient], sales_rep: Any, teammate: Any
) -> None:
    # given
    ours = person(teammate)
    client = api_as(sales_rep)
    # when
    response = send_json(
        client, "PATCH", url(ours), {"lifecycle_stage": "customer"}, HTTP_IF_MATCH=etag(client, ours)
    )
    # then
    assert response.status_code == 200
    assert response.json()["lifecycle_stage"] == "customer"


def test_a_sales_rep_may_not_merge(api_as: Callable[[Any], APIClient], sales_rep: Any) -> None:
    a, b = person(sales_rep), person(sales_rep, first="Ada2")
    before = unchanged()
    assert_problem(send_json(api_as(sales_rep), "POST", url(a, "merge/"), {"duplicate": b.pk}), 403)
    assert_problem(api_as(sales_rep).get(url(a, f"merge/?duplicate={b.pk}")), 403)
    assert unchanged() == before
