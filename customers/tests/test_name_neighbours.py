"""The possible-duplicates panel's names filed by neighbour keys (`NameNeighbour`): what a
name is filed under, that the services keep the filing as names change and customers are
merged, that a rebuild files what the services would, and that the panel's read is
bounded: the candidates it scores do not grow with the number of look-alikes."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from customers import selectors_duplicates, services
from customers.choices import CustomerKind
from customers.duplicate_index import names_rebuild, names_refresh
from customers.merge import customer_merge
from customers.models import Customer, NameNeighbour
from customers.normalise import name_key, name_neighbour_keys
from customers.selectors_duplicates import NEIGHBOURS, similar_name_ids

pytestmark = pytest.mark.django_db


def filed(customer: Customer) -> set[tuple[str, str, str]]:
    return set(NameNeighbour.objects.filter(customer=customer).values_list("kind", "key", "value"))


def person(actor: Any, first: str, last: str) -> Customer:
    return services.customer_create(actor=actor, kind="person", first_name=first, last_name=last)


def bulk_people(names: list[str]) -> list[Customer]:
    people = Customer.objects.bulk_create(
        Customer(kind=CustomerKind.PERSON, last_name=name, display_name=name, name_key=name_key(name))
        for name in names
    )
    names_refresh(customer_ids=[p.pk for p in people])
    return people


# --- what a name is filed under ------------------------------------------------------------


def test_a_name_is_filed_by_its_distinctive_words_as_they_are_reversed_and_per_word() -> None:
    assert name_neighbour_keys(name_key("Myers, Bethany")) == [
        ("f:bethany", "myers"),
        ("f:myers", "bethany"),
        ("k", "bethany myers"),
        ("kr", "sreym ynahteb"),
        ("r:bethany", "sreym"),
        ("r:myers", "ynahteb"),
    ]


def test_common_words_and_legal_forms_are_left_out_and_a_one_word_name_has_no_per_word_keys() -> None:
    assert name_neighbour_keys(name_key("Nordic Logistics GmbH")) == [("k", "nordic"), ("kr", "cidron")]


def test_an_empty_name_is_filed_nowhere() -> None:
    assert name_neighbour_keys("") == []


# --- kept by the services ------------------------------------------------------------------


def test_a_created_customer_is_filed_and_a_renamed_one_filed_again(sales_rep: Any) -> None:
    # given
    ann = person(sales_rep, "Bethany", "Myers")
    assert filed(ann) == {("person", key, value) for key, value in name_neighbour_keys("bethany myers")}

    # when
    services.customer_update(
        actor=sales_rep, customer_id=ann.pk, expected_version=ann.version, last_name="Sykes"
    )

    # then: the new name only
    assert filed(ann) == {("person", key, value) for key, value in name_neighbour_keys("bethany sykes")}


def test_a_merged_customer_is_filed_nowhere_and_never_offered(admin_user: Any) -> None:
    # given
    survivor = person(admin_user, "Jonathan", "Smithsonian")
    twin = person(admin_user, "Jonathon", "Smithsonian")
    assert similar_name_ids(survivor) == [twin.pk]

    # when
    customer_merge(actor=admin_user, survivor_id=survivor.pk, duplicate_id=twin.pk)

    # then
    assert filed(twin) == set()
    assert similar_name_ids(survivor) == []


def test_a_rebuild_files_every_live_customer_as_the_services_do(admin_user: Any) -> None:
    # given: customers filed by the services, one merged, then the filing lost
    kept = [
        person(admin_user, first, last) for first, last in [("Ann", "Lee"), ("Bo", "Strand"), ("Cy", "Ng")]
    ]
    merged = person(admin_user, "Anne", "Lee")
    customer_merge(actor=admin_user, survivor_id=kept[0].pk, duplicate_id=merged.pk)
    by_services = set(NameNeighbour.objects.values_list("customer_id", "kind", "key", "value"))
    NameNeighbour.objects.all().delete()

    # when: in batches smaller than the base (COPY on PostgreSQL)
    rows = names_rebuild(batch=2)

    # then
    assert set(NameNeighbour.objects.values_list("customer_id", "kind", "key", "value")) == by_services
    assert rows == len(by_services) == sum(len(name_neighbour_keys(c.name_key)) for c in kept)


# --- the panel's read ----------------------------------------------------------------------


def test_the_panel_reads_the_filed_names_not_the_whole_customer_table(sales_rep: Any) -> None:
    # given
    a = person(sales_rep, "Jonathan", "Smithsonian")
    b = person(sales_rep, "Jonathon", "Smithsonian")
    person(sales_rep, "Zed", "Quarry")

    # when
    with CaptureQueriesContext(connection) as captured:
        found = similar_name_ids(a)

    # then: one statement, every part of it a window of the filed names
    assert found == [b.pk]
    [sql] = [q["sql"] for q in captured.captured_queries]
    assert NameNeighbour._meta.db_table in sql
    assert sql.count("LIMIT") == 2 * len(name_neighbour_keys(a.name_key)) + 1
    assert "similarity" not in sql.lower()


@pytest.mark.parametrize("look_alikes", [90, 900])
def test_the_candidates_scored_are_bounded_however_many_names_look_alike(
    sales_rep: Any, look_alikes: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given: many people sharing the first name, the surname or both
    ann = person(sales_rep, "Annabel", "Lookalike")
    bulk_people(
        [f"Annabel Lookalike{n}" for n in range(look_alikes // 3)]
        + [f"Annabel Other{n}" for n in range(look_alikes // 3)]
        + [f"Someone{n} Lookalike" for n in range(look_alikes // 3)]
    )
    scored: list[int] = []
    real = selectors_duplicates.most_similar_names

    def counting(key: str, candidates: Any, **kwargs: Any) -> list[int]:
        candidates = list(candidates)
        scored.append(len(candidates))
        return real(key, candidates, **kwargs)

    monkeypatch.setattr(selectors_duplicates, "most_similar_names", counting)

    # when
    found = similar_name_ids(ann, limit=20)

    # then: at most the windows of each key and the same-name read, whatever the base
    # (900 look-alikes are more than that bound)
    bound = 2 * NEIGHBOURS * len(name_neighbour_keys(ann.name_key)) + 20 + 1
    assert scored[0] <= bound
    assert len(found) == 20
    # the closest look-alikes ("annabel lookalike1" and the like) come first
    assert all(
        "Lookalike" in name and "Annabel" in name
        for name in Customer.objects.filter(pk__in=found[:5]).values_list("display_name", flat=True)
    )


def test_more_customers_with_the_same_words_than_the_limit_give_the_newest_of_them(sales_rep: Any) -> None:
    # given: 30 organisations whose distinctive words are all "acme" (a legal form and a
    # common word aside), and one misspelt
    own = services.customer_create(actor=sales_rep, kind="organisation", organisation_name="Acme Ltd")
    twins = Customer.objects.bulk_create(
        Customer(
            kind=CustomerKind.ORGANISATION, organisation_name=name, display_name=name, name_key=name_key(name)
        )
        for name in [
            f"Acme {'Logistics' if n % 2 else 'Services'} {form}"
            for n, form in enumerate(["GmbH", "Inc"] * 15)
        ]
    )
    names_refresh(customer_ids=[t.pk for t in twins])

    # when
    found = similar_name_ids(own, limit=20)

    # then: all alike (1.0), ties to the newer
    assert found == sorted((t.pk for t in twins), reverse=True)[:20]
