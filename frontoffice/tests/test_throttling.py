"""API rate limits: per user, per anonymous client, and per client for failed tokens.

The suite runs with rates it never reaches (config/settings_test.py); each test here
lowers them, on a cache of its own so that no other test's requests count.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings
from django.test import override_settings
from rest_framework.test import APIClient

from frontoffice.schema_view import SchemaView

pytestmark = pytest.mark.django_db


@pytest.fixture
def low_rates() -> Iterator[None]:
    rates = {"anon": "3/min", "user": "5/min", "auth_failure": "4/min"}
    own_cache = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": uuid.uuid4().hex}
    }
    with override_settings(
        REST_FRAMEWORK={**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}, CACHES=own_cache
    ):
        yield


def _assert_throttled(response: Any) -> None:
    assert response.status_code == 429
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["status"] == 429
    assert 0 < int(response["Retry-After"]) <= 60


def test_a_user_past_their_rate_gets_429_with_retry_after_and_others_are_not_slowed(
    low_rates: None, api_as: Any, agent: Any, sales_rep: Any
) -> None:
    # given
    client = api_as(agent)
    answered = [client.get("/api/v1/customers/").status_code for _ in range(5)]

    # when
    refused = client.get("/api/v1/customers/")
    someone_else = api_as(sales_rep).get("/api/v1/customers/")

    # then
    assert answered == [200] * 5
    _assert_throttled(refused)
    assert someone_else.status_code == 200


def test_the_user_rate_counts_the_person_whatever_token_they_use(
    low_rates: None, api_as: Any, agent: Any
) -> None:
    # given
    for _ in range(5):
        assert api_as(agent).get("/api/v1/customers/").status_code == 200

    # when
    response = api_as(agent).get("/api/v1/customers/")

    # then
    _assert_throttled(response)


def test_an_anonymous_client_past_its_rate_gets_429_and_another_address_does_not(low_rates: None) -> None:
    # given: the schema, which anonymous clients may read
    SchemaView.forget()
    client = APIClient(REMOTE_ADDR="192.0.2.10")
    answered = [client.get("/api/schema/").status_code for _ in range(3)]

    # when
    refused = client.get("/api/schema/")
    other_address = APIClient(REMOTE_ADDR="192.0.2.11").get("/api/schema/")

    # then
    assert answered == [200] * 3
    _assert_throttled(refused)
    assert other_address.status_code == 200


def test_a_forged_forwarded_for_header_does_not_buy_a_fresh_allowance(low_rates: None) -> None:
    # given: no proxy is trusted (NUM_PROXIES=0), so the header is the client's own words
    for n in range(3):
        APIClient(REMOTE_ADDR="192.0.2.20").get("/api/schema/", HTTP_X_FORWARDED_FOR=f"198.51.100.{n}")

    # when
    response = APIClient(REMOTE_ADDR="192.0.2.20").get("/api/schema/", HTTP_X_FORWARDED_FOR="198.51.100.99")

    # then
    _assert_throttled(response)


def test_guessing_tokens_is_refused_with_429_before_the_next_token_is_checked(
    low_rates: None, api_as: Any, agent: Any
) -> None:
    # given: four wrong tokens from one address
    guesser = APIClient(REMOTE_ADDR="192.0.2.30")
    guesser.credentials(HTTP_AUTHORIZATION="Token " + "0" * 64)
    wrong = [guesser.get("/api/v1/customers/").status_code for _ in range(4)]
    good = api_as(agent)  # a real token, sent from the same address
    good.defaults["REMOTE_ADDR"] = "192.0.2.30"

    # when
    refused = good.get("/api/v1/customers/")
    elsewhere = api_as(agent).get("/api/v1/customers/")

    # then
    assert wrong == [401] * 4
    _assert_throttled(refused)
    assert elsewhere.status_code == 200


def test_a_session_user_is_not_counted_as_a_token_failure(low_rates: None, client: Any, agent: Any) -> None:
    # given
    client.force_login(agent)

    # when
    statuses = [client.get("/api/v1/customers/").status_code for _ in range(5)]

    # then: only the user rate (5/min) applies, not the failed-token one (4/min)
    assert statuses == [200] * 5
