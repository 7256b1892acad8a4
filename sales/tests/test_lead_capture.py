"""Leads from marketing's forms: marketing calls `sales.leads.services_capture` (marketing may import
sales), which makes one lead per capture, refuses a bad payload without writing, and
carries the form's consents to the customer's ledger on conversion."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from customers.models import Activity, ConsentEvent
from customers.selectors import consent_state
from sales.leads import services as lead_services
from sales.leads import services_capture as lead_capture
from sales.leads.services_capture import MARKETING_FORMS
from sales.models import Lead, LeadSource, LeadStatus
from tests.api_contract import snapshot

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 3, 2, 10, 0, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def _frozen() -> Any:
    with time_machine.travel(NOW, tick=False):
        yield


def capture(**overrides: Any) -> dict[str, Any]:
    payload = {
        "capture_key": "form-12:submission-3456",
        "form_id": 12,
        "occurred_at": "2026-03-02T09:58:00+00:00",
        "first_name": "Grace",
        "last_name": "Hopper",
        "company": "Navy Labs",
        "email": " Grace@Example.COM ",
        "phone": "020 7946 0000",
        "message": "Please call me about licences.",
        "campaign_id": 7,
        "consents": [
            {"channel": "email", "purpose": "marketing", "granted": True},
            {"channel": "phone", "purpose": "marketing", "granted": False},
        ],
    }
    payload.update(overrides)
    return {k: v for k, v in payload.items() if v is not ...}


def test_a_capture_creates_an_unassigned_form_lead():
    # when
    lead_capture.lead_capture(actor=MARKETING_FORMS, payload=capture())
    # then
    lead = Lead.objects.get()
    assert (lead.source, lead.status, lead.owner) == (LeadSource.MARKETING_FORM, LeadStatus.NEW, None)
    assert (lead.first_name, lead.last_name, lead.organisation_name) == ("Grace", "Hopper", "Navy Labs")
    assert (lead.email, lead.phone) == ("grace@example.com", "+442079460000")
    assert lead.notes == "Please call me about licences."
    assert lead.title == "Enquiry from form #12"
    assert (lead.campaign_id, lead.form_id) == (7, 12)
    assert lead.captured_at == dt.datetime(2026, 3, 2, 9, 58, tzinfo=dt.UTC)
    assert lead.capture_key == "form-12:submission-3456"
    assert lead.consents == [
        {"channel": "email", "purpose": "marketing", "granted": True},
        {"channel": "phone", "purpose": "marketing", "granted": False},
    ]
    assert not Activity.objects.exists()  # a lead is not a customer: no timeline yet


def test_the_same_capture_delivered_twice_makes_one_lead():
    # when
    lead_capture.lead_capture(actor=MARKETING_FORMS, payload=capture())
    lead_capture.lead_capture(
        actor=MARKETING_FORMS, payload=capture(message="a redelivery, even a changed one")
    )
    # then
    assert Lead.objects.get().notes == "Please call me about licences."
    again = lead_capture.lead_capture(actor=MARKETING_FORMS, payload=capture())
    assert again.created is False
    assert again.lead == Lead.objects.get()


def test_the_unique_capture_key_holds_in_the_database_too(monkeypatch):
    # given: a lead already made by this capture, which a concurrent delivery did not see
    first = lead_capture.lead_capture(actor=MARKETING_FORMS, payload=capture()).lead
    lookups = []
    original = Lead.objects.filter

    def blind_first_lookup(*args: Any, **kwargs: Any) -> Any:
        lookups.append(kwargs)
        return original(pk=-1) if len(lookups) == 1 else original(*args, **kwargs)

    monkeypatch.setattr(Lead.objects, "filter", blind_first_lookup)
    # when: the insert itself collides with the unique constraint
    with transaction.atomic():
        result = lead_capture.lead_capture(actor=MARKETING_FORMS, payload=capture())
    # then: the delivery that lost the race answers with the winner's lead
    assert (result.created, result.lead) == (False, first)
    assert lookups[0] == {"capture_key": "form-12:submission-3456"}
    monkeypatch.undo()
    assert Lead.objects.count() == 1


def test_different_captures_make_different_leads_even_from_the_same_person():
    lead_capture.lead_capture(actor=MARKETING_FORMS, payload=capture())
    lead_capture.lead_capture(
        actor=MARKETING_FORMS, payload=capture(capture_key="form-13:submission-1", form_id=13)
    )
    assert Lead.objects.count() == 2


def test_optional_fields_may_be_left_out_and_interest_becomes_the_title():
    lead_capture.lead_capture(
        actor=MARKETING_FORMS,
        payload={
            "capture_key": "k-1",
            "form_id": 3,
            "occurred_at": NOW,
            "company": "Acme",
            "phone": "+44 20 7946 0001",
            "interest": "Pallet jacks",
        },
    )
    lead = Lead.objects.get()
    assert (lead.title, lead.email, lead.campaign_id, lead.consents) == ("Pallet jacks", "", None, [])


@pytest.mark.parametrize(
    ("overrides", "keys"),
    [
        ({"capture_key": ...}, {"capture_key"}),
        ({"capture_key": "  "}, {"capture_key"}),
        ({"capture_key": "k" * 201}, {"capture_key"}),
        ({"form_id": ...}, {"form_id"}),
        ({"form_id": "12"}, {"form_id"}),
        ({"form_id": True}, {"form_id"}),
        ({"occurred_at": ...}, {"occurred_at"}),
        ({"occurred_at": "2026-03-02T09:58:00"}, {"occurred_at"}),  # no time zone
        ({"occurred_at": "yesterday"}, {"occurred_at"}),
        ({"occurred_at": "2026-03-02T11:00:00+00:00"}, {"occurred_at"}),  # in the future
        ({"email": "not-an-email"}, {"email"}),
        ({"phone": "12"}, {"phone"}),
        ({"email": ..., "phone": ...}, {"email"}),  # no way to reach them
        ({"first_name": ..., "last_name": ..., "company": ""}, {"last_name"}),
        ({"company": "x" * 201}, {"company"}),
        ({"message": 42}, {"message"}),
        ({"campaign_id": 0}, {"campaign_id"}),
        ({"consents": "all"}, {"consents"}),
        ({"consents": [{"channel": "fax", "purpose": "marketing", "granted": True}]}, {"consents.0.channel"}),
        (
            {"consents": [{"channel": "email", "purpose": "spam", "granted": "yes"}]},
            {"consents.0.purpose", "consents.0.granted"},
        ),
        ({"consents": [{"channel": "email", "purpose": "marketing"}]}, {"consents.0"}),
        (
            {"consents": [{"channel": "email", "purpose": "marketing", "granted": v} for v in (True, False)]},
            {"consents.1"},
        ),
        ({"utm_source": "newsletter"}, {"utm_source"}),
    ],
)
def test_a_bad_payload_is_refused_with_its_keys_and_nothing_is_written(overrides, keys):
    before = snapshot(Lead)
    with pytest.raises(ValidationError) as caught:
        lead_capture.lead_capture(actor=MARKETING_FORMS, payload=capture(**overrides))
    assert set(caught.value.message_dict) == keys
    assert snapshot(Lead) == before


# --- conversion: the form's consents reach the customer's ledger -----------------------------


def test_converting_a_form_lead_records_its_consents_on_the_person(sales_rep):
    # given: Grace Hopper of Navy Labs filled in the form
    lead = lead_capture.lead_capture(actor=MARKETING_FORMS, payload=capture()).lead
    # when
    opp = lead_services.lead_convert(actor=sales_rep, lead_id=lead.pk)
    # then: her consents are hers (the company's primary contact), with the form as source
    person = opp.customer.members.get().person
    ledger = ConsentEvent.objects.filter(customer_id=person.pk).order_by("channel")
    assert [(e.channel, e.purpose, e.granted, e.source, e.occurred_at) for e in ledger] == [
        ("email", "marketing", True, "Marketing form #12", lead.captured_at),
        ("phone", "marketing", False, "Marketing form #12", lead.captured_at),
    ]
    assert "consent" in set(Activity.objects.filter(customer_id=person.pk).values_list("kind", flat=True))
    assert "lead_converted" in set(
        Activity.objects.filter(customer_id=opp.customer_id).values_list("kind", flat=True)
    )


def test_a_later_change_on_the_ledger_still_wins_over_the_forms_older_consent(sales_rep):
    # given: the customer withdrew e-mail marketing after the form was sent
    from customers.consent import consent_record
    from sales.tests import factories as f

    customer = f.customer(sales_rep, name="Navy Labs")
    consent_record(
        actor=sales_rep,
        customer_id=customer.pk,
        channel="email",
        purpose="marketing",
        granted=False,
        source="Unsubscribe link",
        occurred_at=timezone.now(),
    )
    lead = lead_capture.lead_capture(actor=MARKETING_FORMS, payload=capture()).lead
    # when
    lead_services.lead_convert(actor=sales_rep, lead_id=lead.pk, customer=customer.pk)
    # then
    current = {(e.channel, e.purpose): e.granted for e in consent_state(customer=customer)}
    assert current[("email", "marketing")] is False


def test_the_lead_page_shows_the_form_and_its_consents(sales_rep):
    from django.test import Client

    lead = lead_capture.lead_capture(actor=MARKETING_FORMS, payload=capture()).lead
    client = Client()
    client.force_login(sales_rep)
    page = client.get(f"/sales/leads/{lead.pk}/").content.decode()
    assert "Marketing form" in page
    assert "#12, sent" in page
    assert "Marketing by email: granted" in page
