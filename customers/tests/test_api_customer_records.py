"""REST API v1: a customer's contact points and consent ledger."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from rest_framework.test import APIClient

from customers.models import (
    Activity,
    ConsentEvent,
    Customer,
)
from customers.tests.api_setup import person, unchanged, url
from tests.api_contract import (
    assert_problem,
    send_json,
)

pytestmark = pytest.mark.django_db


# --- contact points ----------------------------------------------------------------------


def test_contact_points_are_listed_added_and_removed(api_as: Callable[[Any], APIClient], agent: Any) -> None:
    # given
    customer = person(agent, contact_points=[{"kind": "email", "value": "first@example.com"}])
    client = api_as(agent)
    # when
    added = send_json(
        client,
        "POST",
        url(customer, "contact-points/"),
        {"kind": "email", "value": "Second@Example.com", "is_primary": True},
    )
    listed = client.get(url(customer, "contact-points/"))
    removed = client.delete(url(customer, f"contact-points/{added.json()['id']}/"))
    # then
    assert added.status_code == 201, added.content
    assert added.json()["value"] == "second@example.com"
    assert {(cp["value"], cp["is_primary"]) for cp in listed.json()} == {
        ("first@example.com", False),
        ("second@example.com", True),
    }
    assert removed.status_code == 204
    # the remaining e-mail became primary again
    assert [(cp.value, cp.is_primary) for cp in customer.contact_points.all()] == [
        ("first@example.com", True)
    ]
    assert Customer.objects.get(pk=customer.pk).version == 3


def test_adding_an_address_needs_a_street_and_a_city(api_as: Callable[[Any], APIClient], agent: Any) -> None:
    customer = person(agent)
    before = unchanged()
    response = send_json(
        api_as(agent), "POST", url(customer, "contact-points/"), {"kind": "address", "country": "gb"}
    )
    assert_problem(response, 400, "street")
    assert unchanged() == before


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"kind": "email", "value": "not an email"}, "value"),
        ({"kind": "phone", "value": "12"}, "value"),
        ({"kind": "fax", "value": "1"}, "kind"),
        ({"kind": "email", "value": "a@example.com", "label": "secret"}, "label"),
        ({"kind": "email", "value": "a@example.com", "is_primary": "yes please"}, "is_primary"),
        ({"kind": "email", "value": "a\u0000@example.com"}, "value"),
        ({"kind": "email", "value": ["a@example.com"]}, "value"),
        ({"kind": "email", "value": "a@example.com", "extra": 1}, "extra"),
    ],
)
def test_adding_a_bad_contact_point_is_400_with_the_field_and_writes_nothing(
    api_as: Callable[[Any], APIClient], agent: Any, body: dict[str, Any], field: str
) -> None:
    customer = person(agent)
    before = unchanged()
    assert_problem(send_json(api_as(agent), "POST", url(customer, "contact-points/"), body), 400, field)
    assert unchanged() == before


def test_removing_another_customers_contact_point_is_404(
    api_as: Callable[[Any], APIClient], agent: Any
) -> None:
    mine = person(agent)
    other = person(agent, first="Bob", contact_points=[{"kind": "email", "value": "bob@example.com"}])
    before = unchanged()
    response = api_as(agent).delete(url(mine, f"contact-points/{other.contact_points.get().pk}/"))
    assert_problem(response, 404)
    assert unchanged() == before


# --- consents ---------------------------------------------------------------------------


def test_posting_consent_appends_to_the_ledger_and_the_current_state_follows(
    api_as: Callable[[Any], APIClient], agent: Any
) -> None:
    # given
    customer = person(agent)
    client = api_as(agent)
    grant = {"channel": "email", "purpose": "newsletter", "granted": True, "source": "web form"}
    # when
    first = send_json(client, "POST", url(customer, "consents/"), grant)
    second = send_json(
        client, "POST", url(customer, "consents/"), {**grant, "granted": False, "source": "phone"}
    )
    state = client.get(url(customer, "consents/")).json()
    # then
    assert first.status_code == second.status_code == 201
    assert [(c["purpose"], c["granted"]) for c in state["current"]] == [("newsletter", False)]
    assert [c["granted"] for c in state["ledger"]] == [False, True]
    assert ConsentEvent.objects.filter(customer=customer).count() == 2
    assert Activity.objects.filter(customer=customer, kind="consent").count() == 2


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"channel": "pigeon", "purpose": "newsletter", "granted": True, "source": "x"}, ["channel"]),
        ({"channel": "email", "purpose": "newsletter", "granted": "maybe", "source": "x"}, ["granted"]),
        ({"channel": "email", "purpose": "newsletter", "granted": True}, ["source"]),
        (
            {
                "channel": "email",
                "purpose": "newsletter",
                "granted": True,
                "source": "x",
                "occurred_at": "2999-01-01T00:00:00Z",
            },
            ["occurred_at"],
        ),
        (
            {
                "channel": "email",
                "purpose": "newsletter",
                "granted": True,
                "source": "x",
                "occurred_at": "0001-01-01T00:00:00+14:00",
            },
            ["occurred_at"],
        ),
        ({"channel": "email", "purpose": "newsletter", "granted": True, "source": "\u0000"}, ["source"]),
    ],
)
def test_bad_consent_is_400_and_the_ledger_is_unchanged(
    api_as: Callable[[Any], APIClient], agent: Any, body: dict[str, Any], fields: list[str]
) -> None:
    customer = person(agent)
    before = unchanged()
    assert_problem(send_json(api_as(agent), "POST", url(customer, "consents/"), body), 400, *fields)
    assert unchanged() == before
