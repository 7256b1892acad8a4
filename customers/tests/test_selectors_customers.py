"""Selectors of the customer profile: what they return and how many queries they cost.

The 360 view must stay within 15 SQL queries whatever the data (issue 3, section 5) as
a selector, and the whole page within 9 (session, user, permissions included; issue 15),
12 for a reader of the audit history (its changes, their users).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.db import connection
from django.http import Http404
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import dateformat, timezone
from django.utils.html import escape

from customers import selectors, selectors_history, services
from customers.choices import ConsentChannel, ConsentPurpose, ContactKind, CustomerKind
from customers.duplicate_index import names_refresh
from customers.merge import customer_merge
from customers.models import Activity, ConsentEvent, ContactPoint, Customer, Relationship
from customers.normalise import most_similar_names, name_key, name_similarity
from customers.selectors_duplicates import duplicates_for
from customers.timeline import activity_log
from frontoffice.actors import MAINTENANCE

pytestmark = pytest.mark.django_db

BUDGET_360 = 15
# The whole 360 page: the session, its user with its permissions, the 360 selector's
# statements; a reader of the audit history (the admin) adds its reads.
PAGE_BUDGET_360 = 9
PAGE_BUDGET_360_WITH_HISTORY = 12
LIST_BUDGET = 7
MANY = 500


def _bulk_people(count: int, prefix: str) -> list[Customer]:
    people = Customer.objects.bulk_create(
        Customer(
            kind=CustomerKind.PERSON,
            first_name=f"{prefix}{n}",
            last_name="Bulk",
            display_name=f"{prefix}{n} Bulk",
            name_key=name_key(f"{prefix}{n} Bulk"),
        )
        for n in range(count)
    )
    # Around the services, like a bulk load: file their names as the demo seed does.
    names_refresh(customer_ids=[p.pk for p in people])
    return people


def _bulk_organisations(count: int, prefix: str, **extra: Any) -> list[Customer]:
    return Customer.objects.bulk_create(
        Customer(
            kind=CustomerKind.ORGANISATION,
            organisation_name=f"{prefix} {n} Ltd",
            display_name=f"{prefix} {n} Ltd",
            name_key=name_key(f"{prefix} {n} Ltd"),
            **extra,
        )
        for n in range(count)
    )


@pytest.fixture
def quiet_organisation(admin_user: Any) -> Customer:
    """An organisation with nothing around it."""
    return services.customer_create(actor=admin_user, kind="organisation", organisation_name="Quiet Ltd")


@pytest.fixture
def busy_organisation(admin_user: Any, other_rep: Any) -> Customer:
    """An organisation with 500 of everything: activities, members, memberships of
    its people elsewhere, contact points, consent events, subsidiaries, and an audit
    history with field, tag and owner changes."""
    org = services.customer_create(
        actor=admin_user,
        kind="organisation",
        organisation_name="Busy Holdings",
        tags=["VIP", "Retail"],
        contact_points=[{"kind": "email", "value": "hello@busy.example"}],
    )
    services.customer_update(
        actor=admin_user, customer_id=org.pk, expected_version=None, lifecycle_stage="customer", tags=["VIP"]
    )
    services.customer_update(
        actor=admin_user,
        customer_id=org.pk,
        expected_version=None,
        owner=other_rep,
        erp_customer_number="E-1",
    )
    people = _bulk_people(MANY, "Member")
    Relationship.objects.bulk_create(
        Relationship(person=person, organisation=org, role="Buyer") for person in people
    )
    _bulk_organisations(60, "Subsidiary", parent=org)
    now = timezone.now()
    Activity.objects.bulk_create(
        Activity(
            customer=org,
            kind="note",
            subject=f"Note {n}",
            source_app="customers",
            occurred_at=now - dt.timedelta(minutes=n),
        )
        for n in range(MANY)
    )
    ContactPoint.objects.bulk_create(
        ContactPoint(customer=org, kind=ContactKind.PHONE, value=f"+4420794600{n:02d}", is_primary=n == 0)
        for n in range(100)
    )
    ConsentEvent.objects.bulk_create(
        ConsentEvent(
            customer=org,
            channel=list(ConsentChannel)[n % 4],
            purpose=list(ConsentPurpose)[n % 3],
            granted=n % 2 == 0,
            source="import",
            occurred_at=now - dt.timedelta(hours=n),
        )
        for n in range(MANY)
    )
    return org


@pytest.fixture
def busy_person(admin_user: Any) -> Customer:
    """A person who belongs to 500 organisations."""
    person = services.customer_create(actor=admin_user, kind="person", first_name="Ada", last_name="Member")
    Relationship.objects.bulk_create(
        Relationship(person=person, organisation=org, role="Adviser")
        for org in _bulk_organisations(MANY, "Client")
    )
    return person


# --- the 360 view -------------------------------------------------------------------


def test_customer_360_returns_the_latest_50_entries_and_a_cursor_for_the_rest(
    busy_organisation: Customer, admin_user: Any
) -> None:
    # when
    data = selectors.customer_360(customer_id=busy_organisation.pk, actor=admin_user)

    # then
    assert len(data.timeline) == selectors.TIMELINE_PAGE
    assert data.timeline[0].occurred_at >= data.timeline[-1].occurred_at
    assert data.timeline_cursor is not None
    assert len(data.members) == 200  # bounded: the page says "200+"
    assert len(data.subsidiaries) == 50


def test_customer_360_checks_the_customer_before_it_reads_the_audit_and_the_panels(
    busy_organisation: Customer, admin_user: Any
) -> None:
    # given: a check that refuses every customer, and what the 360 reads without it
    seen: list[int] = []

    class Refused(Exception):
        pass

    def refuse(customer: Customer) -> None:
        seen.append(customer.pk)
        raise Refused

    with CaptureQueriesContext(connection) as whole:
        selectors.customer_360(
            customer_id=busy_organisation.pk, actor=admin_user, load_panels=["open_opportunities"]
        )
    # when
    with CaptureQueriesContext(connection) as refused, pytest.raises(Refused):
        selectors.customer_360(
            customer_id=busy_organisation.pk,
            actor=admin_user,
            check=refuse,
            load_panels=["open_opportunities"],
        )
    # then: the check saw the customer, and nothing after the rows read with it ran
    assert seen == [busy_organisation.pk]
    assert not any("history" in q["sql"] for q in refused.captured_queries)
    assert any("history" in q["sql"] for q in whole.captured_queries)
    assert len(refused) < len(whole)


@pytest.mark.parametrize("customer_id", [0, -3, 2**63, "x"])
def test_customer_360_of_an_id_no_customer_can_have_is_a_404(customer_id: Any, admin_user: Any) -> None:
    with pytest.raises(Http404):
        selectors.customer_360(customer_id=customer_id, actor=admin_user)


@pytest.mark.parametrize("which", ["quiet_organisation", "busy_organisation", "busy_person"])
def test_customer_360_runs_a_bounded_number_of_queries(
    which: str, request: pytest.FixtureRequest, admin_user: Any, django_assert_max_num_queries: Any
) -> None:
    # given
    customer = request.getfixturevalue(which)

    # when / then
    with django_assert_max_num_queries(BUDGET_360):
        data = selectors.customer_360(customer_id=customer.pk, actor=admin_user)
        selectors_history.customer_history_changes(records=data.history)


@pytest.mark.parametrize(
    ("reader", "budget"), [("agent", PAGE_BUDGET_360), ("admin_user", PAGE_BUDGET_360_WITH_HISTORY)]
)
@pytest.mark.parametrize("which", ["quiet_organisation", "busy_organisation", "busy_person"])
def test_the_360_page_runs_at_most_9_queries_whatever_the_data_12_for_an_audit_reader(
    which: str, reader: str, budget: int, request: pytest.FixtureRequest, django_assert_max_num_queries: Any
) -> None:
    # given
    customer = request.getfixturevalue(which)
    client = Client()
    client.force_login(request.getfixturevalue(reader))

    # when
    with django_assert_max_num_queries(budget):
        response = client.get(reverse("customers:detail", args=[customer.pk]))

    # then
    assert response.status_code == 200
    assert customer.display_name in response.content.decode()


def test_the_timeline_pages_continue_where_the_last_one_stopped(
    busy_organisation: Customer, sales_rep: Any, django_assert_max_num_queries: Any
) -> None:
    # given
    first, cursor = selectors.timeline_page(customer=busy_organisation, actor=sales_rep)

    # when
    with django_assert_max_num_queries(1):
        second, _ = selectors.timeline_page(customer=busy_organisation, actor=sales_rep, cursor=cursor)

    # then
    assert not {a.pk for a in first} & {a.pk for a in second}
    assert second[0].occurred_at <= first[-1].occurred_at


# --- audit history --------------------------------------------------------------------


def test_history_changes_name_each_changed_field_with_its_old_and_new_value(
    busy_organisation: Customer, admin_user: Any, other_rep: Any
) -> None:
    # given
    records = list(busy_organisation.history.select_related("history_user").order_by("-history_date"))

    # when
    entries = selectors_history.customer_history_changes(records=records)

    # then
    changes = {(c.field, str(c.old), str(c.new)) for e in entries for c in e.changes}
    assert ("owner", str(admin_user), str(other_rep)) in changes
    assert ("erp_customer_number", "None", "E-1") in changes
    assert ("lifecycle_stage", "Prospect", "Customer") in changes
    assert ("tags", "Retail, VIP", "VIP") in changes
    assert entries[-1].action == "Created"


def test_history_changes_hide_the_version_bump_of_every_write(quiet_organisation: Customer) -> None:
    # given
    services.contact_point_add(
        actor=MAINTENANCE,
        customer_id=quiet_organisation.pk,
        data={"kind": "email", "value": "a@quiet.example"},
    )
    records = list(quiet_organisation.history.order_by("-history_date"))

    # when
    entries = selectors_history.customer_history_changes(records=records)

    # then
    assert entries[0].action == "Changed"
    assert entries[0].changes == []


# --- dashboard ---------------------------------------------------------------------------


def test_dashboard_summary_counts_live_customers_and_those_created_this_week(
    admin_user: Any, quiet_organisation: Customer
) -> None:
    # given
    old = services.customer_create(actor=admin_user, kind="person", last_name="Old")
    Customer.objects.filter(pk=old.pk).update(created_at=timezone.now() - dt.timedelta(days=30))
    survivor = services.customer_create(actor=admin_user, kind="person", last_name="Twin")
    twin = services.customer_create(actor=admin_user, kind="person", last_name="Twin")
    customer_merge(actor=admin_user, survivor_id=survivor.pk, duplicate_id=twin.pk)
    activity_log(actor=admin_user, customer_id=survivor.pk, kind="call", subject="Rang")

    # when
    summary = selectors.dashboard_summary(actor=admin_user)

    # then
    assert summary.live_customers == 3  # quiet, old, survivor; the tombstone is not counted
    assert summary.created_this_week == 2
    assert summary.recent_activities[0].subject == "Rang"


# --- the list -------------------------------------------------------------------------------


@pytest.mark.parametrize("rows", [3, 60])
def test_the_list_page_query_count_does_not_grow_with_rows(
    rows: int, admin_user: Any, django_assert_max_num_queries: Any
) -> None:
    # given
    for n in range(rows):
        services.customer_create(
            actor=admin_user,
            kind="person",
            first_name=f"Row{n}",
            last_name="Listed",
            tags=["VIP"],
            contact_points=[
                {"kind": "email", "value": f"row{n}@list.example"},
                {"kind": "phone", "value": f"+4420794601{n:02d}"},
            ],
        )
    client = Client()
    client.force_login(admin_user)

    # when
    with django_assert_max_num_queries(LIST_BUDGET):
        response = client.get(reverse("customers:list"), {"ordering": "display_name", "tag": "vip"})

    # then
    assert response.status_code == 200
    assert "Row0 Listed" in response.content.decode()


def test_a_word_many_company_names_share_does_not_make_them_duplicates(sales_rep) -> None:
    # given: six unrelated "... Logistics" companies, and a misspelt Nordic Logistics
    def org(name: str) -> Customer:
        return services.customer_create(actor=sales_rep, kind="organisation", organisation_name=name)

    nordic = org("Nordic Logistics GmbH")
    for name in [
        "Baltic Logistics Ltd",
        "Acme Logistics",
        "Swift Logistics",
        "Polar Logistics",
        "Alpine Logistics",
    ]:
        org(name)
    misspelt = org("Nordik Logistics")
    # when
    found = {pair.duplicate.display_name: pair.reasons for pair in duplicates_for(customer=nordic)}
    # then: only the one that is the same company
    assert found == {misspelt.display_name: ["similar name"]}


def test_a_misspelt_name_is_a_possible_duplicate_and_the_closest_comes_first(sales_rep) -> None:
    # given: the same company misspelt twice, and a company sharing only a common word
    def org(name: str) -> Customer:
        return services.customer_create(actor=sales_rep, kind="organisation", organisation_name=name)

    nordic = org("Nordic Freight AB")
    nordik = org("Nordik Freight")
    nordisk = org("Nordisk Freight Ltd")
    org("Polar Freight")
    # when
    found = [pair.duplicate.pk for pair in duplicates_for(customer=nordic)]
    # then: both misspellings, the closer one first; "Freight" alone matches nothing
    assert found == [nordik.pk, nordisk.pk]


@pytest.mark.parametrize("limit", [0, 1, 3, 20])
def test_the_closest_names_are_those_scoring_and_sorting_every_candidate_gives(limit: int) -> None:
    # given: look-alikes, ties (equal keys), common words only, an empty key, strangers
    names = [
        "Nordic Logistics", "Nordik Logistics", "Nordisk", "Nordica Group", "Nordic",
        "Nordic", "Baltic Logistics", "Logistics", "", "Northern Lights", "Nord",
        "Jonathan Smithsonian", "Nordic Logistik", "Nordics", "Nordic Services Ltd",
    ]  # fmt: skip
    candidates = [(pk, name_key(name)) for pk, name in enumerate(names, start=1)]
    for own in ("Nordic Logistics GmbH", "Logistics", "", "Nord"):
        scored = [(name_similarity(name_key(own), key), pk) for pk, key in candidates]
        expected = [pk for ratio, pk in sorted(scored, reverse=True) if ratio >= 0.6][:limit]
        # when
        found = most_similar_names(name_key(own), candidates, at_least=0.6, limit=limit)
        # then
        assert found == expected, own


@pytest.mark.parametrize("look_alikes", [2, 40])
def test_the_duplicates_panel_runs_five_queries_however_many_names_look_alike(
    sales_rep: Any, look_alikes: int, django_assert_max_num_queries: Any
) -> None:
    # given: a person with an e-mail and many people of a similar name
    ann = services.customer_create(
        actor=sales_rep,
        kind="person",
        first_name="Annabel",
        last_name="Lookalike",
        contact_points=[{"kind": "email", "value": "annabel@example.com"}],
    )
    _bulk_people(look_alikes, "Annabel Lookalike")
    # when: contact points, their matches, the threshold and the names, the customers
    with django_assert_max_num_queries(5):
        found = duplicates_for(customer=ann)
    # then
    assert len(found) == min(look_alikes, 20)


def test_the_list_page_and_the_360_api_read_no_password_hash_but_the_session_users(
    busy_organisation: Customer,
    admin_user: Any,
    other_rep: Any,
    api_as: Any,
) -> None:
    # given: a consent recorded by a member of staff on an organisation another rep owns
    ConsentEvent.objects.create(
        customer=busy_organisation,
        channel=ConsentChannel.EMAIL,
        purpose=next(iter(ConsentPurpose)),
        granted=True,
        source="Told staff",
        occurred_at=timezone.now(),
        actor=admin_user,
    )
    client = Client()
    client.force_login(admin_user)
    # when
    with CaptureQueriesContext(connection) as page_queries:
        page = client.get(reverse("customers:list"), {"q": "Busy Holdings"})
    with CaptureQueriesContext(connection) as api_queries:
        api = api_as(admin_user).get(f"/api/v1/customers/{busy_organisation.pk}/360/")
    # then: the owner and who recorded the consent are named
    assert page.status_code == api.status_code == 200
    assert escape(str(other_rep)) in page.content.decode()
    assert str(admin_user) in {consent["actor"] for consent in api.json()["consents"]}
    # the session's own user only (Django checks the session against its hash)
    assert len([q for q in page_queries.captured_queries if "password" in q["sql"]]) == 1
    assert not [q for q in api_queries.captured_queries if "password" in q["sql"]]


def test_the_list_rows_link_and_date_each_row_as_reverse_and_dateformat_do(admin_user: Any) -> None:
    # given: customers created on days of different months and years (one on 1 Jan 0999)
    moments = [
        dt.datetime(2026, 12, 6, 23, 30, tzinfo=dt.UTC),
        dt.datetime(2025, 1, 31, 0, 5, tzinfo=dt.UTC),
        dt.datetime(2026, 5, 9, 12, 0, tzinfo=dt.UTC),
        dt.datetime(999, 1, 1, 12, 0, tzinfo=dt.UTC),
    ]
    for n, moment in enumerate(moments):
        customer = services.customer_create(actor=admin_user, kind="person", last_name=f"Dated{n}")
        Customer.objects.filter(pk=customer.pk).update(created_at=moment, updated_at=moment)
    customers = list(selectors.customer_list(for_page=True).filter(last_name__startswith="Dated"))
    # when
    rows = selectors.customer_list_rows(customers)
    # then: what reverse() and dateformat give for each row, in the current time zone
    assert len(rows) == len(moments)
    for row, customer in zip(rows, customers, strict=True):
        created = timezone.localtime(customer.created_at)
        assert row["url"] == reverse("customers:detail", args=[customer.pk])
        assert row["created_text"] == dateformat.format(created, "j M Y")
        assert row["updated_text"] == dateformat.format(timezone.localtime(customer.updated_at), "j M Y")
    assert {row["created_text"][-8:] for row in rows} >= {"Dec 2026", "Jan 2025", "May 2026"}
