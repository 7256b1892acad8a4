"""The current consent per customer, channel and purpose (`CurrentConsent`): kept by
`consent_record` in the ledger's transaction, re-derived by a merge and by
`current_consent_rebuild`, and back-filled by its migration from the ledger."""

from __future__ import annotations

import datetime as dt
import importlib
from typing import Any

import pytest
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from customers import services
from customers.consent import consent_record, current_consent_rebuild
from customers.merge import customer_merge
from customers.models import ConsentEvent, CurrentConsent, Customer
from frontoffice.actors import MAINTENANCE

pytestmark = pytest.mark.django_db


def person(first: str) -> Customer:
    return services.customer_create(actor=MAINTENANCE, kind="person", first_name=first, last_name="Test")


def record(customer: Customer, granted: bool, *, purpose: str = "marketing", **extra: Any) -> ConsentEvent:
    return consent_record(
        actor=MAINTENANCE,
        customer_id=customer.pk,
        channel="email",
        purpose=purpose,
        granted=granted,
        source="test",
        **extra,
    )


def current(customer: Customer) -> dict[tuple[str, str], tuple[bool, int]]:
    return {
        (c.channel, c.purpose): (c.granted, c.event_id)
        for c in CurrentConsent.objects.filter(customer=customer)
    }


def ledger_latest(customer: Customer) -> dict[tuple[str, str], tuple[bool, int]]:
    """The state as the ledger says it: its latest line per channel and purpose."""
    latest: dict[tuple[str, str], ConsentEvent] = {}
    for event in ConsentEvent.objects.filter(customer=customer).order_by("occurred_at", "id"):
        latest[(event.channel, event.purpose)] = event
    return {key: (e.granted, e.pk) for key, e in latest.items()}


def test_each_recorded_decision_becomes_the_current_one() -> None:
    ada = person("Ada")
    assert current(ada) == {}  # never asked
    granted = record(ada, True)
    assert current(ada) == {("email", "marketing"): (True, granted.pk)}
    withdrawn = record(ada, False)
    newsletter = record(ada, True, purpose="newsletter")
    assert current(ada) == {
        ("email", "marketing"): (False, withdrawn.pk),
        ("email", "newsletter"): (True, newsletter.pk),
    }
    assert current(ada) == ledger_latest(ada)


def test_a_back_dated_line_does_not_replace_a_later_decision() -> None:
    ada = person("Ada")
    withdrawn = record(ada, False)
    record(ada, True, occurred_at=timezone.now() - dt.timedelta(days=30))  # told us earlier
    assert current(ada) == {("email", "marketing"): (False, withdrawn.pk)}
    assert current(ada) == ledger_latest(ada)


def test_one_current_row_per_customer_channel_and_purpose() -> None:
    ada = person("Ada")
    event = record(ada, True)
    with pytest.raises(IntegrityError), transaction.atomic():
        CurrentConsent.objects.create(
            customer=ada,
            channel="email",
            purpose="marketing",
            granted=False,
            occurred_at=event.occurred_at,
            event=record(ada, False),
        )


def test_a_merge_derives_the_survivors_consent_from_both_ledgers() -> None:
    survivor, duplicate = person("Ada"), person("Ada M.")
    record(survivor, True, occurred_at=timezone.now() - dt.timedelta(days=10))
    later = record(duplicate, False)  # the duplicate's decision is the later one
    only_duplicate = record(duplicate, True, purpose="newsletter")
    customer_merge(actor=MAINTENANCE, survivor_id=survivor.pk, duplicate_id=duplicate.pk)
    assert current(survivor) == {
        ("email", "marketing"): (False, later.pk),
        ("email", "newsletter"): (True, only_duplicate.pk),
    }
    assert current(duplicate) == {}


def test_rebuild_derives_the_state_from_lines_written_in_bulk() -> None:
    ada, bob = person("Ada"), person("Bob")
    now = timezone.now()
    ConsentEvent.objects.bulk_create(
        [
            ConsentEvent(
                customer=ada,
                channel="email",
                purpose="marketing",
                granted=True,
                source="import",
                occurred_at=now - dt.timedelta(days=2),
            ),
            ConsentEvent(
                customer=ada,
                channel="email",
                purpose="marketing",
                granted=False,
                source="import",
                occurred_at=now - dt.timedelta(days=1),
            ),
            # the same moment twice: the later line wins
            ConsentEvent(
                customer=bob,
                channel="sms",
                purpose="marketing",
                granted=False,
                source="import",
                occurred_at=now,
            ),
            ConsentEvent(
                customer=bob,
                channel="sms",
                purpose="marketing",
                granted=True,
                source="import",
                occurred_at=now,
            ),
        ]
    )
    assert current_consent_rebuild(customer_ids=[ada.pk, bob.pk]) == 2
    assert current(ada) == ledger_latest(ada)
    assert current(ada)[("email", "marketing")][0] is False
    assert current(bob) == ledger_latest(bob)
    assert current(bob)[("sms", "marketing")][0] is True


def test_the_migration_backfills_the_latest_line_of_the_ledger() -> None:
    ada, bob, cid = person("Ada"), person("Bob"), person("Cid")
    record(ada, True)
    record(ada, False)
    record(bob, False, occurred_at=timezone.now() - dt.timedelta(days=3))
    record(bob, True, occurred_at=timezone.now() - dt.timedelta(days=5))
    record(bob, True, purpose="service")
    expected = {c.pk: ledger_latest(c) for c in (ada, bob, cid)}
    CurrentConsent.objects.all().delete()
    migration = importlib.import_module("customers.migrations.0008_current_consent")
    with connection.cursor() as cursor:
        cursor.execute(migration.BACKFILL)
    assert {c.pk: current(c) for c in (ada, bob, cid)} == expected
    assert expected[bob.pk][("email", "marketing")][0] is False
