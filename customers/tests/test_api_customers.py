"""REST API v1: /api/v1/customers/ and its sub-resources, authentication, permissions,
optimistic concurrency, merged-id redirects and malformed input."""

from __future__ import annotations

import datetime as dt
import io
import itertools
import json
from collections.abc import Callable
from typing import Any

import pytest
import time_machine
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from knox.models import AuthToken
from rest_framework.test import APIClient

from customers import merge_registry, services
from customers.models import (
    Activity,
    ConsentEvent,
    ContactPoint,
    Customer,
    CustomFieldDefinition,
    Relationship,
    Tag,
)
from tests.api_contract import (
    CreateContract,
    DeleteContract,
    ListContract,
    RetrieveContract,
    VersionedUpdateContract,
    assert_problem,
    follow_pages,
    send_json,
    snapshot,
)

pytestmark = pytest.mark.django_db

LIST = "/api/v1/customers/"
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
_serial = itertools.count(1)


def url(customer: Customer | int, sub: str = "") -> str:
    pk = customer if isinstance(customer, int) else customer.pk
    return f"{LIST}{pk}/{sub}"


def person(actor: Any, first: str = "Ada", last: str = "Lovelace", **fields: Any) -> Customer:
    return services.customer_create(actor=actor, kind="person", first_name=first, last_name=last, **fields)


def rich_person(actor: Any) -> Customer:
    """A customer with what a list row shows: tags, a primary e-mail and phone."""
    n = next(_serial)
    return person(
        actor,
        first=f"Person{n}",
        tags=["vip", f"segment-{n % 3}"],
        contact_points=[
            {"kind": "email", "value": f"person{n}@example.com"},
            {"kind": "phone", "value": f"+4420794{n:05d}"},
        ],
    )


def unchanged() -> dict[str, list[dict[str, Any]]]:
    return snapshot(*WATCHED)


def etag(client: APIClient, customer: Customer) -> str:
    return client.get(url(customer))["ETag"]


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
        return lambda: person(agent, first=f"Row{next(_serial)}")

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
    services.customer_merge(actor=admin_user, survivor_id=survivor.pk, duplicate_id=duplicate.pk)
    before = unchanged()
    assert_problem(api_as(admin_user).delete(url(survivor)), 409)
    assert unchanged() == before


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


# --- merged ids --------------------------------------------------------------------------


@pytest.fixture
def merged(agent: Any, supervisor: Any) -> tuple[Customer, Customer]:
    survivor = person(agent, contact_points=[{"kind": "email", "value": "s@example.com"}])
    duplicate = person(agent, first="Ada L.")
    services.customer_merge(actor=supervisor, survivor_id=survivor.pk, duplicate_id=duplicate.pk)
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


# --- 360 ----------------------------------------------------------------------------------


def test_360_shows_profile_contacts_consent_relations_and_the_latest_timeline(
    api_as: Callable[[Any], APIClient], agent: Any
) -> None:
    # given
    org = services.customer_create(actor=agent, kind="organisation", organisation_name="Acme")
    ada = person(agent, tags=["vip"], contact_points=[{"kind": "email", "value": "ada@example.com"}])
    services.relationship_set(actor=agent, person_id=ada.pk, organisation_id=org.pk, role="CTO")
    services.consent_record(
        actor=agent, customer_id=ada.pk, channel="email", purpose="newsletter", granted=True, source="web"
    )
    services.activity_log(actor=agent, customer_id=ada.pk, kind="call", subject="Called about renewal")
    # when
    response = api_as(agent).get(url(ada, "360/"))
    # then
    assert response.status_code == 200
    body = response.json()
    assert body["customer"]["id"] == ada.pk
    assert body["customer"]["tags"] == ["vip"]
    assert body["customer"]["primary_email"] == "ada@example.com"
    assert [cp["value"] for cp in body["contact_points"]] == ["ada@example.com"]
    assert [(c["channel"], c["purpose"], c["granted"]) for c in body["consents"]] == [
        ("email", "newsletter", True)
    ]
    assert [(o["customer_id"], o["role"]) for o in body["organisations"]] == [(org.pk, "CTO")]
    assert body["timeline"][0]["subject"] == "Called about renewal"
    assert body["timeline_next"] is None
    assert response["ETag"] == f'"{body["customer"]["version"]}"'


def _bulk_person(n: int) -> Customer:
    return Customer(
        kind="person", first_name=f"P{n}", last_name="Bulk", display_name=f"P{n} Bulk", name_key=f"bulk p{n}"
    )


def _load_up(org: Customer, count: int) -> None:
    """`count` activities, members and contact points (and consent events) for `org`."""
    now = timezone.now()
    members = Customer.objects.bulk_create([_bulk_person(i) for i in range(count)])
    Relationship.objects.bulk_create(
        [Relationship(person=p, organisation=org, role="staff") for p in members]
    )
    ContactPoint.objects.bulk_create(
        [
            ContactPoint(customer=org, kind="email", value=f"box{i}@acme.example", is_primary=(i == 0))
            for i in range(count)
        ]
    )
    Activity.objects.bulk_create(
        [
            Activity(
                customer=org,
                kind="note",
                subject=f"note {i}",
                source_app="customers",
                occurred_at=now - dt.timedelta(minutes=i),
            )
            for i in range(count)
        ]
    )
    ConsentEvent.objects.bulk_create(
        [
            ConsentEvent(
                customer=org,
                channel="email",
                purpose="marketing",
                granted=i % 2 == 0,
                source="bulk",
                occurred_at=now - dt.timedelta(minutes=i),
            )
            for i in range(count)
        ]
    )
    Customer.objects.bulk_create(
        [
            Customer(
                kind="organisation",
                organisation_name=f"Sub {i}",
                display_name=f"Sub {i}",
                name_key=f"sub {i}",
                parent=org,
            )
            for i in range(min(count, 60))
        ]
    )


@pytest.mark.parametrize("count", [0, 500])
def test_360_runs_at_most_15_queries_whatever_the_data(
    api_as: Callable[[Any], APIClient],
    agent: Any,
    admin_user: Any,
    count: int,
    django_assert_max_num_queries: Any,
) -> None:
    # given: an organisation with `count` activities, members, contact points, consents
    org = services.customer_create(actor=agent, kind="organisation", organisation_name="Acme", tags=["big"])
    _load_up(org, count)
    client = api_as(admin_user)  # an admin also loads the audit history
    # when / then
    with django_assert_max_num_queries(15):
        response = client.get(url(org, "360/"))
    assert response.status_code == 200
    body = response.json()
    assert len(body["members"]) == min(count, 200)
    assert len(body["timeline"]) == min(count, 50)
    assert len(body["contact_points"]) == count


def test_360_query_count_is_the_same_for_0_and_500_rows(
    api_as: Callable[[Any], APIClient], agent: Any, admin_user: Any
) -> None:
    # given
    empty = services.customer_create(actor=agent, kind="organisation", organisation_name="Empty")
    full = services.customer_create(actor=agent, kind="organisation", organisation_name="Full")
    _load_up(full, 500)
    client = api_as(admin_user)
    counts = []
    # when
    for org in (empty, full):
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url(org, "360/")).status_code == 200
        counts.append(len(queries))
    # then
    assert counts[0] == counts[1]


def test_360_links_to_the_older_timeline_entries(api_as: Callable[[Any], APIClient], agent: Any) -> None:
    # given: 55 entries, one more than fit
    org = services.customer_create(actor=agent, kind="organisation", organisation_name="Acme")
    _load_up(org, 55)
    client = api_as(agent)
    # when
    first = client.get(url(org, "360/")).json()
    rest = follow_pages(client, first["timeline_next"])
    # then
    shown = [a["id"] for a in first["timeline"]] + [a["id"] for a in rest]
    assert len(shown) == len(set(shown)) == 55


@pytest.mark.parametrize("rows", [3, 60])
@pytest.mark.parametrize(
    ("sub", "budget"),
    [
        ("timeline/?page_size=200", 6),
        ("contact-points/", 6),
        ("consents/", 7),
        # the preview counts what each registered reference (from every app) would move
        ("merge/?duplicate={other}", 14 + len(merge_registry.references())),
    ],
)
def test_sub_resource_query_count_does_not_grow_with_rows(
    api_as: Callable[[Any], APIClient],
    agent: Any,
    admin_user: Any,
    rows: int,
    sub: str,
    budget: int,
    django_assert_max_num_queries: Any,
) -> None:
    # given: an organisation with `rows` entries of every kind, and a duplicate of it
    org = services.customer_create(actor=agent, kind="organisation", organisation_name="Acme", tags=["a"])
    other = services.customer_create(
        actor=agent, kind="organisation", organisation_name="Acme Ltd", tags=["b"]
    )
    _load_up(org, rows)
    client = api_as(admin_user)
    # when / then
    with django_assert_max_num_queries(budget):
        response = client.get(url(org, sub.format(other=other.pk)))
    assert response.status_code == 200, response.content


# --- timeline ---------------------------------------------------------------------------


def test_the_timeline_is_newest_first_and_cursor_paginated(
    api_as: Callable[[Any], APIClient], agent: Any, django_assert_max_num_queries: Any
) -> None:
    # given: 7 entries, two at the same moment
    customer = person(agent)
    base = timezone.now() - dt.timedelta(days=1)
    moments = [base + dt.timedelta(minutes=m) for m in (5, 1, 3, 3, 7, 2, 6)]
    for i, moment in enumerate(moments):
        services.activity_log(
            actor=agent, customer_id=customer.pk, kind="note", subject=f"n{i}", occurred_at=moment
        )
    client = api_as(agent)
    # when
    with django_assert_max_num_queries(6):
        first = client.get(url(customer, "timeline/?page_size=3"))
    rows = follow_pages(client, url(customer, "timeline/?page_size=3"))
    # then
    assert first.status_code == 200
    assert len(first.json()["results"]) == 3
    keys = [(r["occurred_at"], r["id"]) for r in rows]
    assert keys == sorted(keys, reverse=True)
    assert len(rows) == 7


def test_the_timeline_refuses_a_forged_cursor(api_as: Callable[[Any], APIClient], agent: Any) -> None:
    customer = person(agent)
    for cursor in ("garbage", "eyJwIjogWyI5OTk5LTEyLTMxVDIzOjU5OjU5LTE0OjAwIiwgMV19", "eyJwIjpbMSwiYSJdfQ=="):
        assert_problem(api_as(agent).get(url(customer, f"timeline/?cursor={cursor}")), 400, "cursor")


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


# --- duplicates and merge ------------------------------------------------------------------


def test_duplicates_lists_pairs_with_their_reasons(api_as: Callable[[Any], APIClient], agent: Any) -> None:
    # given
    a = person(agent, contact_points=[{"kind": "phone", "value": "+442079460001"}])
    b = person(agent, first="Augusta", contact_points=[{"kind": "phone", "value": "020 7946 0001"}])
    person(agent, first="Someone", last="Else")
    client = api_as(agent)
    # when
    everyone = client.get(f"{LIST}duplicates/")
    for_a = client.get(f"{LIST}duplicates/?customer={a.pk}")
    # then
    assert everyone.status_code == for_a.status_code == 200
    pairs = {(p["customer"]["id"], p["duplicate"]["id"]): p["reasons"] for p in everyone.json()}
    assert any("phone" in reason for reason in pairs[(a.pk, b.pk)])
    assert b.pk in {p["duplicate"]["id"] for p in for_a.json()}


@pytest.mark.parametrize("pairs", [3, 30])
def test_duplicates_query_count_does_not_grow_with_pairs(
    api_as: Callable[[Any], APIClient], agent: Any, pairs: int, django_assert_max_num_queries: Any
) -> None:
    for n in range(pairs):
        for first in ("A", "B"):
            person(
                agent,
                first=f"{first}{n}",
                tags=["t"],
                contact_points=[{"kind": "phone", "value": f"+4420794{n:05d}"}],
            )
    client = api_as(agent)
    with django_assert_max_num_queries(10):
        response = client.get(f"{LIST}duplicates/")
    assert len(response.json()) >= pairs


@pytest.mark.parametrize(
    "query",
    ["limit=0", "limit=501", "limit=abc", "customer=abc", "customer=99999999999999999999999", "customer=-1"],
)
def test_duplicates_refuses_bad_parameters(
    api_as: Callable[[Any], APIClient], agent: Any, query: str
) -> None:
    assert_problem(api_as(agent).get(f"{LIST}duplicates/?{query}"), 400, query.split("=")[0])


def test_merge_preview_shows_what_would_move_and_moves_nothing(
    api_as: Callable[[Any], APIClient], agent: Any, supervisor: Any
) -> None:
    # given
    survivor = person(agent, tags=["a"])
    duplicate = person(
        agent, first="Ada L.", tags=["b"], contact_points=[{"kind": "email", "value": "d@example.com"}]
    )
    services.activity_log(actor=agent, customer_id=duplicate.pk, kind="note", subject="hello")
    before = unchanged()
    # when
    response = api_as(supervisor).get(url(survivor, f"merge/?duplicate={duplicate.pk}"))
    # then
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["tags_added"] == ["b"]
    assert [cp["value"] for cp in body["contact_points_moved"]] == ["d@example.com"]
    assert any(count >= 1 for count in body["moves"].values())
    assert unchanged() == before


def test_merge_moves_everything_to_the_survivor_and_leaves_a_tombstone(
    api_as: Callable[[Any], APIClient], agent: Any, supervisor: Any
) -> None:
    # given
    survivor = person(agent, tags=["a"])
    duplicate = person(
        agent, first="Ada L.", tags=["b"], contact_points=[{"kind": "email", "value": "d@example.com"}]
    )
    client = api_as(supervisor)
    # when
    response = send_json(client, "POST", url(survivor, "merge/"), {"duplicate": duplicate.pk})
    # then
    assert response.status_code == 200, response.content
    assert set(response.json()["tags"]) == {"a", "b"}
    assert response.json()["primary_email"] == "d@example.com"
    assert client.get(url(duplicate)).status_code == 301


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"duplicate": "self"}, "duplicate"),
        ({"duplicate": 0}, "duplicate"),
        ('{"duplicate": 1e400}', "duplicate"),
        ('{"duplicate": 1.5}', "duplicate"),
        ('{"duplicate": "12"}', "duplicate"),
        ({"duplicate": 99999999999999999999999}, "duplicate"),
        ({"duplicate": True}, "duplicate"),
        ({"duplicate": 999999}, "duplicate"),
        ({}, "duplicate"),
        ({"duplicate": 1, "also": 2}, "also"),
    ],
)
def test_merge_with_a_bad_duplicate_is_400_and_merges_nothing(
    api_as: Callable[[Any], APIClient], agent: Any, supervisor: Any, body: Any, field: str
) -> None:
    survivor = person(agent)
    if body == {"duplicate": "self"}:
        body = {"duplicate": survivor.pk}
    before = unchanged()
    assert_problem(send_json(api_as(supervisor), "POST", url(survivor, "merge/"), body), 400, field)
    assert unchanged() == before


def test_a_person_and_an_organisation_cannot_be_merged_or_previewed(
    api_as: Callable[[Any], APIClient], agent: Any, supervisor: Any
) -> None:
    ada = person(agent)
    acme = services.customer_create(actor=agent, kind="organisation", organisation_name="Acme")
    client = api_as(supervisor)
    before = unchanged()
    assert_problem(send_json(client, "POST", url(ada, "merge/"), {"duplicate": acme.pk}), 400, "duplicate")
    assert_problem(client.get(url(ada, f"merge/?duplicate={acme.pk}")), 400, "duplicate")
    assert unchanged() == before


@pytest.mark.parametrize(
    "query", ["", "duplicate=", "duplicate=abc", "duplicate=0", "duplicate=999999", "duplicate=%00"]
)
def test_merge_preview_refuses_a_missing_or_bad_duplicate(
    api_as: Callable[[Any], APIClient], agent: Any, supervisor: Any, query: str
) -> None:
    survivor = person(agent)
    assert_problem(api_as(supervisor).get(url(survivor, f"merge/?{query}")), 400, "duplicate")


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
