"""Property-based fuzzing of the customer API: whatever JSON a client sends, the
answer is never a 500, and a refusal (4xx) writes nothing.

Bodies mix plausible customers (so that generation reaches the services, not only the
serializers) with arbitrary JSON: NUL characters, lone surrogates, huge and
non-finite numbers, deep nesting, wrong types. On PostgreSQL a missed NUL or
surrogate check shows up here as a 500.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework.test import APIClient

from customers import services
from customers.models import (
    Activity,
    ConsentEvent,
    ContactPoint,
    Customer,
    CustomFieldDefinition,
    Relationship,
    Tag,
)
from tests.api_contract import snapshot

pytestmark = [pytest.mark.django_db, pytest.mark.slow]

WATCHED = (
    Customer,
    Customer.tags.through,
    Customer.history.model,
    ContactPoint,
    Tag,
    Activity,
    ConsentEvent,
    Relationship,
)
FUZZ = settings(
    max_examples=120,
    deadline=None,
    database=None,  # no example database in the repository
    suppress_health_check=list(HealthCheck),
)

# --- strategies ------------------------------------------------------------------------

# Any code point, lone surrogates and NUL included (hypothesis leaves surrogates out by default).
any_char = st.characters(codec=None, exclude_categories=())
nasty_text = st.one_of(
    st.text(any_char, max_size=30),
    st.sampled_from(["", " ", "\x00", "\ud800", "a\udfffb", "\ud83d\ude00", "x" * 5000, "0", "-1", "1e400"]),
)
numbers = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from([0, 1, -1, 2**62, 2**63, 10**30]),
)
json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), numbers, nasty_text),
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(nasty_text, children, max_size=4)
    ),
    max_leaves=12,
)


def plausible(choices: list[Any]) -> st.SearchStrategy[Any]:
    """Mostly a value the field accepts, sometimes anything at all."""
    return st.one_of(st.sampled_from(choices), json_values)


contact_point = st.fixed_dictionaries(
    {"kind": plausible(["email", "phone", "address"])},
    optional={
        "value": plausible(["a@example.com", "B@Example.com", "+44 20 7946 0000", "020 7946 0001", "12"]),
        "label": plausible(["work", "home", "mobile"]),
        "is_primary": plausible([True, False]),
        "street": plausible(["1 High St"]),
        "city": plausible(["London"]),
        "country": plausible(["GB", "gb", "GBR", "É"]),
    },
)
customer_fields = {
    "kind": plausible(["person", "organisation"]),
    "first_name": plausible(["Ada", "", " "]),
    "last_name": plausible(["Lovelace", ""]),
    "organisation_name": plausible(["Acme", ""]),
    "lifecycle_stage": plausible(["prospect", "customer", "former"]),
    "tags": st.one_of(st.lists(plausible(["vip", "VIP", "north"]), max_size=4), json_values),
    "attributes": st.one_of(
        st.dictionaries(
            st.one_of(st.sampled_from(["industry", "employees", "tier"]), nasty_text), json_values, max_size=3
        ),
        json_values,
    ),
    "erp_customer_number": plausible(["ERP-1", None, ""]),
    "owner": plausible([1, 2, None, 999_999]),
    "parent": plausible([1, None, 999_999]),
    "contact_points": st.one_of(st.lists(contact_point, max_size=3), json_values),
}
customer_body = st.fixed_dictionaries({}, optional={**customer_fields, "unknown_field": json_values})
consent_body = st.fixed_dictionaries(
    {},
    optional={
        "channel": plausible(["email", "sms"]),
        "purpose": plausible(["marketing", "newsletter"]),
        "granted": plausible([True, False]),
        "source": plausible(["web form"]),
        "occurred_at": plausible(
            ["2024-01-01T00:00:00Z", "2999-01-01T00:00:00Z", "0001-01-01T00:00:00+14:00"]
        ),
        "note": plausible(["hi"]),
    },
)
activity_body = st.fixed_dictionaries(
    {},
    optional={
        "customer": plausible([1, 2, 999_999]),
        "kind": plausible(["note", "call", "consent"]),
        "subject": plausible(["Called"]),
        "body": plausible(["..."]),
        "occurred_at": plausible(["2024-01-01T00:00:00Z", "9999-12-31T23:59:59-14:00"]),
    },
)
raw_bodies = st.one_of(
    st.text(any_char, max_size=50).map(lambda t: t.encode("utf-8", "surrogatepass")),
    st.sampled_from([b"", b"{", b"[" * 5000, b'{"a": NaN}', b"\xff\xfe", b"null"]),
)


def encode(body: Any) -> bytes:
    # ensure_ascii writes lone surrogates as \\udXXX escapes: valid JSON, invalid Unicode.
    return json.dumps(body, ensure_ascii=True, allow_nan=False).encode()


def bodies(structured: st.SearchStrategy[Any]) -> st.SearchStrategy[bytes]:
    return st.one_of(structured.map(encode), json_values.map(encode), raw_bodies)


# --- fixtures ----------------------------------------------------------------------------


@pytest.fixture
def world(agent: Any, admin_user: Any) -> dict[str, Any]:
    """Two live customers (ids the generated bodies aim at) and an attribute definition."""
    CustomFieldDefinition.objects.create(key="industry", label="Industry", field_type="text")
    CustomFieldDefinition.objects.create(key="employees", label="Employees", field_type="number")
    CustomFieldDefinition.objects.create(key="tier", label="Tier", field_type="choice", choices=["gold"])
    ada = services.customer_create(
        actor=agent,
        kind="person",
        first_name="Ada",
        last_name="Lovelace",
        contact_points=[{"kind": "email", "value": "ada@example.com"}],
    )
    acme = services.customer_create(actor=agent, kind="organisation", organisation_name="Acme")
    return {"ada": ada, "acme": acme}


def _check(response: Any, before: dict[str, Any]) -> None:
    assert response.status_code < 500, (response.status_code, response.content[:2000])
    if 400 <= response.status_code < 500:
        assert snapshot(*WATCHED) == before, response.content[:2000]
        assert response["Content-Type"] == "application/problem+json", response.content[:500]


def _send(client: APIClient, method: str, url: str, body: bytes, **headers: Any) -> Any:
    return client.generic(method, url, body, "application/json", **headers)


# --- properties ----------------------------------------------------------------------------


def test_creating_a_customer_from_any_body_never_fails_and_refusals_write_nothing(
    api_as: Callable[[Any], APIClient], admin_user: Any, world: dict[str, Any]
) -> None:
    client = api_as(admin_user)

    @FUZZ
    @given(body=bodies(customer_body))
    def check(body: bytes) -> None:
        before = snapshot(*WATCHED)
        _check(_send(client, "POST", "/api/v1/customers/", body), before)

    check()


@pytest.mark.parametrize("method", ["PATCH", "PUT"])
def test_updating_a_customer_with_any_body_never_fails_and_refusals_write_nothing(
    api_as: Callable[[Any], APIClient], admin_user: Any, world: dict[str, Any], method: str
) -> None:
    client = api_as(admin_user)
    url = f"/api/v1/customers/{world['ada'].pk}/"

    @FUZZ
    @given(body=bodies(customer_body), fresh=st.booleans())
    def check(body: bytes, fresh: bool) -> None:
        # mostly the current ETag, so that the body itself is what gets judged
        if_match = client.get(url)["ETag"] if fresh else '"1"'
        before = snapshot(*WATCHED)
        _check(_send(client, method, url, body, HTTP_IF_MATCH=if_match), before)

    check()


@pytest.mark.parametrize(
    ("sub", "structured"),
    [
        ("contact-points/", contact_point),
        ("consents/", consent_body),
        ("merge/", st.fixed_dictionaries({}, optional={"duplicate": plausible([2, 1, 0])})),
    ],
)
def test_customer_sub_resources_take_any_body_without_failing(
    api_as: Callable[[Any], APIClient],
    admin_user: Any,
    world: dict[str, Any],
    sub: str,
    structured: st.SearchStrategy[Any],
) -> None:
    client = api_as(admin_user)
    url = f"/api/v1/customers/{world['ada'].pk}/{sub}"

    @FUZZ
    @given(body=bodies(structured))
    def check(body: bytes) -> None:
        before = snapshot(*WATCHED)
        # If-Match "*": the body is what gets judged (a merge needs one; others ignore it).
        _check(_send(client, "POST", url, body, HTTP_IF_MATCH="*"), before)

    check()


def test_logging_an_activity_from_any_body_never_fails(
    api_as: Callable[[Any], APIClient], admin_user: Any, world: dict[str, Any]
) -> None:
    client = api_as(admin_user)

    @FUZZ
    @given(body=bodies(activity_body))
    def check(body: bytes) -> None:
        before = snapshot(*WATCHED)
        _check(_send(client, "POST", "/api/v1/activities/", body), before)

    check()


LIST_PARAMS = [
    "q",
    "kind",
    "lifecycle_stage",
    "tag",
    "owner",
    "created_after",
    "created_before",
    "updated_after",
    "updated_before",
    "attr.industry",
    "attr.employees",
    "attr.nope",
    "ordering",
    "cursor",
    "page_size",
]


@pytest.mark.parametrize(
    "url", ["/api/v1/customers/", "/api/v1/activities/", "/api/v1/customers/duplicates/"]
)
def test_listing_with_any_query_never_fails(
    api_as: Callable[[Any], APIClient], admin_user: Any, world: dict[str, Any], url: str
) -> None:
    client = api_as(admin_user)
    params = st.dictionaries(
        st.one_of(
            st.sampled_from([*LIST_PARAMS, "customer", "limit", "occurred_after", "source_app"]), nasty_text
        ),
        st.one_of(nasty_text, numbers.map(str)),
        max_size=4,
    )

    @FUZZ
    @given(query=params)
    def check(query: dict[str, str]) -> None:
        # A query string is bytes on the wire: surrogates cannot travel, so encode them away.
        clean = {
            k.encode("utf-8", "replace").decode(): v.encode("utf-8", "replace").decode()
            for k, v in query.items()
        }
        response = client.get(url, clean)
        assert response.status_code < 500, (query, response.content[:2000])
        if response.status_code == 200 and "next" in response.json() and response.json()["next"]:
            assert client.get(response.json()["next"]).status_code == 200

    check()


def test_any_authorization_or_if_match_header_never_fails(
    api_as: Callable[[Any], APIClient], admin_user: Any, world: dict[str, Any]
) -> None:
    client = api_as(admin_user)
    anonymous = APIClient()
    url = f"/api/v1/customers/{world['ada'].pk}/"
    # HTTP header values are Latin-1 on the wire.
    latin1 = st.text(st.characters(max_codepoint=255), max_size=80)

    @FUZZ
    @given(authorization=st.one_of(latin1, latin1.map(lambda t: f"Token {t}")), if_match=latin1)
    def check(authorization: str, if_match: str) -> None:
        before = snapshot(*WATCHED)
        anonymous.credentials(HTTP_AUTHORIZATION=authorization)
        assert anonymous.get(url).status_code in (200, 401)
        _check(
            _send(client, "PATCH", url, b'{"lifecycle_stage": "customer"}', HTTP_IF_MATCH=if_match), before
        )

    check()
