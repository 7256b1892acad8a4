"""REST API v1, customers: malformed input, class by class: 400 (never 500), nothing written."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from rest_framework.test import APIClient

from customers.tests.api_setup import LIST, etag, person, unchanged, url
from tests.api_contract import (
    assert_problem,
    send_json,
)

pytestmark = pytest.mark.django_db


# --- malformed input, class by class ---------------------------------------------------


WRONG_TYPES = [
    {"kind": 1, "last_name": "X"},
    {"kind": ["person"], "last_name": "X"},
    {"kind": "person", "last_name": {"a": 1}},
    {"kind": "person", "last_name": ["X"]},
    {"kind": "person", "last_name": True},
    {"kind": "person", "last_name": "X", "tags": "vip"},
    {"kind": "person", "last_name": "X", "tags": [1, {"a": 1}]},
    {"kind": "person", "last_name": "X", "attributes": []},
    {"kind": "person", "last_name": "X", "attributes": "x"},
    {"kind": "person", "last_name": "X", "contact_points": {"kind": "email"}},
    {"kind": "person", "last_name": "X", "contact_points": [1, "a", None]},
    {"kind": "person", "last_name": "X", "owner": "1x"},
    {"kind": "person", "last_name": "X", "owner": 1.5},
    {"kind": "person", "last_name": "X", "owner": True},
    {"kind": "person", "last_name": "X", "owner": [1]},
    {"kind": "person", "last_name": "X", "parent": {"id": 1}},
    {"kind": "person", "last_name": "X", "lifecycle_stage": None},
    {"kind": None, "last_name": "X"},
]


@pytest.mark.parametrize("payload", WRONG_TYPES)
def test_wrong_types_are_400_and_write_nothing(
    api_as: Callable[[Any], APIClient], agent: Any, payload: dict[str, Any]
) -> None:
    # given
    customer = person(agent)
    client = api_as(agent)
    current = etag(client, customer)
    before = unchanged()
    # when
    created = send_json(client, "POST", LIST, payload)
    change = {k: v for k, v in payload.items() if (k, v) != ("kind", "person")}
    patched = send_json(client, "PATCH", url(customer), change, HTTP_IF_MATCH=current)
    # then
    assert_problem(created, 400)
    assert patched.status_code == 400, patched.content
    assert unchanged() == before


HUGE = "x" * 100_000


@pytest.mark.parametrize(
    "payload",
    [
        {"kind": "person", "last_name": HUGE},
        {"kind": "person", "last_name": "X", "erp_customer_number": HUGE},
        {"kind": "person", "last_name": "X", "tags": [HUGE]},
        {"kind": "person", "last_name": "X", "tags": ["t"] * 51},
        {"kind": "person", "last_name": "X", "contact_points": [{"kind": "email", "value": HUGE}]},
        {
            "kind": "person",
            "last_name": "X",
            "contact_points": [{"kind": "email", "value": f"a{i}@x.io"} for i in range(21)],
        },
        {"kind": "person", "last_name": "X", "attributes": {"note": HUGE}},
        {"kind": "person", "last_name": "X", "attributes": {f"k{i}": i for i in range(500)}},
    ],
)
def test_huge_values_are_400_and_write_nothing(
    api_as: Callable[[Any], APIClient], agent: Any, payload: dict[str, Any]
) -> None:
    before = unchanged()
    assert_problem(send_json(api_as(agent), "POST", LIST, payload), 400)
    assert unchanged() == before


def test_a_body_above_the_upload_limit_is_413(
    api_as: Callable[[Any], APIClient], agent: Any, settings: Any
) -> None:
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    before = unchanged()
    response = send_json(api_as(agent), "POST", LIST, {"kind": "person", "last_name": "x" * 20_000})
    assert_problem(response, 413)
    assert unchanged() == before


NUL = "\u0000"


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"kind": "person", "last_name": f"a{NUL}b"}, "last_name"),
        ({"kind": "person", "last_name": "X", "first_name": NUL}, "first_name"),
        ({"kind": "organisation", "organisation_name": f"Acme{NUL}"}, "organisation_name"),
        ({"kind": "person", "last_name": "X", "erp_customer_number": NUL}, "erp_customer_number"),
        ({"kind": "person", "last_name": "X", "tags": [f"v{NUL}"]}, "tags.0"),
        ({"kind": "person", "last_name": "X", "attributes": {"note": NUL}}, "attributes.note"),
        ({"kind": "person", "last_name": "X", "attributes": {NUL: 1}}, "attributes.non_field_errors"),
        (
            {
                "kind": "person",
                "last_name": "X",
                "contact_points": [{"kind": "email", "value": f"a{NUL}@x.io"}],
            },
            "contact_points.0.value",
        ),
        (
            {
                "kind": "person",
                "last_name": "X",
                "contact_points": [{"kind": "address", "street": NUL, "city": "c"}],
            },
            "contact_points.0.street",
        ),
        ({"kind": f"person{NUL}", "last_name": "X"}, "kind"),
    ],
)
def test_null_characters_are_400_with_the_field_and_write_nothing(
    api_as: Callable[[Any], APIClient], agent: Any, payload: dict[str, Any], field: str
) -> None:
    # PostgreSQL refuses NUL in text and jsonb: a missed check is a 500 there.
    before = unchanged()
    assert_problem(send_json(api_as(agent), "POST", LIST, payload), 400, field)
    assert unchanged() == before


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ('{"kind": "person", "last_name": "\\ud800"}', "last_name"),
        ('{"kind": "person", "last_name": "a\\udfffb"}', "last_name"),
        ('{"kind": "person", "last_name": "X", "tags": ["\\ud83d"]}', "tags.0"),
        ('{"kind": "person", "last_name": "X", "attributes": {"note": "\\ud800"}}', "attributes.note"),
        (
            '{"kind": "person", "last_name": "X", "attributes": {"\\ud800": "x"}}',
            "attributes.non_field_errors",
        ),
        ('{"kind": "\\ud800", "last_name": "X"}', "kind"),
        ('{"kind": "person", "last_name": "X", "\\ud800": 1}', None),
        (
            '{"kind": "person", "last_name": "X", "contact_points": [{"kind": "email", "value": "\\udc00@x.io"}]}',
            "contact_points.0.value",
        ),
    ],
)
def test_lone_surrogates_are_400_and_write_nothing(
    api_as: Callable[[Any], APIClient], agent: Any, raw: str, field: str | None
) -> None:
    # Valid JSON, invalid Unicode: neither PostgreSQL nor a UTF-8 response can hold it.
    before = unchanged()
    response = send_json(api_as(agent), "POST", LIST, raw)
    body = assert_problem(response, 400, *([field] if field else []))
    assert json.dumps(body).encode("utf-8")
    assert unchanged() == before


def test_a_valid_surrogate_pair_is_stored(api_as: Callable[[Any], APIClient], agent: Any) -> None:
    response = send_json(
        api_as(agent), "POST", LIST, '{"kind": "person", "last_name": "Smile \\ud83d\\ude00"}'
    )
    assert response.status_code == 201
    assert response.json()["last_name"] == "Smile \U0001f600"


@pytest.mark.parametrize(
    "raw",
    [
        '{"kind": "person", "last_name": "X", "attributes": ' + '{"a": ' * 50 + "1" + "}" * 50 + "}",
        '{"kind": "person", "last_name": "X", "attributes": {"a": ' + "[" * 50 + "]" * 50 + "}}",
        "[" * 100_000 + "]" * 100_000,
        '{"a": ' * 100_000 + "1" + "}" * 100_000,
    ],
)
def test_deeply_nested_json_is_400_and_writes_nothing(
    api_as: Callable[[Any], APIClient], agent: Any, raw: str
) -> None:
    before = unchanged()
    assert_problem(send_json(api_as(agent), "POST", LIST, raw), 400)
    assert unchanged() == before


@pytest.mark.parametrize(
    "raw",
    [
        '{"kind": "person", "last_name": NaN}',
        '{"kind": "person", "last_name": "X", "owner": Infinity}',
        '{"kind": "person", "last_name": "X", "owner": 1e400}',
        '{"kind": "person", "last_name": "X", "parent": 1e400}',
        '{"kind": "person", "last_name": "X", "parent": -1}',
        '{"kind": "person", "last_name": "X", "owner": 99999999999999999999999}',
        '{"kind": "person", "last_name": "X", "owner": ' + "9" * 5000 + "}",
        '{"kind": "person", "last_name": "X", "attributes": {"n": 1e400}}',
        '{"kind": "person" "last_name": "X"}',
        '{"kind": "person", "kind": "organisation"',
        "\x00",
        "\xff\xfe",
    ],
)
def test_malformed_json_and_out_of_range_numbers_are_400(
    api_as: Callable[[Any], APIClient], agent: Any, raw: str
) -> None:
    before = unchanged()
    assert_problem(send_json(api_as(agent), "POST", LIST, raw), 400)
    assert unchanged() == before


def test_a_body_in_an_unusable_charset_is_400(api_as: Callable[[Any], APIClient], agent: Any) -> None:
    before = unchanged()
    for charset in ("rot13", "utf-16"):
        response = api_as(agent).generic(
            "POST", LIST, b'{"kind": "person", "last_name": "X"}', f"application/json; charset={charset}"
        )
        assert_problem(response, 400)
    assert unchanged() == before


@pytest.mark.parametrize(
    "query",
    [
        "owner=99999999999999999999999",
        "owner=-1",
        "owner=abc",
        "owner=%00",
        "created_after=garbage",
        "created_before=2024-13-45",
        "updated_after=%00",
        "updated_before=0001-01-01T00:00:00%2B14:00",
        "created_after=9999-12-31T23:59:59-14:00",
        "cursor=garbage",
        "cursor=%00",
        "page_size=-1",
        "page_size=100000000000000000000",
        "ordering=nonexistent",
        "ordering=-",
        "ordering=display_name,%00",
        "ordering=attributes__secret",
        "kind=robot",
        "lifecycle_stage=%00",
        "q=%00",
        "q=" + "a" * 5000,
        "tag=" + "t" * 51,
    ],
)
def test_bad_query_parameters_are_400_with_the_parameter_named(
    api_as: Callable[[Any], APIClient], agent: Any, query: str
) -> None:
    person(agent)
    assert_problem(api_as(agent).get(f"{LIST}?{query}"), 400, query.split("=")[0])


@pytest.mark.parametrize(
    "path", ["999999999999999999/", "0/", "00000000000000000001/", "1e5/", "%F0%9F%98%80/", "\u0661/"]
)
def test_odd_ids_in_the_url_are_404(api_as: Callable[[Any], APIClient], admin_user: Any, path: str) -> None:
    person(admin_user)
    client = api_as(admin_user)
    for sub in ("", "360/", "timeline/", "contact-points/", "consents/", "merge/?duplicate=1"):
        assert client.get(f"{LIST}{path}{sub}").status_code == 404


def test_errors_echoing_huge_input_stay_short(api_as: Callable[[Any], APIClient], agent: Any) -> None:
    response = send_json(api_as(agent), "POST", LIST, {"kind": "k" * 50_000, "last_name": "X", "z" * 1000: 1})
    assert_problem(response, 400)
    assert len(response.content) < 5_000
