"""A lead form's sender is matched to the customer they already are by the hub's
duplicate rules (customers.selectors_duplicates.customer_matching): the e-mail whatever
its case, the phone in whatever format; a customer merged away resolves to its survivor;
nobody matching makes a customer. The lead sales gets carries that customer."""

from __future__ import annotations

import pytest
from django.core.cache import cache

from customers import services as customer_services
from customers.merge import customer_merge
from customers.models import ContactPoint, Customer
from frontoffice.actors import MAINTENANCE
from marketing.capture.services import LEAD_FORMS, form_submit, form_token, lead_form_create
from marketing.models import FormSubmission, LeadForm
from marketing.tests.conftest import a_person
from marketing.tests.test_campaigns import a_campaign
from sales.leads.models import Lead

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_throttle() -> None:
    cache.clear()


@pytest.fixture
def lead_form() -> LeadForm:
    return lead_form_create(actor=MAINTENANCE, campaign_id=a_campaign().pk, name="Spring demo")


def submit(lead_form: LeadForm, **data: str) -> FormSubmission:
    return form_submit(
        actor=LEAD_FORMS, form_key=lead_form.public_key, token=form_token(), data={"first_name": "X", **data}
    )


def test_an_e_mail_in_another_case_matches_and_the_lead_carries_the_customer(lead_form) -> None:
    # given
    ann = a_person("Ann", consent=None)
    # when
    submission = submit(lead_form, email="ANN.Test@Example.COM")
    # then
    assert submission.customer == ann
    assert submission.created_customer is False
    assert Lead.objects.get(pk=submission.lead_id).customer == ann
    assert Customer.objects.count() == 1


def test_a_phone_in_another_format_matches(lead_form) -> None:
    # given: the profile keeps the phone in E.164
    bea = a_person("Bea", email=None, consent=None)
    customer_services.contact_point_add(
        actor=MAINTENANCE, customer_id=bea.pk, data={"kind": "phone", "value": "+44 20 7946 0000"}
    )
    # when: the form gives it the national way, with another e-mail
    submission = submit(lead_form, email="bea.at.work@example.com", phone="020 7946 0000")
    # then
    assert submission.customer == bea
    assert Lead.objects.get(pk=submission.lead_id).customer == bea
    assert Customer.objects.count() == 1


def test_the_address_of_a_customer_merged_away_resolves_to_the_survivor(lead_form) -> None:
    # given: Rob merged into Bob (the merge moves Rob's address to Bob)
    bob = a_person("Bob", consent=None)
    rob = a_person("Rob", consent=None)
    customer_merge(actor=MAINTENANCE, survivor_id=bob.pk, duplicate_id=rob.pk)
    # when
    submission = submit(lead_form, email="rob.test@example.com")
    # then
    assert submission.customer == bob
    assert Lead.objects.get(pk=submission.lead_id).customer == bob


def test_a_tombstone_still_holding_its_phone_resolves_to_the_survivor(lead_form) -> None:
    # given: Cid merged into Cal, and a phone left on Cid's tombstone (as merges written
    # before contact points moved with them left it)
    cal = a_person("Cal", consent=None)
    cid = a_person("Cid", email=None, consent=None)
    customer_merge(actor=MAINTENANCE, survivor_id=cal.pk, duplicate_id=cid.pk)
    ContactPoint.objects.create(customer=cid, kind="phone", value="+442079460001")
    # when
    submission = submit(lead_form, phone="+44 20 7946 0001")
    # then: Cal, not a new customer
    assert submission.customer == cal
    assert Lead.objects.get(pk=submission.lead_id).customer == cal
    assert Customer.objects.filter(merged_into__isnull=True).count() == 1


def test_nobody_matching_makes_a_customer_the_lead_carries(lead_form) -> None:
    # given
    a_person("Ann", consent=None)
    # when
    submission = submit(lead_form, first_name="Nia", email="nia@example.com", phone="020 7946 0002")
    # then
    nia = Customer.objects.get(first_name="Nia")
    assert submission.customer == nia
    assert submission.created_customer is True
    assert Lead.objects.get(pk=submission.lead_id).customer == nia
    assert set(nia.contact_points.values_list("kind", "value")) == {
        ("email", "nia@example.com"),
        ("phone", "+442079460002"),
    }
