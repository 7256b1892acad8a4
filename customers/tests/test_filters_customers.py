"""Every filter and ordering of the customer list, through /api/v1/customers/ and
through `CustomerFilter` itself (the pages and the KPIs use it directly)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

import pytest
import time_machine
from rest_framework.test import APIClient

from customers import selectors, services
from customers.merge import customer_merge
from customers.models import Customer, CustomFieldDefinition
from tests.api_contract import assert_problem, follow_pages

pytestmark = pytest.mark.django_db

LIST = "/api/v1/customers/"
T0 = dt.datetime(2025, 3, 1, 12, 0, tzinfo=dt.UTC)


def person(actor: Any, first: str, last: str = "Test", **fields: Any) -> Customer:
    return services.customer_create(actor=actor, kind="person", first_name=first, last_name=last, **fields)


def organisation(actor: Any, name: str, **fields: Any) -> Customer:
    return services.customer_create(actor=actor, kind="organisation", organisation_name=name, **fields)


@pytest.fixture
def client(api_as: Callable[[Any], APIClient], agent: Any) -> APIClient:
    return api_as(agent)


def listed(client: APIClient, **params: Any) -> list[int]:
    """Ids listed for `params`, across all pages, in the order served."""
    return [row["id"] for row in follow_pages(client, f"{LIST}?{urlencode(params)}")]


def names(client: APIClient, **params: Any) -> list[str]:
    return [row["display_name"] for row in follow_pages(client, f"{LIST}?{urlencode(params)}")]


# --- q ------------------------------------------------------------------------------


def test_q_finds_customers_by_part_of_their_name_in_any_case(client: APIClient, agent: Any) -> None:
    # given
    ada = person(agent, "Ada", "Lovelace")
    person(agent, "Grace", "Hopper")
    # when / then
    assert listed(client, q="lovel") == [ada.pk]
    assert listed(client, q="ADA LOVE") == [ada.pk]


def test_q_finds_customers_by_the_start_of_an_email(client: APIClient, agent: Any) -> None:
    ada = person(agent, "Ada", contact_points=[{"kind": "email", "value": "countess@analytical.example"}])
    person(agent, "Grace", contact_points=[{"kind": "email", "value": "grace@navy.example"}])
    assert listed(client, q="Countess@Anal") == [ada.pk]


def test_q_finds_customers_by_phone_typed_in_any_format(client: APIClient, agent: Any) -> None:
    ada = person(agent, "Ada", contact_points=[{"kind": "phone", "value": "+44 20 7946 0000"}])
    person(agent, "Grace", contact_points=[{"kind": "phone", "value": "+44 20 7946 0999"}])
    assert listed(client, q="020 7946 0000") == [ada.pk]
    assert listed(client, q="+442079460000") == [ada.pk]


def test_q_that_matches_nothing_lists_nothing(client: APIClient, agent: Any) -> None:
    person(agent, "Ada")
    assert listed(client, q="zzz-nothing") == []


def test_q_does_not_list_a_customer_twice_when_name_and_email_both_match(
    client: APIClient, agent: Any
) -> None:
    ada = person(agent, "Ada", contact_points=[{"kind": "email", "value": "ada@example.com"}])
    assert listed(client, q="ada") == [ada.pk]


# --- kind, lifecycle stage, tag, owner ------------------------------------------------------


def test_kind_filters_people_and_organisations(client: APIClient, agent: Any) -> None:
    ada = person(agent, "Ada")
    acme = organisation(agent, "Acme")
    assert listed(client, kind="person") == [ada.pk]
    assert listed(client, kind="organisation") == [acme.pk]


def test_lifecycle_stage_filters_by_stage(client: APIClient, agent: Any) -> None:
    prospect = person(agent, "Pat")
    customer = person(agent, "Cus", lifecycle_stage="customer")
    former = person(agent, "For", lifecycle_stage="former")
    assert listed(client, lifecycle_stage="prospect") == [prospect.pk]
    assert listed(client, lifecycle_stage="customer") == [customer.pk]
    assert listed(client, lifecycle_stage="former") == [former.pk]


def test_tag_filters_by_tag_name_in_any_case(client: APIClient, agent: Any) -> None:
    vip = person(agent, "Vip", tags=["VIP", "north"])
    person(agent, "Plain", tags=["north"])
    assert listed(client, tag="vip") == [vip.pk]
    assert listed(client, tag=" Vip ") == [vip.pk]
    assert sorted(listed(client, tag="north")) == sorted(
        [vip.pk, Customer.objects.get(first_name="Plain").pk]
    )


def test_tag_filters_by_any_of_several_tags_once_each(client: APIClient, agent: Any) -> None:
    both = person(agent, "Both", tags=["VIP", "north"])
    south = person(agent, "South", tags=["south"])
    person(agent, "None")
    assert sorted(listed(client, tag="vip, SOUTH")) == sorted([both.pk, south.pk])
    assert listed(client, tag="vip,north") == [both.pk]


def test_owner_filters_by_the_owning_user(client: APIClient, agent: Any, sales_rep: Any) -> None:
    mine = person(sales_rep, "Mine")
    theirs = person(agent, "Theirs")
    assert listed(client, owner=sales_rep.pk) == [mine.pk]
    assert listed(client, owner=agent.pk) == [theirs.pk]
    assert listed(client, owner=999_999) == []


# --- dates ------------------------------------------------------------------------------


@pytest.fixture
def three_days(agent: Any) -> list[Customer]:
    """One customer created on each of three days, each updated a week later."""
    made = []
    for day in range(3):
        with time_machine.travel(T0 + dt.timedelta(days=day), tick=False):
            made.append(person(agent, f"Day{day}"))
    for day, customer in enumerate(made):
        with time_machine.travel(T0 + dt.timedelta(days=7 + day), tick=False):
            services.customer_update(
                actor=agent, customer_id=customer.pk, expected_version=None, lifecycle_stage="customer"
            )
    return made


def test_created_after_includes_the_moment_itself(client: APIClient, three_days: list[Customer]) -> None:
    day1 = (T0 + dt.timedelta(days=1)).isoformat()
    assert sorted(listed(client, created_after=day1)) == sorted(c.pk for c in three_days[1:])


def test_created_before_excludes_the_moment_itself(client: APIClient, three_days: list[Customer]) -> None:
    day1 = (T0 + dt.timedelta(days=1)).isoformat()
    assert listed(client, created_before=day1) == [three_days[0].pk]


def test_created_after_and_before_make_a_window(client: APIClient, three_days: list[Customer]) -> None:
    window = {
        "created_after": (T0 + dt.timedelta(hours=12)).isoformat(),
        "created_before": (T0 + dt.timedelta(days=1, hours=12)).isoformat(),
    }
    assert listed(client, **window) == [three_days[1].pk]


def test_updated_after_and_before_filter_on_the_last_change(
    client: APIClient, three_days: list[Customer]
) -> None:
    day8 = (T0 + dt.timedelta(days=8)).isoformat()
    assert sorted(listed(client, updated_after=day8)) == sorted(c.pk for c in three_days[1:])
    assert listed(client, updated_before=day8) == [three_days[0].pk]


def test_dates_with_an_offset_are_compared_in_utc(client: APIClient, three_days: list[Customer]) -> None:
    # 14:00+02:00 on day 1 is 12:00 UTC: the moment the day-1 customer was created
    assert listed(client, created_before="2025-03-02T14:00:00+02:00") == [three_days[0].pk]


# --- custom attributes ------------------------------------------------------------------------


@pytest.fixture
def attributed(agent: Any) -> dict[str, Customer]:
    CustomFieldDefinition.objects.create(key="industry", label="Industry", field_type="text")
    CustomFieldDefinition.objects.create(key="employees", label="Employees", field_type="number")
    CustomFieldDefinition.objects.create(key="partner", label="Partner", field_type="boolean")
    CustomFieldDefinition.objects.create(key="since", label="Since", field_type="date")
    CustomFieldDefinition.objects.create(
        key="tier", label="Tier", field_type="choice", choices=["gold", "silver"]
    )
    return {
        "retail": organisation(
            agent,
            "Shop",
            attributes={
                "industry": "Retail",
                "employees": 12,
                "partner": True,
                "since": "2020-01-31",
                "tier": "gold",
            },
        ),
        "bank": organisation(
            agent,
            "Bank",
            attributes={"industry": "Finance", "employees": 12.5, "partner": False, "tier": "silver"},
        ),
        "none": organisation(agent, "Blank"),
    }


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("industry", "Retail", ["retail"]),
        ("industry", "retail", []),  # equality is exact
        ("employees", "12", ["retail"]),
        ("employees", "12.0", ["retail"]),
        ("employees", "12.5", ["bank"]),
        ("partner", "true", ["retail"]),
        ("partner", "FALSE", ["bank"]),
        ("since", "2020-01-31", ["retail"]),
        ("tier", "silver", ["bank"]),
    ],
)
def test_attribute_equality_filters_by_a_custom_attribute(
    client: APIClient, attributed: dict[str, Customer], key: str, value: str, expected: list[str]
) -> None:
    assert listed(client, **{f"attr.{key}": value}) == [attributed[name].pk for name in expected]


def test_several_attribute_filters_must_all_match(client: APIClient, attributed: dict[str, Customer]) -> None:
    assert listed(client, **{"attr.employees": "12", "attr.tier": "gold"}) == [attributed["retail"].pk]
    assert listed(client, **{"attr.employees": "12", "attr.tier": "silver"}) == []


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("nonexistent", "x"),
        ("employees", "many"),
        ("employees", "Infinity"),
        ("partner", "yes"),
        ("industry", "Retail\x00"),
        ("Industry", "Retail"),
        ("industry__icontains", "ret"),
        ("\x00", "x"),
        ("a" * 300, "x"),
    ],
)
def test_an_unknown_attribute_or_a_value_of_the_wrong_type_matches_nothing(
    client: APIClient, attributed: dict[str, Customer], key: str, value: str
) -> None:
    assert listed(client, **{f"attr.{key}": value}) == []


# --- combinations and the FilterSet itself -------------------------------------------------------


def test_filters_combine(client: APIClient, agent: Any, sales_rep: Any) -> None:
    target = person(sales_rep, "Ada", tags=["vip"], lifecycle_stage="customer")
    person(sales_rep, "Ada", "Other", tags=["vip"])
    person(agent, "Ada", "Third", tags=["vip"], lifecycle_stage="customer")
    params = {
        "q": "ada",
        "tag": "vip",
        "lifecycle_stage": "customer",
        "owner": sales_rep.pk,
        "kind": "person",
    }
    assert listed(client, **params) == [target.pk]


def test_the_pages_filterset_ignores_what_it_does_not_understand(agent: Any) -> None:
    # The list page passes request.GET as is: an invalid value is ignored, not an error.
    ada = person(agent, "Ada", lifecycle_stage="customer")
    qs = selectors.customer_list(
        filters={"lifecycle_stage": "customer", "created_after": "garbage", "owner": "x"}
    )
    assert list(qs) == [ada]


def test_tombstones_never_match_a_filter(client: APIClient, agent: Any, supervisor: Any) -> None:
    survivor, duplicate = person(agent, "Ada", tags=["vip"]), person(agent, "Ada", tags=["vip"])
    customer_merge(actor=supervisor, survivor_id=survivor.pk, duplicate_id=duplicate.pk)
    assert listed(client, tag="vip") == [survivor.pk]


# --- ordering -----------------------------------------------------------------------------------


@pytest.fixture
def ordered(agent: Any) -> list[Customer]:
    made = []
    for day, (first, stage) in enumerate([("Cleo", "former"), ("Abe", "customer"), ("Bea", "prospect")]):
        with time_machine.travel(T0 + dt.timedelta(days=day), tick=False):
            made.append(person(agent, first, lifecycle_stage=stage))
    # updated in the opposite order
    for day, customer in enumerate(reversed(made)):
        with time_machine.travel(T0 + dt.timedelta(days=10 + day), tick=False):
            services.customer_update(
                actor=agent, customer_id=customer.pk, expected_version=None, last_name="Test"
            )
    return made


@pytest.mark.parametrize(
    ("ordering", "expected"),
    [
        (None, ["Bea Test", "Abe Test", "Cleo Test"]),  # newest first by default
        ("display_name", ["Abe Test", "Bea Test", "Cleo Test"]),
        ("-display_name", ["Cleo Test", "Bea Test", "Abe Test"]),
        ("created_at", ["Cleo Test", "Abe Test", "Bea Test"]),
        ("-created_at", ["Bea Test", "Abe Test", "Cleo Test"]),
        ("updated_at", ["Bea Test", "Abe Test", "Cleo Test"]),
        ("-updated_at", ["Cleo Test", "Abe Test", "Bea Test"]),
        ("lifecycle_stage", ["Abe Test", "Cleo Test", "Bea Test"]),
        ("-lifecycle_stage,display_name", ["Bea Test", "Cleo Test", "Abe Test"]),
    ],
)
def test_ordering_sorts_by_each_offered_field(
    client: APIClient, ordered: list[Customer], ordering: str | None, expected: list[str]
) -> None:
    params = {"ordering": ordering} if ordering else {}
    assert names(client, **params) == expected


@pytest.mark.parametrize("ordering", ["display_name", "-created_at", "lifecycle_stage", "-updated_at"])
def test_every_ordering_pages_without_skipping_or_repeating(
    client: APIClient, agent: Any, ordering: str
) -> None:
    # given: many ties on the first key (three stages, repeated names)
    for n in range(25):
        person(agent, f"Same{n % 2}", lifecycle_stage=["prospect", "customer", "former"][n % 3])
    # when
    ids = listed(client, ordering=ordering, page_size=4)
    # then
    assert len(ids) == len(set(ids)) == 25


def test_an_ordering_the_list_does_not_offer_is_400(client: APIClient) -> None:
    for ordering in ("owner", "attributes", "-", "display_name,,nonexistent", "id"):
        assert_problem(client.get(f"{LIST}?ordering={ordering}"), 400, "ordering")
