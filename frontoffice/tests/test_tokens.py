"""Owners make, list and revoke their own API tokens, on a page and through the API."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.http import Http404
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from knox.models import AuthToken
from rest_framework.test import APIClient

from frontoffice import tokens
from frontoffice.schema_view import SchemaView

pytestmark = pytest.mark.django_db

LIST = "/api/v1/auth/tokens/"


def _client_with(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client


# --- services -----------------------------------------------------------------------


def test_a_new_token_carries_its_name_and_expires_after_the_default_time(agent: Any) -> None:
    # when
    instance, token = tokens.token_create(actor=agent, name="  ERP   bridge ")

    # then
    assert instance.info.name == "ERP bridge"
    expected = timezone.now() + dt.timedelta(days=settings.API_TOKEN_TTL_DAYS)
    assert abs(instance.expiry - expected) < dt.timedelta(minutes=1)
    assert _client_with(token).get("/api/v1/customers/").status_code == 200


def test_a_token_may_expire_sooner_or_later_than_the_default(agent: Any) -> None:
    # when
    instance, _ = tokens.token_create(actor=agent, name="Short", expires_in_days=1)

    # then
    assert abs(instance.expiry - (timezone.now() + dt.timedelta(days=1))) < dt.timedelta(minutes=1)


@pytest.mark.parametrize(
    ("name", "days", "field"),
    [
        ("", None, "name"),
        ("x" * 101, None, "name"),
        ("Ok", 0, "expires_in_days"),
        ("Ok", 3651, "expires_in_days"),
    ],
)
def test_a_token_without_a_name_or_with_an_impossible_expiry_is_refused(
    agent: Any, name: str, days: int | None, field: str
) -> None:
    # when
    with pytest.raises(ValidationError) as refused:
        tokens.token_create(actor=agent, name=name, expires_in_days=days)

    # then
    assert field in refused.value.message_dict
    assert not AuthToken.objects.filter(user=agent).exists()


def test_nobody_revokes_someone_elses_token(agent: Any, sales_rep: Any) -> None:
    # given
    theirs, _ = tokens.token_create(actor=sales_rep, name="Theirs")

    # when
    with pytest.raises(Http404):
        tokens.token_revoke(actor=agent, token_id=theirs.token_key)

    # then
    assert AuthToken.objects.filter(pk=theirs.pk).exists()


def test_the_list_leaves_out_expired_tokens_and_other_peoples(agent: Any, sales_rep: Any) -> None:
    # given
    mine, _ = tokens.token_create(actor=agent, name="Mine")
    old, _ = tokens.token_create(actor=agent, name="Old", expires_in_days=1)
    AuthToken.objects.filter(pk=old.pk).update(expiry=timezone.now() - dt.timedelta(seconds=1))
    tokens.token_create(actor=sales_rep, name="Theirs")

    # when
    listed = list(tokens.token_list(actor=agent))

    # then
    assert listed == [mine]


# --- API ----------------------------------------------------------------------------


def test_the_api_lists_only_ones_own_tokens(api_as: Any, agent: Any, sales_rep: Any) -> None:
    # given
    mine, _ = tokens.token_create(actor=agent, name="Mine")
    tokens.token_create(actor=sales_rep, name="Theirs")
    client = api_as(agent)  # a token of its own, without a name

    # when
    response = client.get(LIST)

    # then
    assert response.status_code == 200
    rows = response.json()
    assert {row["name"] for row in rows} == {"Mine", ""}
    mine_row = next(row for row in rows if row["name"] == "Mine")
    assert mine_row["id"] == mine.token_key
    assert set(mine_row) == {"id", "name", "created", "expiry"}


def test_a_logged_in_user_makes_a_token_through_the_api_and_sees_it_once(client: Client, agent: Any) -> None:
    # given
    api = APIClient()
    api.force_login(agent)

    # when
    response = api.post(LIST, {"name": "Reporting", "expires_in_days": 7}, format="json")
    listed = api.get(LIST).json()

    # then
    assert response.status_code == 201
    body = response.json()
    assert body["name"] == "Reporting"
    assert _client_with(body["token"]).get("/api/v1/customers/").status_code == 200
    assert [row["id"] for row in listed] == [body["id"]]
    assert "token" not in listed[0]


def test_a_token_cannot_make_more_tokens(api_as: Any, agent: Any) -> None:
    # when
    response = api_as(agent).post(LIST, {"name": "Offspring"}, format="json")

    # then
    assert response.status_code == 403
    assert response["Content-Type"] == "application/problem+json"
    assert AuthToken.objects.filter(user=agent).count() == 1


def test_bad_input_is_a_400_naming_the_field(agent: Any) -> None:
    # given
    api = APIClient()
    api.force_login(agent)

    # when
    response = api.post(LIST, {"name": "", "expires_in_days": 0}, format="json")

    # then
    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"name", "expires_in_days"}


def test_an_owner_revokes_a_token_and_it_stops_working(api_as: Any, agent: Any) -> None:
    # given
    doomed, token = tokens.token_create(actor=agent, name="Doomed")

    # when
    response = api_as(agent).delete(f"{LIST}{doomed.token_key}/")

    # then
    assert response.status_code == 204
    assert _client_with(token).get("/api/v1/customers/").status_code == 401


def test_someone_elses_token_is_not_found_and_stays(api_as: Any, agent: Any, sales_rep: Any) -> None:
    # given
    theirs, token = tokens.token_create(actor=sales_rep, name="Theirs")

    # when
    response = api_as(agent).delete(f"{LIST}{theirs.token_key}/")

    # then
    assert response.status_code == 404
    assert _client_with(token).get("/api/v1/customers/").status_code == 200


def test_anonymous_clients_get_401(api: APIClient) -> None:
    # when / then
    assert api.get(LIST).status_code == 401


def test_the_schema_documents_the_token_endpoints_with_their_bodies() -> None:
    # given
    SchemaView.forget()

    # when
    schema = APIClient().get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()

    # then
    collection = schema["paths"]["/api/v1/auth/tokens/"]
    assert set(collection) >= {"get", "post"}
    request = collection["post"]["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    created = collection["post"]["responses"]["201"]["content"]["application/json"]["schema"]["$ref"]
    assert request.endswith("/ApiTokenCreateRequest")
    assert created.endswith("/ApiTokenCreated")
    assert "token" in schema["components"]["schemas"]["ApiTokenCreated"]["properties"]
    assert "delete" in schema["paths"]["/api/v1/auth/tokens/{id}/"]


# --- page ---------------------------------------------------------------------------


def test_the_page_lists_ones_tokens_and_nobody_elses(client: Client, agent: Any, sales_rep: Any) -> None:
    # given
    tokens.token_create(actor=agent, name="Mine")
    tokens.token_create(actor=sales_rep, name="Theirs")
    client.force_login(agent)

    # when
    response = client.get(reverse("api_tokens"))

    # then
    html = response.content.decode()
    assert response.status_code == 200
    assert "Mine" in html
    assert "Theirs" not in html


def test_the_page_makes_a_token_and_shows_it_only_on_that_answer(client: Client, agent: Any) -> None:
    # given
    client.force_login(agent)

    # when
    made = client.post(reverse("api_tokens"), {"name": "Spreadsheet", "expires_in_days": "30"})
    later = client.get(reverse("api_tokens"))

    # then
    instance = AuthToken.objects.get(user=agent)
    token = made.context["created"]["token"]
    assert made.status_code == 200
    assert made["Cache-Control"] == "no-store"
    assert token in made.content.decode()
    assert token not in later.content.decode()
    assert "Spreadsheet" in later.content.decode()
    assert abs(instance.expiry - (timezone.now() + dt.timedelta(days=30))) < dt.timedelta(minutes=1)


def test_the_page_shows_what_is_wrong_with_a_new_token(client: Client, agent: Any) -> None:
    # given
    client.force_login(agent)

    # when
    response = client.post(reverse("api_tokens"), {"name": "", "expires_in_days": "99999"})

    # then
    assert response.status_code == 400
    assert "No token was made" in response.content.decode()
    assert not AuthToken.objects.filter(user=agent).exists()


def test_the_page_revokes_ones_own_token_but_not_someone_elses(
    client: Client, agent: Any, sales_rep: Any
) -> None:
    # given
    mine, _ = tokens.token_create(actor=agent, name="Mine")
    theirs, _ = tokens.token_create(actor=sales_rep, name="Theirs")
    client.force_login(agent)

    # when
    revoked = client.post(reverse("api_token_revoke", args=[mine.token_key]))
    refused = client.post(reverse("api_token_revoke", args=[theirs.token_key]))

    # then
    assert revoked.status_code == 302
    assert not AuthToken.objects.filter(pk=mine.pk).exists()
    assert refused.status_code == 404
    assert AuthToken.objects.filter(pk=theirs.pk).exists()
