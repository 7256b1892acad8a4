"""What keeps the customer reads flat in the size of the base: the search routed by
what was typed (and the SQL it becomes), row-comparison keysets, the list page's capped
count and keyset links, the kept duplicate pairs, the indexes. PostgreSQL-only shapes
(`ILIKE`, the `%` operator) are asserted when the suite runs on PostgreSQL (the CI's
PostgreSQL pass); the behaviour is asserted on every backend."""

from __future__ import annotations

import re
from collections.abc import Callable
from html import unescape
from typing import Any
from urllib.parse import urlencode

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from rest_framework.test import APIClient

from customers import selectors, services
from customers.filters import _just_after, phone_fragment
from customers.merge import customer_merge
from customers.models import Activity, Customer, DuplicatePair
from customers.selectors_duplicates import duplicate_candidates
from customers.tests.pages import client_for, html_of
from tests.api_contract import follow_pages

pytestmark = pytest.mark.django_db

LIST = "/api/v1/customers/"


def listed(client: APIClient, **params: Any) -> list[int]:
    return [row["id"] for row in follow_pages(client, f"{LIST}?{urlencode(params)}")]


def person(actor: Any, first: str, last: str = "Test", **fields: Any) -> Customer:
    return services.customer_create(actor=actor, kind="person", first_name=first, last_name=last, **fields)


def sql_of(run: Callable[[], Any]) -> list[str]:
    with CaptureQueriesContext(connection) as captured:
        run()
    return [q["sql"] for q in captured.captured_queries]


# --- search routing ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "typed",
    ["020 7946 0000", "+44 20 7946 0000", "0044 20 7946 0000", "(0)20-7946", "7946 0000", "460000", "207946"],
)
def test_a_phone_fragment_in_any_format_or_its_last_digits_finds_the_customer(
    api_as: Callable[[Any], APIClient], agent: Any, ada: Customer, typed: str
) -> None:
    # given: someone whose number shares no run of digits with Ada's
    person(agent, "Other", contact_points=[{"kind": "phone", "value": "+33 1 23 45 67 89"}])
    # when / then
    assert listed(api_as(agent), q=typed) == [ada.pk]


@pytest.mark.parametrize("typed", ["+44 20 7946 0000", "020 7946 0000"])
def test_a_whole_stored_number_is_read_by_its_value_not_its_digits(
    agent: Any, ada: Customer, typed: str
) -> None:
    # when
    statements = sql_of(lambda: selectors.global_search(q=typed))
    # then: the stored number itself, through the kind/value index; no trigram read
    assert [c.pk for c in selectors.global_search(q=typed)] == [ada.pk]
    assert not any("LIKE" in s.upper() or "MATCH" in s for s in statements)
    assert any("'+442079460000'" in s for s in statements)


def test_a_whole_number_nobody_has_is_still_searched_by_its_digits(agent: Any, ada: Customer) -> None:
    # nobody has +33 2 07 94 60 00: its digits are looked for within the stored phones
    statements = sql_of(lambda: selectors.global_search(q="+33 2 07 94 60 00"))
    assert any("LIKE" in s.upper() or "MATCH" in s for s in statements)


def test_phone_fragments_keep_the_digits_of_the_e164_form() -> None:
    assert phone_fragment("020 7946 0000") == "2079460000"  # national trunk zero dropped
    assert phone_fragment("0044 20 7946") == "44207946"  # international prefix dropped
    assert phone_fragment("0000") == "0000"  # last digits are kept as typed
    assert phone_fragment("12") is None  # too short to mean anything
    assert phone_fragment("Ada 12345") is None  # a name with digits is a name


@pytest.mark.parametrize("typed", ["ada@", "Ada@Examp", "ada@example.com", "@example.com", "@EXAMP"])
def test_an_address_from_its_start_or_a_domain_finds_the_customer(
    api_as: Callable[[Any], APIClient], agent: Any, ada: Customer, typed: str
) -> None:
    person(agent, "Bob", contact_points=[{"kind": "email", "value": "bob@elsewhere.org"}])
    assert listed(api_as(agent), q=typed) == [ada.pk]
    assert [c.pk for c in selectors.global_search(q=typed)] == [ada.pk]


def test_an_address_is_matched_from_its_start(agent: Any, ada: Customer) -> None:
    # "a@example" ends Ada's local part but starts no address; "@example" is a domain.
    assert [c.pk for c in selectors.global_search(q="a@example")] == []
    assert [c.pk for c in selectors.global_search(q="ada@examplf")] == []


def test_addresses_from_their_start_are_listed_in_address_order_each_customer_once(agent: Any) -> None:
    # given: one customer with two matching addresses, others in scrambled order, one merged away
    two = person(
        agent,
        "Zed",
        contact_points=[
            {"kind": "email", "value": "sales@b.example"},
            {"kind": "email", "value": "sales@a.example"},
        ],
    )
    c = person(agent, "Amy", contact_points=[{"kind": "email", "value": "sales@c.example"}])
    gone = person(agent, "Old", contact_points=[{"kind": "email", "value": "sales@0.example"}])
    Customer.objects.filter(pk=gone.pk).update(merged_into=c)
    person(agent, "Bob", contact_points=[{"kind": "email", "value": "sale@x.example"}])
    # when / then: by the first matching address, each customer once, the merged one not at all
    assert [x.pk for x in selectors.global_search(q="SALES@")] == [two.pk, c.pk]
    assert [x.pk for x in selectors.global_search(q="sales@", limit=1)] == [two.pk]


def test_an_address_search_reads_a_range_of_the_address_index_in_its_order(agent: Any, ada: Customer) -> None:
    # The addresses starting with the text are one range in byte order, read in that order
    # and no further than the page needs: the cost does not grow with the base.
    search = sql_of(lambda: selectors.global_search(q="ada@ex", limit=8))[0]
    collated = ' COLLATE "C"' if connection.vendor == "postgresql" else ""
    address = f'"customers_contactpoint"."value"{collated}'
    assert f"{address} >= 'ada@ex'" in search
    assert f"{address} < 'ada@ey'" in search
    assert re.search(
        rf'ORDER BY {re.escape(address)} ASC, "customers_contactpoint"."id" ASC LIMIT 32$', search
    )
    assert "LIKE" not in search.upper()


@pytest.mark.parametrize(
    ("text", "after"),
    [("ada@ex", "ada@ey"), ("a@\ud7ff", "a@\ue000"), ("a@\U0010ffff", "aA")],
)
def test_the_end_of_an_address_range_follows_every_text_starting_with_it(text: str, after: str) -> None:
    assert _just_after(text) == after
    for longer in (text, text + "z", text + "\U0010ffff"):
        assert longer < after


def test_a_name_search_does_not_upper_the_column_so_the_trigram_index_answers(
    agent: Any, ada: Customer
) -> None:
    # when
    statements = sql_of(lambda: list(selectors.global_search(q="lovel")))
    search = next(s for s in statements if "display_name" in s and ("LIKE" in s.upper() or "MATCH" in s))
    # then: a bare column; on PostgreSQL `ILIKE`, the operator gin_trgm_ops indexes; on
    # SQLite the FTS5 trigram table beside the customers (customers migration 0010)
    assert "UPPER(" not in search
    if connection.vendor == "postgresql":
        assert re.search(r'"display_name"\s+ILIKE', search)
    else:
        assert re.search(r'"customers_customer_display_name_trgm" MATCH', search)
    assert [c.pk for c in selectors.global_search(q="LOVEL")] == [ada.pk]


def test_each_kind_of_input_reads_only_its_own_column(agent: Any, ada: Customer) -> None:
    def search_sql(q: str) -> str:
        # The first statement finds the customers; the next ones prefetch what rows show.
        return sql_of(lambda: list(selectors.global_search(q=q)))[0]

    phone, email, name = search_sql("7946 0000"), search_sql("ada@ex"), search_sql("Lovelace")
    assert "'phone'" in phone or "contactpoint" in phone
    assert 'display_name" LIKE' not in phone
    assert "ILIKE" not in phone
    assert "contactpoint" in email
    assert 'display_name" LIKE' not in email
    assert "contactpoint" not in name


# --- keysets -----------------------------------------------------------------------------


def test_the_api_cursor_seeks_with_a_row_comparison(api_as: Callable[[Any], APIClient], agent: Any) -> None:
    # given
    for n in range(5):
        person(agent, f"P{n}")
    client = api_as(agent)
    first = client.get(LIST, {"page_size": 2}).json()
    # when
    statements = sql_of(lambda: client.get(first["next"]))
    # then: `(created_at, id) < (x, y)` where the backend compares rows (PostgreSQL),
    # not `created_at < x OR (created_at = x AND id < y)`, which filters instead of seeking
    page = next(s for s in statements if 'FROM "customers_customer"' in s and "LIMIT" in s)
    row_comparison = re.search(
        r'\("customers_customer"\."created_at", "customers_customer"\."id"\) < \(', page
    )
    assert bool(row_comparison) == connection.features.supports_tuple_lookups
    assert len(client.get(first["next"]).json()["results"]) == 2


def test_the_list_page_has_no_offset_and_counts_at_most_a_capped_number_of_rows(
    sales_rep: Any, django_assert_max_num_queries: Any
) -> None:
    # given
    for n in range(30):
        person(sales_rep, f"Paged{n:02d}")
    client = client_for(sales_rep)
    first = html_of(client.get(reverse("customers:list")))
    next_link = unescape(re.search(r'href="([^"]+)" rel="next"', first).group(1))
    # when
    with CaptureQueriesContext(connection) as captured:
        second = client.get(reverse("customers:list") + next_link)
    statements = [q["sql"] for q in captured.captured_queries]
    # then
    assert second.status_code == 200
    assert not any("OFFSET" in s for s in statements)
    counts = [s for s in statements if "COUNT(" in s.upper()]
    assert counts
    assert all("LIMIT 1001" in s for s in counts)
    # and no whole user row for an owner's name
    # (the session's own user is loaded whole by the auth middleware, as on every page)
    listing = [s for s in statements if 'FROM "customers_customer"' in s and "frontoffice_user" in s]
    assert listing
    assert not any('"frontoffice_user"."password"' in s for s in listing)


def test_a_forged_cursor_on_the_list_page_shows_the_first_page(sales_rep: Any, ada: Customer) -> None:
    response = client_for(sales_rep).get(reverse("customers:list"), {"cursor": "not-a-cursor"})
    assert response.status_code == 200
    assert "Lovelace" in html_of(response)


def test_the_timeline_across_customers_has_an_index_for_newest_first() -> None:
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, Activity._meta.db_table)
    assert constraints["activity_recent_idx"]["columns"] == ["occurred_at", "id"]


def test_the_360_api_reads_no_audit_history(
    api_as: Callable[[Any], APIClient], admin_user: Any, ada: Customer
) -> None:
    statements = sql_of(lambda: api_as(admin_user).get(f"{LIST}{ada.pk}/360/"))
    assert statements
    assert not any("historicalcustomer" in s for s in statements)


# --- duplicate pairs ----------------------------------------------------------------------


def test_pairs_follow_contact_points_names_and_merges(agent: Any, supervisor: Any) -> None:
    # given
    a = person(agent, "Ann", "Alpha", contact_points=[{"kind": "email", "value": "shared@example.com"}])
    b = person(agent, "Bea", "Beta", contact_points=[{"kind": "email", "value": "bea@example.com"}])
    assert not DuplicatePair.objects.exists()
    # when: b gets a's e-mail
    services.contact_point_add(
        actor=agent, customer_id=b.pk, data={"kind": "email", "value": "shared@example.com"}
    )
    # then
    assert [(p.customer.pk, p.duplicate.pk, p.reasons) for p in duplicate_candidates()] == [
        (a.pk, b.pk, ["same email shared@example.com"])
    ]
    # when: a third customer takes a's name, then the pair merges
    c = person(agent, "Ann", "Alpha")
    assert {(p.customer.pk, p.duplicate.pk) for p in duplicate_candidates()} == {(a.pk, b.pk), (a.pk, c.pk)}
    customer_merge(actor=supervisor, survivor_id=a.pk, duplicate_id=b.pk)
    # then: the merged one is in no pair; the survivor keeps its other look-alike
    assert {(p.customer.pk, p.duplicate.pk) for p in duplicate_candidates()} == {(a.pk, c.pk)}
    assert not DuplicatePair.objects.filter(customer_b=b).exists()


def test_removing_the_shared_contact_point_removes_the_pair(agent: Any) -> None:
    a = person(agent, "Ann", contact_points=[{"kind": "phone", "value": "+442079460001"}])
    b = person(agent, "Bea", contact_points=[{"kind": "phone", "value": "020 7946 0001"}])
    assert [(p.customer.pk, p.duplicate.pk) for p in duplicate_candidates()] == [(a.pk, b.pk)]
    shared = b.contact_points.get()
    services.contact_point_remove(actor=agent, customer_id=b.pk, contact_point_id=shared.pk)
    assert duplicate_candidates() == []


@pytest.mark.parametrize("pairs", [2, 40])
def test_the_whole_base_duplicates_read_is_two_queries_at_any_size(
    agent: Any, pairs: int, django_assert_max_num_queries: Any
) -> None:
    for n in range(pairs):
        for first in ("A", "B"):
            person(agent, f"{first}{n}", contact_points=[{"kind": "phone", "value": f"+4420794{n:05d}"}])
    with django_assert_max_num_queries(2):
        found = duplicate_candidates(limit=500)
    assert len(found) == pairs


# --- the dashboard's count ----------------------------------------------------------------


def test_a_large_base_shows_the_estimated_live_count_a_small_one_the_exact_count(
    agent: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given
    for n in range(3):
        person(agent, f"Counted{n}")
    # when: a small base
    small = selectors.dashboard_summary(actor=agent)
    # then: counted exactly
    assert (small.live_customers, small.live_customers_estimated) == (3, False)
    if connection.vendor != "postgresql":
        return  # SQLite keeps no row estimate: always the exact count
    # when: "large" (the threshold lowered), with planner statistics
    monkeypatch.setattr(selectors, "ESTIMATE_FROM", 1)
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {Customer._meta.db_table}")
    statements = sql_of(lambda: selectors.dashboard_summary(actor=agent))
    large = selectors.dashboard_summary(actor=agent)
    # then: PostgreSQL's estimate, marked as such, and no count over every customer
    assert large.live_customers_estimated
    assert large.live_customers == 3
    assert large.created_this_week == 3
    assert any("reltuples" in s for s in statements)
