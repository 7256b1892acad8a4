"""A merge that gives the survivor the duplicate's ERP number reaches the ERP before the
survivor's upserts name it: end to end through the outbox, the simulator and the inbox."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from backoffice_sync.adapters.stub import StubAdapter
from backoffice_sync.erp import MessageKind
from backoffice_sync.inbox import pull_changes_once
from backoffice_sync.models import ErpCircuit, InboxEvent, InboxStatus, OutboxMessage, OutboxStatus
from backoffice_sync.outbox import relay_due
from backoffice_sync.simulator.models import SimCustomer
from customers import services
from customers.choices import ContactKind, ContactLabel
from customers.merge import customer_merge
from customers.models import Customer

pytestmark = pytest.mark.django_db

NUMBER = "C100260"
SHIPPING = {
    "kind": ContactKind.ADDRESS,
    "label": ContactLabel.SHIPPING,
    "value": "Unit 4, Dock Road, Bristol BS1 4XY",
    "street": "Unit 4, Dock Road",
    "postal_code": "BS1 4XY",
    "city": "Bristol",
    "country": "GB",
}


@pytest.fixture
def erp() -> StubAdapter:
    adapter = StubAdapter()
    adapter.reset(seed=7, start=dt.datetime(2025, 3, 3, tzinfo=dt.UTC))
    return adapter


def organisation(actor: Any, name: str, number: str | None = None) -> Customer:
    return services.customer_create(
        actor=actor, kind="organisation", organisation_name=name, erp_customer_number=number
    )


def known_to_the_erp(actor: Any, name: str, number: str) -> Customer:
    """A customer the ERP has under `number` (its first upsert delivered)."""
    customer = organisation(actor, name, number)
    services.contact_point_add(actor=actor, customer_id=customer.pk, data=SHIPPING)
    relay_due()
    assert SimCustomer.objects.get(customer_ref=str(customer.pk)).number == number
    return customer


def merge(actor: Any, survivor: Customer, duplicate: Customer) -> None:
    """`customer_merge`, which publishes `CustomersMerged` inside its transaction."""
    customer_merge(actor=actor, survivor_id=survivor.pk, duplicate_id=duplicate.pk)


def messages_of(customer: Customer) -> list[tuple[str, str]]:
    return list(
        OutboxMessage.objects.filter(aggregate=f"customer:{customer.pk}")
        .order_by("sequence")
        .values_list("kind", "status")
    )


def test_a_survivor_that_takes_over_the_duplicates_number_is_delivered_and_nothing_is_dead_lettered(
    erp: StubAdapter, admin_user: Any
) -> None:
    # given: the duplicate is the ERP's account NUMBER; the survivor is new to the ERP
    duplicate = known_to_the_erp(admin_user, "Dockside Ltd", NUMBER)
    survivor = organisation(admin_user, "Dockside Limited")

    # when: merged, relayed; then the survivor changes and is relayed again
    merge(admin_user, survivor, duplicate)
    relay_due()
    services.customer_update(
        actor=admin_user, customer_id=survivor.pk, expected_version=None, organisation_name="Dockside Group"
    )
    relay_due()

    # then: the merge went first, every message is delivered, the ERP moved the number
    assert messages_of(survivor) == [
        (MessageKind.CUSTOMER_MERGE, OutboxStatus.DELIVERED),
        (MessageKind.CUSTOMER_UPSERT, OutboxStatus.DELIVERED),
        (MessageKind.CUSTOMER_UPSERT, OutboxStatus.DELIVERED),
    ]
    assert not OutboxMessage.objects.filter(status=OutboxStatus.DEAD).exists()
    account = SimCustomer.objects.get(customer_ref=str(survivor.pk))
    assert (account.number, account.name) == (NUMBER, "Dockside Group")
    closed = SimCustomer.objects.get(customer_ref=str(duplicate.pk))
    assert closed.merged_into_id == account.pk
    assert closed.number != NUMBER


def test_what_the_erp_reports_after_a_merge_leaves_the_survivor_its_number(
    erp: StubAdapter, admin_user: Any
) -> None:
    # given: merged and relayed
    duplicate = known_to_the_erp(admin_user, "Dockside Ltd", NUMBER)
    survivor = organisation(admin_user, "Dockside Limited")
    merge(admin_user, survivor, duplicate)
    relay_due()

    # when: the front office pulls what the ERP reported (the duplicate's echoes included)
    while pull_changes_once().has_more:
        pass
    relay_due()

    # then
    survivor.refresh_from_db()
    assert survivor.erp_customer_number == NUMBER
    assert not InboxEvent.objects.filter(status=InboxStatus.REJECTED).exists()
    assert not OutboxMessage.objects.filter(status=OutboxStatus.DEAD).exists()


def test_the_duplicates_upserts_held_back_by_an_outage_change_nothing_after_the_merge(
    erp: StubAdapter, admin_user: Any
) -> None:
    # given: the ERP is down while the duplicate is renamed, then the two are merged
    duplicate = known_to_the_erp(admin_user, "Dockside Ltd", NUMBER)
    survivor = organisation(admin_user, "Dockside Limited")
    erp.set_faults(outage=True)
    services.customer_update(
        actor=admin_user, customer_id=duplicate.pk, expected_version=None, organisation_name="Dockside Ltd."
    )
    relay_due()
    merge(admin_user, survivor, duplicate)

    # when: the ERP is back (its probe is due), and the survivor's messages happen to go first
    erp.set_faults(outage=False)
    ErpCircuit.objects.update(next_probe_at=dt.datetime(2000, 1, 1, tzinfo=dt.UTC))
    OutboxMessage.objects.filter(aggregate=f"customer:{duplicate.pk}", status=OutboxStatus.PENDING).update(
        next_attempt_at=dt.datetime(2100, 1, 1, tzinfo=dt.UTC)
    )
    relay_due()
    OutboxMessage.objects.filter(status=OutboxStatus.PENDING).update(
        next_attempt_at=dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
    )
    relay_due()

    # then: all delivered; the closed account kept its name, the survivor has the number
    assert set(OutboxMessage.objects.values_list("status", flat=True)) == {OutboxStatus.DELIVERED}
    assert SimCustomer.objects.get(customer_ref=str(duplicate.pk)).name == "Dockside Ltd"
    assert SimCustomer.objects.get(customer_ref=str(survivor.pk)).number == NUMBER


def test_a_merge_that_moves_no_number_sends_nothing_new(erp: StubAdapter, admin_user: Any) -> None:
    # given: the survivor has its own number
    duplicate = known_to_the_erp(admin_user, "Dockside Ltd", NUMBER)
    survivor = known_to_the_erp(admin_user, "Dockside Limited", "C-000007")

    # when
    merge(admin_user, survivor, duplicate)

    # then
    assert not OutboxMessage.objects.filter(kind=MessageKind.CUSTOMER_MERGE).exists()
