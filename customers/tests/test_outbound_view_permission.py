"""A message can carry the permission needed to read it ("app_label.codename"): its
template's, or the sender's. Whoever lacks it reads the message nowhere: not in the log
(page and API, list and detail) nor as its entry on the customer's timeline. The hub
knows no permission by name: the tests use one of its own (merging customers)."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from customers import services as customer_services
from customers.models import Activity, Customer
from customers.outbound import services
from customers.outbound.models import OutboundMessage
from frontoffice.actors import SystemActor
from tests.fixtures import client_for

pytestmark = pytest.mark.django_db
NEEDED = "customers.merge_customer"  # supervisors and admins hold it; agents do not


@pytest.fixture
def grace(agent: Any) -> Customer:
    return customer_services.customer_create(
        actor=agent,
        kind="person",
        first_name="Grace",
        last_name="Hopper",
        contact_points=[{"kind": "phone", "value": "+44 20 7946 0001"}],
    )


def a_message(customer: Customer, key: str, **fields: Any) -> OutboundMessage:
    return services.send_to_customer(
        actor=SystemActor("test"),
        customer=customer,
        dedupe_key=key,
        subject=f"Subject {key}",
        body="Body.",
        channel="sms",
        **fields,
    )


def reads(user: Any, customer: Customer, message: OutboundMessage) -> dict[str, bool]:
    api, page = client_for(user), Client()
    page.force_login(user)
    entry = Activity.objects.get(ref_type="customers.outboundmessage", ref_id=str(message.pk))
    listed = api.get(f"/api/v1/outbound/messages/?customer={customer.pk}").json()["results"]
    timeline = api.get(f"/api/v1/customers/{customer.pk}/timeline/").json()["results"]
    return {
        "api list": message.pk in {m["id"] for m in listed},
        "api detail": api.get(f"/api/v1/outbound/messages/{message.pk}/").status_code == 200,
        "log page": message.subject in page.get(reverse("customers:outbound-messages")).content.decode(),
        "message page": page.get(reverse("customers:outbound-message", args=[message.pk])).status_code == 200,
        "timeline api": entry.pk in {e["id"] for e in timeline},
        "activity api": api.get(f"/api/v1/activities/{entry.pk}/").status_code == 200,
        "customer page": message.subject
        in page.get(reverse("customers:detail", args=[customer.pk])).content.decode(),
    }


def test_a_message_carrying_a_permission_is_read_only_by_its_holders(
    grace: Customer, agent: Any, supervisor: Any
) -> None:
    guarded = a_message(grace, "guarded:1", view_permission=NEEDED)
    plain = a_message(grace, "plain:1")
    assert guarded.view_permission == NEEDED
    assert not any(reads(agent, grace, guarded).values())
    assert all(reads(supervisor, grace, guarded).values())
    assert all(reads(agent, grace, plain).values())


def test_a_template_gives_its_messages_its_permission(grace: Customer, agent: Any) -> None:
    template = services.message_template_create(
        actor=SystemActor("test"), key="guarded", name="Guarded", subject="Guarded", body="Body."
    )
    template.view_permission = NEEDED
    template.save(update_fields=["view_permission"])
    message = services.send_to_customer(
        actor=SystemActor("test"), customer=grace, dedupe_key="t:1", template="guarded", channel="sms"
    )
    assert message.view_permission == NEEDED
    assert Activity.objects.get(ref_id=str(message.pk)).view_permission == NEEDED
    assert not any(reads(agent, grace, message).values())


def test_a_malformed_permission_is_refused_and_nothing_is_written(grace: Customer) -> None:
    with pytest.raises(ValidationError) as refused:
        a_message(grace, "bad:1", view_permission="read invoices")
    assert "view_permission" in refused.value.message_dict
    assert not OutboundMessage.objects.filter(customer=grace).exists()
