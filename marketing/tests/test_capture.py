"""Public lead forms (match or create the customer, consent with its source, a lead for
sales with the campaign, spam protection) and lead scoring with routing."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from customers.models import ConsentEvent, Customer
from frontoffice.actors import MAINTENANCE
from marketing.capture.scoring import SCORING, score_compute, score_recompute, scoring_rule_create
from marketing.capture.services import LEAD_FORMS, form_submit, form_token, lead_form_create
from marketing.choices import MemberStatus
from marketing.models import CampaignMember, FormSubmission, LeadForm, LeadScore, RoutingSettings
from marketing.tests.conftest import a_person
from marketing.tests.test_campaigns import a_campaign
from sales.leads.models import Lead, LeadSource

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_throttle() -> None:
    cache.clear()


@pytest.fixture
def lead_form() -> LeadForm:
    return lead_form_create(actor=MAINTENANCE, campaign_id=a_campaign().pk, name="Spring demo")


def post(client: Client, lead_form: LeadForm, **fields: str) -> object:
    url = reverse("marketing:public_form", args=[lead_form.public_key])
    return client.post(url, {"token": form_token(), **fields})


def test_the_form_is_public_and_embeddable(client: Client, lead_form) -> None:
    response = client.get(reverse("marketing:public_form", args=[lead_form.public_key]))
    assert response.status_code == 200
    assert "X-Frame-Options" not in response
    assert "frame-ancestors *" in response["Content-Security-Policy"]


def test_a_submission_creates_customer_consent_and_lead(client: Client, lead_form) -> None:
    response = post(
        client,
        lead_form,
        first_name="Nia",
        last_name="New",
        email="NIA@Example.com",
        consent="on",
        message="Call me",
    )
    assert response.status_code == 200, response.content[:500]
    customer = Customer.objects.get(first_name="Nia")
    consent = ConsentEvent.objects.get(customer=customer)
    assert (consent.channel, consent.purpose, consent.granted) == ("email", "marketing", True)
    assert "Spring demo" in consent.source
    lead = Lead.objects.get()
    assert (lead.source, lead.campaign_id, lead.email) == (
        LeadSource.MARKETING_FORM,
        lead_form.campaign_id,
        "nia@example.com",
    )
    assert FormSubmission.objects.get().created_customer is True


def test_a_known_address_matches_the_existing_customer(lead_form) -> None:
    ann = a_person("Ann", consent=None)
    submission = form_submit(
        actor=LEAD_FORMS,
        form_key=lead_form.public_key,
        token=form_token(),
        data={"first_name": "Annie", "email": "ann.test@example.com"},
    )
    assert submission.customer == ann
    assert Customer.objects.filter(first_name__startswith="Ann").count() == 1
    assert not ConsentEvent.objects.filter(customer=ann).exists()  # no box ticked: no consent


def test_a_member_who_answers_is_marked_responded(lead_form) -> None:
    from marketing.campaigns.launch import campaign_launch

    ann = a_person("Ann")
    campaign_launch(actor=MAINTENANCE, campaign_id=lead_form.campaign_id)
    form_submit(
        actor=LEAD_FORMS,
        form_key=lead_form.public_key,
        token=form_token(),
        data={"first_name": "A", "email": "ann.test@example.com"},
    )
    member = CampaignMember.objects.get(customer=ann)
    assert member.status == MemberStatus.RESPONDED


def test_the_same_form_posted_twice_makes_one_lead(lead_form) -> None:
    token = form_token()
    data = {"first_name": "Twice", "email": "twice@example.com"}
    first = form_submit(actor=LEAD_FORMS, form_key=lead_form.public_key, token=token, data=data)
    second = form_submit(actor=LEAD_FORMS, form_key=lead_form.public_key, token=token, data=data)
    assert first.pk == second.pk
    assert Lead.objects.count() == 1


def test_the_honeypot_thanks_bots_and_writes_nothing(client: Client, lead_form) -> None:
    response = post(client, lead_form, first_name="Bot", email="bot@spam.test", website="http://spam.test")
    assert response.status_code == 200
    assert not Lead.objects.exists()
    assert not Customer.objects.filter(first_name="Bot").exists()


def test_a_forged_token_is_refused(client: Client, lead_form) -> None:
    url = reverse("marketing:public_form", args=[lead_form.public_key])
    response = client.post(url, {"token": "forged", "first_name": "X", "email": "x@example.com"})
    assert response.status_code == 400
    assert not Lead.objects.exists()


def test_bad_input_is_refused_and_nothing_is_written(client: Client, lead_form) -> None:
    response = post(client, lead_form, first_name="", email="not-an-address")
    assert response.status_code == 400
    assert not Customer.objects.filter(first_name="").exists()
    assert not Lead.objects.exists()


def test_the_form_is_rate_limited(client: Client, lead_form, monkeypatch) -> None:
    from marketing import throttle

    monkeypatch.setitem(throttle.RATES, "form", (2, 60))
    codes = [
        post(client, lead_form, first_name=f"P{i}", email=f"p{i}@example.com").status_code for i in range(3)
    ]
    assert codes == [200, 200, 429]
    assert Lead.objects.count() == 2


def test_a_closed_form_takes_nothing(client: Client, lead_form) -> None:
    LeadForm.objects.filter(pk=lead_form.pk).update(active=False)
    assert post(client, lead_form, first_name="Late", email="late@example.com").status_code == 404


# --- scoring ---------------------------------------------------------------------------


def test_profile_and_behaviour_points_with_decay(lead_form) -> None:
    scoring_rule_create(
        actor=MAINTENANCE,
        name="Customers",
        kind="profile",
        points=10,
        criteria={"field": "lifecycle_stage", "op": "eq", "value": "customer"},
    )
    scoring_rule_create(
        actor=MAINTENANCE,
        name="Forms",
        kind="behaviour",
        event="form_submitted",
        points=40,
        half_life_days=10,
    )
    submission = form_submit(
        actor=LEAD_FORMS,
        form_key=lead_form.public_key,
        token=form_token(),
        data={"first_name": "S", "email": "s@example.com"},
    )
    customer = submission.customer
    assert score_compute(customer_id=customer.pk) == 40
    Customer.objects.filter(pk=customer.pk).update(lifecycle_stage="customer")
    assert score_compute(customer_id=customer.pk) == 50
    assert (
        score_compute(customer_id=customer.pk, now=timezone.now() + dt.timedelta(days=10)) == 30
    )  # 10 + 40/2


def test_a_score_over_the_threshold_routes_the_lead_round_robin(lead_form, sales_rep, teammate) -> None:
    RoutingSettings.objects.create(pk=1, threshold=30)
    scoring_rule_create(actor=MAINTENANCE, name="Forms", kind="behaviour", event="form_submitted", points=40)
    owners = []
    for name in ("One", "Two"):
        submission = form_submit(
            actor=LEAD_FORMS,
            form_key=lead_form.public_key,
            token=form_token(),
            data={"first_name": name, "email": f"{name}@example.com"},
        )
        score = score_recompute(actor=SCORING, customer_id=submission.customer_id)
        assert score.score == 40
        owners.append(Lead.objects.get(pk=submission.lead_id).owner)
    assert set(owners) == {sales_rep, teammate}
    assert LeadScore.objects.filter(routed_to__isnull=False).count() == 2


def test_a_bad_scoring_rule_is_refused() -> None:
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as caught:
        scoring_rule_create(
            actor=MAINTENANCE, name="Bad", kind="profile", points=5, criteria={"field": "nope", "op": "eq"}
        )
    assert "criteria.field" in caught.value.message_dict
    with pytest.raises(ValidationError) as caught:
        scoring_rule_create(actor=MAINTENANCE, name="Bad", kind="behaviour", points=5000)
    assert {"points", "event"} <= set(caught.value.message_dict)
