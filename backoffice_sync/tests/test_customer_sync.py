"""Customer changes reach the ERP through the outbox, in the change's transaction."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.db import transaction

from backoffice_sync.adapters.stub import StubAdapter
from backoffice_sync.erp import MessageKind
from backoffice_sync.inbox import pull_changes_once
from backoffice_sync.models import ErpCircuit, OutboxMessage
from backoffice_sync.outbox import relay_due
from backoffice_sync.simulator.models import SimCustomer, SimDelivery
from customers import services
from customers.choices import ContactKind, ContactLabel
from frontoffice.actors import ERP_SYNC

pytestmark = pytest.mark.django_db

SHIPPING = {
    "kind": ContactKind.ADDRESS,
    "label": ContactLabel.SHIPPING,
    "value": "Unit 4, Dock Road, Bristol BS1 4XY",
    "street": "Unit 4, Dock Road",
    "postal_code": "BS1 4XY",
    "city": "Bristol",
    "country": "GB",
}


def upserts(customer: Any) -> list[OutboxMessage]:
    return list(
        OutboxMessage.objects.filter(aggregate=f"customer:{customer.pk}", kind=MessageKind.CUSTOMER_UPSERT)
    )


@pytest.fixture
def linked_customer(agent: Any) -> Any:
    return services.customer_create(
        actor=ERP_SYNC, kind="organisation", organisation_name="Dockside Ltd", erp_customer_number="C-000042"
    )


def test_a_new_shipping_address_of_a_customer_the_erp_knows_is_queued_for_the_erp(
    agent: Any, linked_customer: Any
) -> None:
    # when
    services.contact_point_add(actor=agent, customer_id=linked_customer.pk, data=SHIPPING)
    # then
    (message,) = upserts(linked_customer)
    assert message.payload["erp_customer_number"] == "C-000042"
    assert message.payload["shipping_address"]["city"] == "Bristol"
    assert message.payload["name"] == "Dockside Ltd"


def test_a_rolled_back_change_queues_nothing(agent: Any, linked_customer: Any) -> None:
    # when: the request fails after the change
    def change_then_fail() -> None:
        with transaction.atomic():
            services.contact_point_add(actor=agent, customer_id=linked_customer.pk, data=SHIPPING)
            raise RuntimeError("the request failed after the change")

    with pytest.raises(RuntimeError):
        change_then_fail()
    # then
    assert upserts(linked_customer) == []


def test_customers_the_erp_does_not_know_are_not_sent(agent: Any) -> None:
    # given
    prospect = services.customer_create(actor=ERP_SYNC, kind="person", first_name="Pat", last_name="Prospect")
    # when
    services.contact_point_add(actor=agent, customer_id=prospect.pk, data=SHIPPING)
    # then
    assert upserts(prospect) == []


def test_the_address_reaches_the_erp_and_the_erps_echo_does_not_loop(agent: Any) -> None:
    # given: a customer the ERP has numbered (its answer to a first upsert)
    erp = StubAdapter()
    erp.reset(seed=7, start=dt.datetime(2025, 3, 3, tzinfo=dt.UTC))
    customer = services.customer_create(actor=ERP_SYNC, kind="organisation", organisation_name="Quayside plc")
    first = erp.upsert_customer(
        idempotency_key="first", customer={"customer_ref": str(customer.pk), "name": "Quayside plc"}
    )
    services.customer_update(
        actor=ERP_SYNC,
        customer_id=customer.pk,
        expected_version=None,
        erp_customer_number=first.data["erp_customer_number"],
    )
    # when: the call centre adds a shipping address; relayed, and the ERP's own
    # customer.changed pulled back, a few times over
    services.contact_point_add(actor=agent, customer_id=customer.pk, data=SHIPPING)
    counts = []
    for _ in range(3):
        relay_due()
        while pull_changes_once().has_more:
            pass
        counts.append(len(upserts(customer)))
    # then
    erp_customer = SimCustomer.objects.get(customer_ref=str(customer.pk))
    assert erp_customer.shipping_address["city"] == "Bristol"
    assert all(m.status == "delivered" for m in upserts(customer))
    assert counts[-1] == counts[-2], f"upserts kept coming: {counts}"


def test_an_edited_customer_whose_erp_number_the_simulator_never_saw_is_delivered_not_dead_lettered(
    agent: Any, linked_customer: Any
) -> None:
    # given: a customer numbered outside the simulator (seed_demo's C100260, an import)
    StubAdapter().reset(seed=7, start=dt.datetime(2025, 3, 3, tzinfo=dt.UTC))
    assert not SimCustomer.objects.filter(customer_ref=str(linked_customer.pk)).exists()
    # when: its address changes and the relay runs
    services.contact_point_add(actor=agent, customer_id=linked_customer.pk, data=SHIPPING)
    relay_due()
    # then: the ERP keeps the customer under the front office's number
    (message,) = upserts(linked_customer)
    assert (message.status, message.last_error) == ("delivered", "")
    erp_customer = SimCustomer.objects.get(customer_ref=str(linked_customer.pk))
    assert erp_customer.number == "C-000042"
    assert erp_customer.shipping_address["city"] == "Bristol"


def _relay_now() -> None:
    """Relay as if every wait had passed: the messages' backoffs and the breaker's probe."""
    OutboxMessage.objects.update(next_attempt_at=dt.datetime(2000, 1, 1, tzinfo=dt.UTC))
    ErpCircuit.objects.update(next_probe_at=dt.datetime(2000, 1, 1, tzinfo=dt.UTC))
    relay_due()


def test_upserts_held_back_by_an_outage_reach_the_erp_once_each_and_the_newest_wins(
    agent: Any, linked_customer: Any
) -> None:
    # given: the ERP is down while the customer is renamed twice
    erp = StubAdapter()
    erp.reset(seed=7, start=dt.datetime(2025, 3, 3, tzinfo=dt.UTC))
    erp.set_faults(outage=True)
    for name in ("Dockside Holdings", "Dockside Group"):
        services.customer_update(
            actor=agent, customer_id=linked_customer.pk, expected_version=None, organisation_name=name
        )
    relay_due()
    older, newer = upserts(linked_customer)
    # the outage spent no attempt: the circuit breaker waits it out
    assert (older.status, older.attempts, newer.attempts) == ("pending", 0, 0)
    # when: it is back but loses its answers until it has applied the older one, then recovers
    erp.set_faults(outage=False, error_rate=1.0)
    for _ in range(6):
        _relay_now()
        if SimDelivery.objects.filter(idempotency_key=older.idempotency_key).exists():
            break
    older.refresh_from_db()
    assert older.status == "pending", "the ERP applied it but its answer was lost"
    erp.set_faults(error_rate=0.0)
    _relay_now()
    _relay_now()
    # then: applied in order, each once
    older, newer = upserts(linked_customer)
    assert [(m.status, m.result["status"]) for m in (older, newer)] == [
        ("delivered", "duplicate"),
        ("delivered", "accepted"),
    ]
    erp_customer = SimCustomer.objects.get(customer_ref=str(linked_customer.pk))
    assert (erp_customer.number, erp_customer.name, erp_customer.version) == ("C-000042", "Dockside Group", 2)
