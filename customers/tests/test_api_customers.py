"""REST API v1: /api/v1/customers/: the generic contract, create and update details,
optimistic concurrency and merged-id redirects."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from rest_framework.renderers import JSONRenderer
from rest_framework.test import APIClient

from customers.api_serializers import CustomerSerializer
from customers.merge import customer_merge
from customers.models import (
    ContactPoint,
    Customer,
    CustomFieldDefinition,
)
from customers.tests.api_setup import LIST, SERIAL, WATCHED, etag, person, rich_person, unchanged, url
from tests.api_contract import (
    CreateContract,
    DeleteContract,
    ListContract,
    RetrieveContract,
    VersionedUpdateContract,
    assert_problem,
    follow_pages,
    send_json,
)

pytestmark = pytest.mark.django_db


# --- the generic contract ----------------------------------------------------------


class TestCustomerApiContract(
    ListContract, RetrieveContract, CreateContract, VersionedUpdateContract, DeleteContract
):
    list_url = LIST
    watched_models = WATCHED
    # token + 2 permission lookups + rows + tags + primary contacts, whatever the rows
    list_query_budget = 7
    detail_query_budget = 7

    @pytest.fixture
    def reader(self, readonly_client: APIClient) -> APIClient:
        return readonly_client

    @pytest.fixture
    def writer(self, api_as: Callable[[Any], APIClient], agent: Any) -> APIClient:
        return api_as(agent)

    @pytest.fixture
    def outsider(self, api_as: Callable[[Any], APIClient], nobody: Any) -> APIClient:
        return api_as(nobody)

    @pytest.fixture
    def deleter(self, api_as: Callable[[Any], APIClient], admin_user: Any) -> APIClient:
        return api_as(admin_user)

    @pytest.fixture
    def make_row(self, agent: Any) -> Callable[[], Customer]:
        return lambda: person(agent, first=f"Row{next(SERIAL)}")

    @pytest.fixture
    def make_rich_row(self, agent: Any) -> Callable[[], Customer]:
        return lambda: rich_person(agent)

    def create_payload(self) -> dict[str, Any]:
        return {
            "kind": "person",
            "first_name": "Grace",
            "last_name": "Hopper",
            "tags": ["navy"],
            "contact_points": [{"kind": "email", "value": "Grace@Example.com"}],
        }

    def bad_create_payload(self) -> tuple[dict[str, Any], list[str]]:
        return (
            {"kind": "robot", "first_name": "x" * 101, "lifecycle_stage": "nope", "tags": "vip"},
            ["kind", "first_name", "lifecycle_stage", "tags"],
        )

    def update_payload(self, row: Customer) -> dict[str, Any]:
        return {"lifecycle_stage": "customer"}

    def bad_update_payload(self, row: Customer) -> tuple[dict[str, Any], list[str]]:
        return {"lifecycle_stage": "nope", "owner": "me"}, ["lifecycle_stage", "owner"]


# --- create and update details -------------------------------------------------------


def test_create_normalises_contact_points_and_sets_the_owner_to_the_creator(
    api_as: Callable[[Any], APIClient], sales_rep: Any
) -> None:
    # given
    client = api_as(sales_rep)
    # when
    response = send_json(
        client,
        "POST",
        LIST,
        {
            "kind": "person",
            "first_name": " Ada ",
            "last_name": "Lovelace",
            "contact_points": [
                {"kind": "email", "value": " Ada@Example.COM "},
                {"kind": "phone", "value": "020 7946 0000"},
            ],
        },
    )
    # then
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["display_name"] == "Ada Lovelace"
    assert body["primary_email"] == "ada@example.com"
    assert body["primary_phone"] == "+442079460000"
    assert body["owner"] == sales_rep.pk
    assert response["ETag"] == '"1"'


def test_create_with_an_invalid_contact_point_names_the_item_and_writes_nothing(
    api_as: Callable[[Any], APIClient], agent: Any
) -> None:
    # given
    before = unchanged()
    # when
    response = send_json(
        api_as(agent),
        "POST",
        LIST,
        {
            "kind": "person",
            "last_name": "Byron",
            "contact_points": [
                {"kind": "email", "value": "ok@example.com"},
                {"kind": "phone", "value": "12"},
            ],
        },
    )
    # then
    assert_problem(response, 400, "contact_points.1.value")
    assert unchanged() == before


def test_create_refuses_a_primary_email_another_customer_has_and_names_that_customer(
    api_as: Callable[[Any], APIClient], agent: Any
) -> None:
    # given
    first = person(agent, contact_points=[{"kind": "email", "value": "dup@example.com"}])
    before = unchanged()
    # when
    response = send_json(
        api_as(agent),
        "POST",
        LIST,
        {
            "kind": "person",
            "last_name": "Other",
            "contact_points": [{"kind": "email", "value": "DUP@example.com"}],
        },
    )
    # then
    body = assert_problem(response, 400, "contact_points.0.value")
    assert str(first.pk) in body["errors"]["contact_points.0.value"][0]
    assert unchanged() == before


def test_custom_attributes_are_validated_against_their_definitions(
    api_as: Callable[[Any], APIClient], agent: Any
) -> None:
    # given
    CustomFieldDefinition.objects.create(key="employees", label="Employees", field_type="number")
    CustomFieldDefinition.objects.create(
        key="tier", label="Tier", field_type="choice", choices=["gold", "silver"]
    )
    client = api_as(agent)
    base = {"kind": "organisation", "organisation_name": "Acme"}
    # when
    good = send_json(client, "POST", LIST, {**base, "attributes": {"employees": "120", "tier": "gold"}})
    before = unchanged()
    bad = send_json(
        client, "POST", LIST, {**base, "attributes": {"employees": "many", "tier": "bronze", "x": 1}}
    )
    # then
    assert good.status_code == 201, good.content
    assert good.json()["attributes"] == {"employees": 120, "tier": "gold"}
    assert_problem(bad, 400, "attributes.employees", "attributes.tier", "attributes.x")
    assert unchanged() == before


def test_put_sets_the_given_fields_with_if_match(api_as: Callable[[Any], APIClient], agent: Any) -> None:
    # given
    customer = person(agent, tags=["old"])
    client = api_as(agent)
    # when
    response = send_json(
        client,
        "PUT",
        url(customer),
        {"kind": "person", "first_name": "Augusta", "last_name": "King", "tags": ["new"]},
        HTTP_IF_MATCH=etag(client, customer),
    )
    # then
    assert response.status_code == 200, response.content
    assert response.json()["display_name"] == "Augusta King"
    assert response.json()["tags"] == ["new"]
    assert response["ETag"] == '"2"'


def test_the_kind_of_a_customer_cannot_change(api_as: Callable[[Any], APIClient], agent: Any) -> None:
    customer = person(agent)
    client = api_as(agent)
    before = unchanged()
    response = send_json(
        client, "PATCH", url(customer), {"kind": "organisation"}, HTTP_IF_MATCH=etag(client, customer)
    )
    assert_problem(response, 400, "kind")
    assert unchanged() == before


def test_put_without_the_kind_is_400(api_as: Callable[[Any], APIClient], agent: Any) -> None:
    customer = person(agent)
    client = api_as(agent)
    before = unchanged()
    response = send_json(
        client, "PUT", url(customer), {"last_name": "X"}, HTTP_IF_MATCH=etag(client, customer)
    )
    assert_problem(response, 400, "kind")
    assert unchanged() == before


def test_if_match_star_updates_whatever_the_version(api_as: Callable[[Any], APIClient], agent: Any) -> None:
    customer = person(agent)
    response = send_json(api_as(agent), "PATCH", url(customer), {"last_name": "B"}, HTTP_IF_MATCH="*")
    assert response.status_code == 200
    assert response.json()["version"] == 2


def test_two_clients_with_the_same_etag_cannot_both_write(
    api_as: Callable[[Any], APIClient], agent: Any, supervisor: Any
) -> None:
    # given: both read version 1
    customer = person(agent)
    first, second = api_as(agent), api_as(supervisor)
    tag = etag(first, customer)
    # when
    won = send_json(first, "PATCH", url(customer), {"last_name": "First"}, HTTP_IF_MATCH=tag)
    lost = send_json(second, "PATCH", url(customer), {"last_name": "Second"}, HTTP_IF_MATCH=tag)
    # then: the second is told, and the first change survives
    assert won.status_code == 200
    assert_problem(lost, 412)
    assert Customer.objects.get(pk=customer.pk).last_name == "First"


def test_deleting_a_customer_others_were_merged_into_is_409(
    api_as: Callable[[Any], APIClient], agent: Any, admin_user: Any
) -> None:
    survivor, duplicate = person(agent), person(agent, first="Ada2")
    customer_merge(actor=admin_user, survivor_id=survivor.pk, duplicate_id=duplicate.pk)
    before = unchanged()
    assert_problem(api_as(admin_user).delete(url(survivor)), 409)
    assert unchanged() == before


# --- merged ids --------------------------------------------------------------------------


@pytest.fixture
def merged(agent: Any, supervisor: Any) -> tuple[Customer, Customer]:
    survivor = person(agent, contact_points=[{"kind": "email", "value": "s@example.com"}])
    duplicate = person(agent, first="Ada L.")
    customer_merge(actor=supervisor, survivor_id=survivor.pk, duplicate_id=duplicate.pk)
    return survivor, duplicate


@pytest.mark.parametrize(
    "sub", ["", "360/", "timeline/", "contact-points/", "consents/", "timeline/?page_size=5"]
)
def test_a_merged_id_answers_301_to_the_same_request_on_the_survivor(
    api_as: Callable[[Any], APIClient], agent: Any, merged: tuple[Customer, Customer], sub: str
) -> None:
    # given
    survivor, tombstone = merged
    client = api_as(agent)
    # when
    response = client.get(url(tombstone, sub))
    # then
    assert_problem(response, 301)
    assert response["Location"] == url(survivor, sub)
    assert client.get(response["Location"]).status_code == 200


def test_a_write_to_a_merged_id_answers_308_and_writes_nothing(
    api_as: Callable[[Any], APIClient], agent: Any, merged: tuple[Customer, Customer]
) -> None:
    # given
    survivor, tombstone = merged
    client = api_as(agent)
    before = unchanged()
    # when
    response = send_json(client, "PATCH", url(tombstone), {"last_name": "X"}, HTTP_IF_MATCH='"2"')
    posted = send_json(
        client, "POST", url(tombstone, "contact-points/"), {"kind": "email", "value": "n@example.com"}
    )
    # then: 308 keeps the method, so a client cannot mistake the survivor's GET for its write
    assert_problem(response, 308)
    assert response["Location"] == url(survivor)
    assert_problem(posted, 308)
    assert unchanged() == before


def test_tombstones_are_not_listed(
    api_as: Callable[[Any], APIClient], agent: Any, merged: tuple[Customer, Customer]
) -> None:
    survivor, tombstone = merged
    ids = {row["id"] for row in follow_pages(api_as(agent), LIST)}
    assert survivor.pk in ids
    assert tombstone.pk not in ids


def test_a_list_page_is_what_the_customer_serializer_answers_for_its_rows(
    api_as: Callable[[Any], APIClient], agent: Any
) -> None:
    # given: customers with tags, a primary e-mail and phone, an address (not a list
    # fact) and a secondary e-mail; one with nothing but its name
    people = [rich_person(agent) for _ in range(3)]
    plain = person(agent, first="Plain")
    ContactPoint.objects.create(
        customer=people[0], kind="email", value="second@example.com", is_primary=False
    )
    ContactPoint.objects.create(
        customer=people[1], kind="address", value="1 Main St", city="Leeds", country="GB", is_primary=True
    )
    # when: the API lists them
    response = api_as(agent).get(LIST, {"page_size": 10})
    assert response.status_code == 200
    rows = response.json()["results"]
    # then: each row is the serializer's answer for that customer read with its tags and
    # contact points (Django's prefetch), in the list's order
    ids = [row["id"] for row in rows]
    assert set(ids) == {c.pk for c in [*people, plain]}
    read = Customer.objects.prefetch_related("tags", "contact_points").in_bulk(ids)
    expected = CustomerSerializer([read[pk] for pk in ids], many=True).data
    assert JSONRenderer().render(rows) == JSONRenderer().render(expected)
    by_id = {row["id"]: row for row in rows}
    assert (
        by_id[people[0].pk]["primary_email"]
        == people[0].contact_points.get(is_primary=True, kind="email").value
    )
    assert by_id[people[0].pk]["tags"] == sorted(t.name for t in people[0].tags.all())
    assert by_id[plain.pk]["tags"] == []
    assert by_id[plain.pk]["primary_phone"] is None
