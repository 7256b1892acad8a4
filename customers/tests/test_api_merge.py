"""REST API v1: duplicate candidates, the merge preview and the merge."""

from __future__ import annotations

import gc
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from customers import services
from customers.api_serializers import CustomerSerializer
from customers.models import ContactPoint, Customer, DuplicatePair, NameNeighbour
from customers.tests.api_setup import LIST, etag, person, unchanged, url
from customers.timeline import activity_log
from tests.api_contract import (
    assert_problem,
    send_json,
)

pytestmark = pytest.mark.django_db


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


def test_duplicates_rows_are_the_customer_serializers_and_a_merged_customer_is_left_out(
    api_as: Callable[[Any], APIClient], agent: Any, supervisor: Any
) -> None:
    # given: three look-alikes sharing a phone, with tags and several contact points
    shared = {"kind": "phone", "value": "+442079460042"}
    a, b, c = (
        person(
            agent,
            first=first,
            tags=["zeta", "alpha"],
            contact_points=[shared, {"kind": "email", "value": f"{first}@example.com"}],
        )
        for first in ("Ann", "Bea", "Cid")
    )
    services.contact_point_add(
        actor=agent, customer_id=b.pk, data={"kind": "address", "street": "1 Road", "city": "Leeds"}
    )
    client = api_as(supervisor)
    merged = send_json(client, "POST", url(a, "merge/"), {"duplicate": c.pk}, HTTP_IF_MATCH=etag(client, a))
    assert merged.status_code == 200, merged.content
    # when
    rows = client.get(f"{LIST}duplicates/").json()
    # then: the live pair only, each side what the customer's own serializer answers
    assert [(r["customer"]["id"], r["duplicate"]["id"]) for r in rows] == [(a.pk, b.pk)]
    for side, customer in (("customer", a), ("duplicate", b)):
        expected = client.get(url(customer)).json()
        assert rows[0][side] == {key: expected[key] for key in rows[0][side]}
        assert set(rows[0][side]) == set(CustomerSerializer.Meta.fields)
    assert rows[0]["duplicate"]["tags"] == ["alpha", "zeta"]
    assert rows[0]["duplicate"]["primary_email"] == "bea@example.com"


def test_one_customers_candidates_default_to_the_panels_20_and_read_at_most_50(
    api_as: Callable[[Any], APIClient], agent: Any
) -> None:
    # given: 55 look-alikes of one customer (the same phone)
    phone = {"kind": "phone", "value": "+442079460077"}
    target = person(agent, first="Target", tags=["vip"], contact_points=[phone])
    for n in range(55):
        person(agent, first=f"Other{n}", contact_points=[phone])
    client = api_as(agent)
    # when
    answers = {
        query: client.get(f"{LIST}duplicates/?customer={target.pk}{query}")
        for query in ("", "&limit=3", "&limit=50", "&limit=400")
    }
    # then
    assert {q: r.status_code for q, r in answers.items()} == dict.fromkeys(answers, 200)
    counts = {query: len(response.json()) for query, response in answers.items()}
    assert counts == {"": 20, "&limit=3": 3, "&limit=50": 50, "&limit=400": 50}
    rows = answers["&limit=50"].json()
    # each pair's customer is the target, as its own serializer answers it
    expected = client.get(url(target)).json()
    assert all(row["customer"] == {key: expected[key] for key in row["customer"]} for row in rows)
    assert all(set(row["customer"]) == set(CustomerSerializer.Meta.fields) for row in rows)
    assert len({row["duplicate"]["id"] for row in rows}) == 50
    assert all("same phone +442079460077" in row["reasons"] for row in rows)


def test_duplicates_leave_no_customer_to_the_garbage_collector(
    api_as: Callable[[Any], APIClient], agent: Any
) -> None:
    # given: names no other test uses (SQLite hands a rolled-back test's ids out again, and
    # another test's rows may still be alive in pytest's hands)
    token = uuid.uuid4().hex[:8]
    started = timezone.now()
    people = [
        person(
            agent, first=f"{first}{n}{token}", contact_points=[{"kind": "phone", "value": f"+4420794{n:05d}"}]
        )
        for n in range(5)
        for first in ("A", "B")
    ]
    ids = {p.pk for p in people}
    del people
    client = api_as(agent)
    gc.collect()
    gc.disable()
    try:
        # when
        response = client.get(f"{LIST}duplicates/")
        assert len(response.json()) == 5
        del response
        # then: no row read for the answer outlives it, waiting for a full collection
        # (reference cycles held the page's rows until one: 100-500 ms at a million).
        # `type`, not isinstance: that would resolve the lazy objects it meets.
        left = [
            o
            for o in gc.get_objects()
            if (type(o) is Customer and token in o.display_name)
            or (type(o) is ContactPoint and o.customer_id in ids and o.created_at >= started)
        ]
    finally:
        gc.enable()
    assert left == []


@pytest.mark.parametrize(
    "query",
    [
        "limit=0",
        "limit=501",
        "limit=abc",
        "customer=abc",
        "customer=99999999999999999999999",
        "customer=-1",
        "customer=1&limit=0",
        "customer=1&limit=501",
    ],
)
def test_duplicates_refuses_bad_parameters(
    api_as: Callable[[Any], APIClient], agent: Any, query: str
) -> None:
    assert_problem(api_as(agent).get(f"{LIST}duplicates/?{query}"), 400, query.split("&")[-1].split("=")[0])


def test_merge_preview_shows_what_would_move_and_moves_nothing(
    api_as: Callable[[Any], APIClient], agent: Any, supervisor: Any
) -> None:
    # given
    survivor = person(agent, tags=["a"])
    duplicate = person(
        agent, first="Ada L.", tags=["b"], contact_points=[{"kind": "email", "value": "d@example.com"}]
    )
    activity_log(actor=agent, customer_id=duplicate.pk, kind="note", subject="hello")
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


def test_merge_preview_lists_records_not_the_rows_the_duplicate_indexes_keep(
    api_as: Callable[[Any], APIClient], agent: Any, supervisor: Any
) -> None:
    # given: look-alikes (a pair kept for the same phone, both names filed) and a note
    survivor = person(agent, contact_points=[{"kind": "phone", "value": "+442079460000"}])
    duplicate = person(agent, first="Ada L.", contact_points=[{"kind": "phone", "value": "+442079460000"}])
    activity_log(actor=agent, customer_id=duplicate.pk, kind="note", subject="hello")
    assert DuplicatePair.objects.filter(customer_b=duplicate).exists()
    assert NameNeighbour.objects.filter(customer=duplicate).exists()
    # when
    response = api_as(supervisor).get(url(survivor, f"merge/?duplicate={duplicate.pk}"))
    # then: the note moves; the index rows are not records to show
    assert response.status_code == 200, response.content
    titles = " ".join(response.json()["moves"])
    assert "Timeline entries" in titles
    assert "Duplicate pairs" not in titles
    assert "Filed names" not in titles


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
    response = send_json(
        client,
        "POST",
        url(survivor, "merge/"),
        {"duplicate": duplicate.pk},
        HTTP_IF_MATCH=etag(client, survivor),
    )
    # then
    assert response.status_code == 200, response.content
    assert response["ETag"] == f'"{response.json()["version"]}"'
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
    response = send_json(api_as(supervisor), "POST", url(survivor, "merge/"), body, HTTP_IF_MATCH='"1"')
    assert_problem(response, 400, field)
    assert unchanged() == before


def test_a_person_and_an_organisation_cannot_be_merged_or_previewed(
    api_as: Callable[[Any], APIClient], agent: Any, supervisor: Any
) -> None:
    ada = person(agent)
    acme = services.customer_create(actor=agent, kind="organisation", organisation_name="Acme")
    client = api_as(supervisor)
    before = unchanged()
    merging = send_json(client, "POST", url(ada, "merge/"), {"duplicate": acme.pk}, HTTP_IF_MATCH='"1"')
    assert_problem(merging, 400, "duplicate")
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


def test_merge_needs_if_match_with_the_survivors_version_and_merges_nothing_without(
    api_as: Callable[[Any], APIClient], agent: Any, supervisor: Any
) -> None:
    # given
    survivor, duplicate = person(agent), person(agent, first="Ada L.")
    client = api_as(supervisor)
    before = unchanged()
    # when / then: without If-Match
    assert_problem(send_json(client, "POST", url(survivor, "merge/"), {"duplicate": duplicate.pk}), 428)
    assert unchanged() == before


def test_merge_with_a_stale_version_is_412_and_merges_nothing(
    api_as: Callable[[Any], APIClient], agent: Any, supervisor: Any
) -> None:
    # given: the survivor changed after the merging person previewed it
    survivor, duplicate = person(agent), person(agent, first="Ada L.")
    client = api_as(supervisor)
    previewed = etag(client, survivor)
    services.customer_update(actor=agent, customer_id=survivor.pk, expected_version=None, last_name="Byron")
    before = unchanged()
    # when
    response = send_json(
        client, "POST", url(survivor, "merge/"), {"duplicate": duplicate.pk}, HTTP_IF_MATCH=previewed
    )
    # then
    assert_problem(response, 412)
    assert unchanged() == before


def test_the_schema_documents_the_merges_if_match_and_its_precondition_errors() -> None:
    # when
    schema = APIClient().get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    # then
    operation = schema["paths"]["/api/v1/customers/{id}/merge/"]["post"]
    headers = {p["name"]: p for p in operation["parameters"] if p["in"] == "header"}
    assert headers["If-Match"]["required"] is True
    assert {"200", "400", "403", "412", "428"} <= set(operation["responses"])
    assert "ETag" in operation["responses"]["200"]["headers"]
