"""Writes on a customer follow one rule (customers.guards.authorize_customer_write): a
rep refused editing another team's customer is refused everything else on it too
(consent, timeline entries, opportunities), through the API and the pages alike; a
role that may edit every customer (service, marketing, managers) is not."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from customers import services as customer_services
from customers.models import Activity, ConsentEvent, Customer
from sales.models import Opportunity

pytestmark = pytest.mark.django_db


@pytest.fixture
def theirs(other_rep: Any) -> Customer:
    """A customer another team owns."""
    return customer_services.customer_create(
        actor=other_rep, kind="organisation", organisation_name="South Ltd"
    )


def page_client(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def api_writes(api: Any, customer: Customer) -> dict[str, int]:
    return {
        "edit": api.patch(
            f"/api/v1/customers/{customer.pk}/",
            {"organisation_name": "Renamed"},
            format="json",
            HTTP_IF_MATCH=f'"{customer.version}"',
        ).status_code,
        "consent": api.post(
            f"/api/v1/customers/{customer.pk}/consents/",
            {"channel": "email", "purpose": "marketing", "granted": True, "source": "phone call"},
            format="json",
        ).status_code,
        "activity": api.post(
            "/api/v1/activities/",
            {"customer": customer.pk, "kind": "call", "subject": "Hello"},
            format="json",
        ).status_code,
        "opportunity": api.post(
            "/api/v1/sales/opportunities/", {"customer": customer.pk, "name": "Poached deal"}, format="json"
        ).status_code,
    }


def test_a_rep_refused_editing_another_teams_customer_is_refused_every_write_on_it_over_the_api(
    sales_rep: Any, theirs: Customer, api_as: Any
) -> None:
    # when
    answers = api_writes(api_as(sales_rep), theirs)
    # then
    assert answers == {"edit": 403, "consent": 403, "activity": 403, "opportunity": 403}
    assert not ConsentEvent.objects.filter(customer=theirs).exists()
    assert not Activity.objects.filter(customer=theirs, subject="Hello").exists()
    assert not Opportunity.objects.filter(customer=theirs).exists()


def test_a_teammate_and_a_role_that_edits_every_customer_may_write_on_it(
    teammate: Any, agent: Any, sales_manager: Any, sales_rep: Any, api_as: Any
) -> None:
    # given: a customer of the rep's team
    ours = customer_services.customer_create(
        actor=sales_rep, kind="organisation", organisation_name="North Ltd"
    )
    # when / then: a teammate writes everything, an agent logs and records consent
    assert set(api_writes(api_as(teammate), ours).values()) <= {200, 201}
    agent_api = api_as(agent)
    assert (
        agent_api.post(
            "/api/v1/activities/", {"customer": ours.pk, "kind": "call", "subject": "Case"}, format="json"
        ).status_code
        == 201
    )
    ours.refresh_from_db()
    assert api_writes(api_as(sales_manager), ours)["opportunity"] == 201


def test_a_rep_refused_editing_another_teams_customer_is_refused_on_the_pages_too(
    sales_rep: Any, theirs: Customer
) -> None:
    client = page_client(sales_rep)
    # when
    activity = client.post(
        f"/customers/{theirs.pk}/activities/new/", {"activity-kind": "call", "activity-subject": "Hello"}
    )
    consent = client.post(
        f"/customers/{theirs.pk}/consents/new/",
        {
            "consent-channel": "email",
            "consent-purpose": "marketing",
            "consent-granted": "yes",
            "consent-source": "x",
        },
    )
    opportunity = client.post("/sales/opportunities/new/", {"customer": theirs.pk, "name": "Poached"})
    page = client.get(f"/customers/{theirs.pk}/").content.decode()
    # then
    assert (activity.status_code, consent.status_code, opportunity.status_code) == (403, 403, 403)
    assert not Activity.objects.filter(customer=theirs, subject="Hello").exists()
    assert not ConsentEvent.objects.filter(customer=theirs).exists()
    assert not Opportunity.objects.filter(customer=theirs).exists()
    # and the customer page offers none of these writes
    assert f"/customers/{theirs.pk}/activities/new/" not in page
    assert f"/customers/{theirs.pk}/consents/new/" not in page
    panel = client.get(f"/customers/{theirs.pk}/panels/open_opportunities/").content.decode()
    assert "/sales/opportunities/new/" not in panel


def test_the_customer_page_offers_the_writes_to_a_teammate(teammate: Any, sales_rep: Any) -> None:
    ours = customer_services.customer_create(
        actor=sales_rep, kind="organisation", organisation_name="North Ltd"
    )
    client = page_client(teammate)
    page = client.get(f"/customers/{ours.pk}/").content.decode()
    panel = client.get(f"/customers/{ours.pk}/panels/open_opportunities/").content.decode()
    assert f"/customers/{ours.pk}/activities/new/" in page
    assert f"/customers/{ours.pk}/consents/new/" in page
    assert f"/sales/opportunities/new/?customer={ours.pk}" in panel
