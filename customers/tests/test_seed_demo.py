"""`manage.py seed_demo`: counts, the profile's invariants, determinism, idempotence."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import sqlite3
import subprocess
import sys
from io import StringIO
from pathlib import Path
from typing import Any

import phonenumbers
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.db.models import Count, Q
from django.utils import timezone

from customers.attributes import validate_attributes
from customers.choices import ActivityKind, ContactKind, CustomerKind
from customers.models import (
    Activity,
    ConsentEvent,
    ContactPoint,
    Customer,
    CustomFieldDefinition,
    Relationship,
)
from customers.normalise import name_key, normalise_email, normalise_phone
from customers.selectors import consent_state
from customers.selectors_duplicates import duplicate_candidates
from frontoffice.models import User
from frontoffice.roles import Role

pytestmark = pytest.mark.django_db

N = 60
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _debug(settings: Any) -> None:
    # pytest-django runs tests with DEBUG off; the demo seed refuses to run without it.
    settings.DEBUG = True


def seed(**options: Any) -> str:
    out = StringIO()
    call_command("seed_demo", stdout=out, **options)
    return out.getvalue()


def snapshot() -> list[tuple[Any, ...]]:
    """What was seeded, independent of ids and of the moment it ran."""
    rows = []
    customers = Customer.objects.select_related("parent", "owner").prefetch_related(
        "tags", "contact_points", "memberships__organisation", "activities"
    )
    for c in customers.order_by("pk"):
        attributes = {k: v for k, v in c.attributes.items() if k != "renewal_date"}  # relative to today
        rows.append(
            (
                c.kind,
                c.display_name,
                c.parent.display_name if c.parent else None,
                c.owner.username if c.owner else None,
                c.lifecycle_stage,
                sorted(attributes.items()),
                c.erp_customer_number,
                sorted(t.name for t in c.tags.all()),
                sorted((cp.kind, cp.label, cp.value, cp.is_primary) for cp in c.contact_points.all()),
                sorted((m.organisation.display_name, m.role) for m in c.memberships.all()),
                sorted((a.kind, a.subject, a.body) for a in c.activities.all()),
            )
        )
    return rows


def test_it_seeds_the_requested_number_of_customers_three_in_four_people() -> None:
    # when
    output = seed(customers=N, seed=3)

    # then
    assert Customer.objects.count() == N
    assert Customer.objects.filter(kind=CustomerKind.PERSON).count() == N - N // 4
    assert Customer.objects.filter(kind=CustomerKind.ORGANISATION).count() == N // 4
    assert f"Seeded {N} customers" in output
    assert "frontoffice-demo" in output
    assert all(c.display_name and c.name_key == name_key(c.display_name) for c in Customer.objects.all())


def test_it_builds_an_organisation_hierarchy_and_memberships_with_roles() -> None:
    # when
    seed(customers=N, seed=3)

    # then
    subsidiaries = Customer.objects.filter(parent__isnull=False).select_related("parent")
    assert subsidiaries.exists()
    assert all(s.kind == s.parent.kind == CustomerKind.ORGANISATION for s in subsidiaries)
    memberships = Relationship.objects.select_related("person", "organisation")
    assert memberships.count() >= N // 4
    assert all(m.person.kind == CustomerKind.PERSON for m in memberships)
    assert all(m.organisation.kind == CustomerKind.ORGANISATION for m in memberships)
    assert {"Buyer", "Accounts payable"} & set(memberships.values_list("role", flat=True))
    primary_contacts = Relationship.objects.filter(is_primary_contact=True).values("organisation")
    assert not primary_contacts.annotate(n=Count("id")).filter(n__gt=1).exists()


def test_contact_points_are_normalised_with_one_primary_per_kind() -> None:
    # when
    seed(customers=N, seed=3)

    # then
    contact_points = list(ContactPoint.objects.all())
    kinds = {cp.kind for cp in contact_points}
    assert kinds == {ContactKind.EMAIL, ContactKind.PHONE, ContactKind.ADDRESS}
    for cp in contact_points:
        if cp.kind == ContactKind.EMAIL:
            assert normalise_email(cp.value) == cp.value
        elif cp.kind == ContactKind.PHONE:
            assert normalise_phone(cp.value) == cp.value  # valid, and E.164 already
        else:
            assert cp.street
            assert cp.city
            assert cp.value.endswith(f", {cp.country}")
    per_kind = ContactPoint.objects.values("customer", "kind").annotate(
        primaries=Count("id", filter=Q(is_primary=True))
    )
    assert all(row["primaries"] == 1 for row in per_kind)
    primary_emails = ContactPoint.objects.filter(kind=ContactKind.EMAIL, is_primary=True)
    assert primary_emails.count() == primary_emails.values("value").distinct().count()
    connection.check_constraints()  # foreign keys, checked at commit otherwise


def test_an_organisations_phone_belongs_to_the_country_of_its_address() -> None:
    # when
    seed(customers=N, seed=3)

    # then
    checked = 0
    for organisation in Customer.objects.filter(kind=CustomerKind.ORGANISATION).prefetch_related(
        "contact_points"
    ):
        points = {cp.kind: cp for cp in organisation.contact_points.all() if cp.is_primary}
        if ContactKind.PHONE in points and ContactKind.ADDRESS in points:
            number = phonenumbers.parse(points[ContactKind.PHONE].value)
            assert phonenumbers.region_code_for_number(number) == points[ContactKind.ADDRESS].country
            checked += 1
    assert checked > 0


def test_custom_attributes_are_defined_and_valid() -> None:
    # when
    seed(customers=N, seed=3)

    # then
    keys = set(CustomFieldDefinition.objects.values_list("key", flat=True))
    assert {"industry", "employees", "renewal_date"} <= keys
    for customer in Customer.objects.all():
        assert validate_attributes(kind=customer.kind, values=customer.attributes) == customer.attributes
    assert Customer.objects.filter(attributes__has_key="industry").count() == N // 4


def test_timelines_span_the_past_two_years_and_show_every_consent_change() -> None:
    # given
    before = timezone.now()

    # when
    seed(customers=N, seed=3)

    # then
    activities = Activity.objects.all()
    kinds = set(activities.values_list("kind", flat=True))
    assert {ActivityKind.NOTE, ActivityKind.CALL, ActivityKind.EMAIL, ActivityKind.MEETING} <= kinds
    oldest = activities.order_by("occurred_at").first().occurred_at
    newest = activities.order_by("-occurred_at").first().occurred_at
    assert before - dt.timedelta(days=731) <= oldest < newest <= timezone.now()
    assert newest - oldest > dt.timedelta(days=365)
    events = list(ConsentEvent.objects.all())
    assert events
    lines = {
        int(a.ref_id): a
        for a in activities.filter(kind=ActivityKind.CONSENT, ref_type="customers.consentevent")
    }
    assert set(lines) == {e.pk for e in events}
    for event in events:
        line = lines[event.pk]
        assert (line.customer_id, line.occurred_at) == (event.customer_id, event.occurred_at)
        assert line.payload["granted"] is event.granted
    customer = events[0].customer
    assert consent_state(customer=customer)


def test_it_creates_demo_staff_in_every_role_who_own_the_customers() -> None:
    # when
    seed(customers=N, seed=3)

    # then
    staff = {u.username: u for u in User.objects.prefetch_related("groups").select_related("team")}
    roles = {name: {g.name for g in user.groups.all()} for name, user in staff.items()}
    assert roles["sales1"] == roles["sales2"] == {Role.SALES}
    assert staff["sales1"].team.name == staff["sales2"].team.name == "North sales"
    assert roles["manager1"] == {Role.SALES_MANAGER}
    assert staff["manager1"].check_password("frontoffice-demo")
    assert roles["agent1"] == {Role.SERVICE_AGENT}
    assert roles["supervisor1"] == {Role.SERVICE_SUPERVISOR}
    assert roles["marketing1"] == {Role.MARKETING}
    assert roles["backoffice1"] == {Role.BACK_OFFICE}
    assert staff["sales1"].check_password("frontoffice-demo")
    owners = set(Customer.objects.exclude(owner=None).values_list("owner__username", flat=True))
    assert owners <= {"sales1", "sales2", "sales3"}
    assert len(owners) > 1


def test_the_duplicates_page_has_the_deliberate_duplicates() -> None:
    # when
    seed(customers=N, seed=3)

    # then
    pairs = duplicate_candidates()
    reasons = [reason for pair in pairs for reason in pair.reasons]
    assert len(pairs) >= 3
    assert any(r.startswith("same email") for r in reasons)
    assert any(r.startswith("same phone") for r in reasons)
    assert "same name" in reasons
    shared = ContactPoint.objects.filter(kind=ContactKind.EMAIL).values("value").annotate(n=Count("id"))
    assert shared.filter(n__gt=1).exists()


def test_the_same_seed_gives_the_same_data_and_another_seed_other_data() -> None:
    # given
    seed(customers=N, seed=11)
    first = snapshot()
    Customer.objects.all().delete()

    # when
    seed(customers=N, seed=11)
    again = snapshot()
    Customer.objects.all().delete()
    seed(customers=N, seed=12)
    other = snapshot()

    # then
    assert again == first
    assert other != first


SNAPSHOT_SQL = {
    "customers": "SELECT kind, display_name, lifecycle_stage, owner_id, attributes, erp_customer_number "
    "FROM customers_customer ORDER BY id",
    "contact_points": "SELECT customer_id, kind, label, value, is_primary FROM customers_contactpoint ORDER BY id",
    "activities": "SELECT customer_id, kind, subject, body, payload FROM customers_activity ORDER BY id",
}


def seed_in_a_process(database: Path, hash_seed: str) -> dict[str, list[tuple[Any, ...]]]:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": f"sqlite:///{database}",
        "VAR_DIR": str(database.parent),
        "DEBUG": "1",
        "PYTHONHASHSEED": hash_seed,
    }
    command = [sys.executable, "manage.py", "seed_demo", "--customers", "40", "--seed", "5"]
    subprocess.run(command, cwd=ROOT, env=env, check=True, capture_output=True)  # noqa: S603 - our own command
    with sqlite3.connect(database) as db:
        return {name: db.execute(sql).fetchall() for name, sql in SNAPSHOT_SQL.items()}


def test_the_same_seed_gives_the_same_data_in_another_process(tmp_path: Path) -> None:
    # given: one migrated database, copied, so both runs start from the same ids
    first, second = tmp_path / "first.sqlite3", tmp_path / "second.sqlite3"
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", "DEBUG": "1"}
    migrate = [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"]
    subprocess.run(  # noqa: S603 - our own command
        migrate,
        cwd=ROOT,
        env={**env, "DATABASE_URL": f"sqlite:///{first}", "VAR_DIR": str(tmp_path)},
        check=True,
    )
    shutil.copy(first, second)

    # when: string hashing differs between the two processes
    one = seed_in_a_process(first, hash_seed="1")
    other = seed_in_a_process(second, hash_seed="2")

    # then
    assert len(one["customers"]) == 40
    for name in SNAPSHOT_SQL:
        assert one[name] == other[name], name


def test_if_empty_does_nothing_when_customers_exist() -> None:
    # given
    seed(customers=30, seed=3)
    counts = (Customer.objects.count(), Activity.objects.count(), ContactPoint.objects.count())

    # when
    output = seed(customers=30, seed=3, if_empty=True)

    # then
    assert (Customer.objects.count(), Activity.objects.count(), ContactPoint.objects.count()) == counts
    assert "already exist" in output


def test_a_second_seed_adds_customers_without_breaking_uniqueness() -> None:
    # given
    seed(customers=30, seed=3)

    # when
    output = seed(customers=30, seed=3)

    # then
    assert Customer.objects.count() == 60
    primary_emails = ContactPoint.objects.filter(kind=ContactKind.EMAIL, is_primary=True)
    assert primary_emails.count() == primary_emails.values("value").distinct().count()
    assert Customer.objects.values("name_key").distinct().count() >= 60 - 2 * 3  # only the deliberate ones
    assert "already existed" in output


def test_a_one_customer_seed_makes_one_person() -> None:
    # when
    seed(customers=1, seed=3, if_empty=True)

    # then
    assert list(Customer.objects.values_list("kind", flat=True)) == [CustomerKind.PERSON]


def test_it_refuses_to_run_without_debug(settings: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    # given
    settings.DEBUG = False
    monkeypatch.delenv("ALLOW_DEMO_ADMIN", raising=False)

    # when / then
    with pytest.raises(CommandError, match="DEBUG only"):
        seed(customers=10)
    assert not Customer.objects.exists()
