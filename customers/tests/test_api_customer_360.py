"""REST API v1: a customer's 360 view, its timeline and their query budgets."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from django.db.models import Q
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.renderers import JSONRenderer
from rest_framework.test import APIClient

from customers import services
from customers.api_panels import relation_body
from customers.api_serializers import ConsentEventSerializer, ContactPointSerializer, CustomerSerializer
from customers.api_timeline import ActivitySerializer
from customers.consent import consent_record
from customers.models import (
    Activity,
    ConsentEvent,
    ContactPoint,
    Customer,
    Relationship,
)
from customers.selectors import consent_state
from customers.tests.api_setup import person, url
from customers.timeline import activity_log
from frontoffice import plugin
from tests.api_contract import (
    assert_problem,
    follow_pages,
)

pytestmark = pytest.mark.django_db


# --- 360 ----------------------------------------------------------------------------------


def test_360_shows_profile_contacts_consent_relations_and_the_latest_timeline(
    api_as: Callable[[Any], APIClient], agent: Any
) -> None:
    # given
    org = services.customer_create(actor=agent, kind="organisation", organisation_name="Acme")
    ada = person(agent, tags=["vip"], contact_points=[{"kind": "email", "value": "ada@example.com"}])
    services.relationship_set(actor=agent, person_id=ada.pk, organisation_id=org.pk, role="CTO")
    consent_record(
        actor=agent, customer_id=ada.pk, channel="email", purpose="newsletter", granted=True, source="web"
    )
    activity_log(actor=agent, customer_id=ada.pk, kind="call", subject="Called about renewal")
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


def test_360_answers_what_the_serializers_answer_over_the_querysets(
    api_as: Callable[[Any], APIClient], agent: Any
) -> None:
    # given: a customer with something in every part of the body, and a second one
    org = services.customer_create(
        actor=agent, kind="organisation", organisation_name="Acme", tags=["b", "a"]
    )
    ada = person(agent, tags=["vip"], contact_points=[{"kind": "email", "value": "ada@example.com"}])
    services.relationship_set(actor=agent, person_id=ada.pk, organisation_id=org.pk, role="CTO")
    consent_record(
        actor=agent, customer_id=ada.pk, channel="email", purpose="newsletter", granted=True, source="web"
    )
    _load_up(org, 3)
    activity_log(actor=agent, customer_id=ada.pk, kind="call", subject="Called about renewal")
    client = api_as(agent)
    # when: each read twice (the first compiles the reads, the next ones reuse them)
    for customer in (org, ada, org, ada):
        body = client.get(url(customer, "360/")).json()
        # then: each part as the serializers answer it over plain querysets
        fresh = Customer.objects.prefetch_related("tags").get(pk=customer.pk)
        fresh.primary_contacts = [cp for cp in fresh.contact_points.all() if cp.is_primary]  # type: ignore[attr-defined]
        relations = Relationship.objects.filter(Q(person=customer) | Q(organisation=customer)).order_by("id")
        timeline = Activity.objects.filter(customer=customer).order_by("-occurred_at", "-id")[:50]
        assert _json(body["customer"]) == _json(CustomerSerializer(fresh).data)
        assert _json(body["contact_points"]) == _json(
            ContactPointSerializer(fresh.contact_points.all(), many=True).data
        )
        assert _json(body["consents"]) == _json(
            ConsentEventSerializer(consent_state(customer=fresh), many=True).data
        )
        assert _json(body["timeline"]) == _json(ActivitySerializer(timeline, many=True).data)
        assert body["organisations"] == [
            relation_body(r, r.organisation) for r in relations if r.person_id == customer.pk
        ]
        assert body["members"] == [
            relation_body(r, r.person) for r in relations if r.organisation_id == customer.pk
        ]
        assert body["subsidiaries"] == [
            {"id": c.pk, "display_name": c.display_name}
            for c in Customer.objects.filter(parent=customer, merged_into=None).order_by("display_name")
        ]
    assert body["customer"]["tags"] == ["vip"]


def _json(value: Any) -> Any:
    return json.loads(JSONRenderer().render(value))


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
def test_360_runs_at_most_8_queries_whatever_the_data(
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
    # (no panel's queries: each panel is loaded only on request, see test_api_panels;
    # the token's lookup brings its user's permissions)
    with django_assert_max_num_queries(8):
        response = client.get(url(org, "360/"))
    assert response.status_code == 200
    body = response.json()
    assert len(body["members"]) == min(count, 200)
    assert len(body["timeline"]) == min(count, 50)
    assert len(body["contact_points"]) == count


@pytest.mark.parametrize("missing", [10**6, 999_999_999_999_999_999])
def test_360_of_no_customer_is_a_404_problem(
    api_as: Callable[[Any], APIClient], agent: Any, missing: int
) -> None:
    customer = person(agent)
    response = api_as(agent).get(
        f"/api/v1/customers/{customer.pk + missing if missing < 10**9 else missing}/360/"
    )
    assert_problem(response, 404)


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
        ("merge/?duplicate={other}", 14 + len(plugin.merge_references())),
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
        activity_log(actor=agent, customer_id=customer.pk, kind="note", subject=f"n{i}", occurred_at=moment)
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


# --- the timeline by kind -------------------------------------------------------------------------


def calls_and_notes(agent: Any) -> Customer:
    customer = person(agent)
    for n in range(3):
        activity_log(actor=agent, customer_id=customer.pk, kind="call", subject=f"call {n}")
        activity_log(actor=agent, customer_id=customer.pk, kind="note", subject=f"note {n}")
    return customer


def test_the_timeline_shows_one_declared_kind_when_asked(
    api_as: Callable[[Any], APIClient], agent: Any
) -> None:
    # given
    customer = calls_and_notes(agent)
    client = api_as(agent)
    # when
    rows = follow_pages(client, url(customer, "timeline/?kind=call&page_size=2"))
    # then
    assert [r["kind"] for r in rows] == ["call", "call", "call"]


def test_the_360_timeline_shows_one_kind_and_its_next_page_keeps_it(
    api_as: Callable[[Any], APIClient], agent: Any
) -> None:
    # given: 55 notes, 5 calls
    org = services.customer_create(actor=agent, kind="organisation", organisation_name="Acme")
    _load_up(org, 55)
    for n in range(5):
        activity_log(actor=agent, customer_id=org.pk, kind="call", subject=f"call {n}")
    client = api_as(agent)
    # when
    calls = client.get(url(org, "360/?kind=call")).json()
    notes = client.get(url(org, "360/?kind=note")).json()
    rest = follow_pages(client, notes["timeline_next"])
    # then
    assert [a["kind"] for a in calls["timeline"]] == ["call"] * 5
    assert calls["timeline_next"] is None
    assert "kind=note" in notes["timeline_next"]
    assert {a["kind"] for a in notes["timeline"] + rest} == {"note"}
    assert len(notes["timeline"] + rest) == 55


@pytest.mark.parametrize("sub", ["timeline/", "360/"])
@pytest.mark.parametrize("kind", ["opportunity.won", "CALL", "x" * 300])
def test_a_kind_no_app_declares_is_400_naming_the_parameter(
    api_as: Callable[[Any], APIClient], agent: Any, sub: str, kind: str
) -> None:
    # given
    customer = calls_and_notes(agent)
    # when
    response = api_as(agent).get(url(customer, sub), {"kind": kind})
    # then
    assert_problem(response, 400, "kind")
