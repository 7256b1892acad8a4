"""Public lead forms (match or create the customer, consent with its source, a lead for
sales with the campaign, spam protection) and lead scoring with routing."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from customers.models import Activity, ConsentEvent, Customer, CustomFieldDefinition
from frontoffice.actors import MAINTENANCE
from marketing.capture.scoring import (
    SCORING,
    routing_settings_update,
    score_compute,
    score_recompute,
    scoring_rule_create,
)
from marketing.capture.services import LEAD_FORMS, form_submit, form_token, lead_form_create
from marketing.choices import MemberStatus
from marketing.models import CampaignMember, FormSubmission, LeadForm, LeadScore, RoutingSettings, ScoringRule
from marketing.tests.conftest import a_person, written
from marketing.tests.test_campaigns import a_campaign
from sales.leads.models import Lead, LeadSource

pytestmark = pytest.mark.django_db


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
    written(campaign_launch(actor=MAINTENANCE, campaign_id=lead_form.campaign_id))
    form_submit(
        actor=LEAD_FORMS,
        form_key=lead_form.public_key,
        token=form_token(),
        data={"first_name": "A", "email": "ann.test@example.com"},
    )
    member = CampaignMember.objects.get(customer=ann)
    assert member.status == MemberStatus.RESPONDED
    # on the timeline once, naming the campaign; a second answer adds no second entry
    form_submit(
        actor=LEAD_FORMS,
        form_key=lead_form.public_key,
        token=form_token(),
        data={"first_name": "A", "email": "ann.test@example.com", "message": "Again"},
    )
    entries = list(Activity.objects.filter(customer=ann, kind="campaign_responded"))
    assert len(entries) == 1
    assert entries[0].source_app == "marketing"
    assert entries[0].subject == f"Responded to campaign “{member.campaign.name}”"
    assert entries[0].payload["campaign_id"] == lead_form.campaign_id
    assert entries[0].payload["member_id"] == member.pk
    assert entries[0].occurred_at == member.responded_at


def test_an_answer_from_outside_the_audience_is_on_the_timeline_too(lead_form) -> None:
    form_submit(
        actor=LEAD_FORMS,
        form_key=lead_form.public_key,
        token=form_token(),
        data={"first_name": "Zoe", "last_name": "New", "email": "zoe@example.com", "message": "Call me"},
    )
    zoe = FormSubmission.objects.get().customer
    [entry] = Activity.objects.filter(customer=zoe, kind="campaign_responded")
    assert entry.subject == "Sent the lead form “Spring demo”"
    assert entry.body == "Call me"
    assert entry.payload["campaign_id"] == lead_form.campaign_id
    assert not CampaignMember.objects.exists()


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


def test_the_form_is_rate_limited(client: Client, lead_form, throttle_limit) -> None:
    throttle_limit("form", 2)
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
    RoutingSettings.objects.update_or_create(pk=1, defaults={"threshold": 30})
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


def test_an_open_or_click_recomputes_the_score(django_capture_on_commit_callbacks) -> None:
    from marketing.campaigns.launch import campaign_launch
    from marketing.campaigns.responses import TRACKING, member_respond

    scoring_rule_create(actor=MAINTENANCE, name="Clicks", kind="behaviour", event="clicked", points=15)
    ann = a_person("Ann")
    campaign = written(campaign_launch(actor=MAINTENANCE, campaign_id=a_campaign().pk))
    member = CampaignMember.objects.get(campaign=campaign, customer=ann)
    with django_capture_on_commit_callbacks(execute=True):
        member_respond(actor=TRACKING, member_id=member.pk, status=MemberStatus.CLICKED)
    assert LeadScore.objects.get(customer=ann).score == 15


def submit(lead_form: LeadForm, name: str) -> FormSubmission:
    return form_submit(
        actor=LEAD_FORMS,
        form_key=lead_form.public_key,
        token=form_token(),
        data={"first_name": name, "email": f"{name.lower()}@example.com"},
    )


def test_a_score_over_the_threshold_routes_the_lead_by_territory(lead_form, sales_rep, teammate) -> None:
    # given territory routing: north -> the teammate, south -> the sales rep
    CustomFieldDefinition.objects.create(key="region", label="Region", field_type="text")
    routing_settings_update(
        actor=MAINTENANCE,
        expected_version=None,
        threshold=30,
        method="territory",
        territory_attribute="region",
        territories={"north": teammate.pk, "south": sales_rep.pk},
    )
    scoring_rule_create(actor=MAINTENANCE, name="Forms", kind="behaviour", event="form_submitted", points=40)
    owners = {}
    for name, region in (
        ("Nora", "north"),
        ("Sam", "south"),
        ("Nils", "north"),
        ("Wes", "west"),
        ("Ned", None),
    ):
        submission = submit(lead_form, name)
        if region is not None:
            Customer.objects.filter(pk=submission.customer_id).update(attributes={"region": region})
        score = score_recompute(actor=SCORING, customer_id=submission.customer_id)
        assert score.routed_to is not None
        owners[name] = Lead.objects.get(pk=submission.lead_id).owner
    # then each territory's rep gets its leads; a territory nobody covers and a customer
    # without one go round robin
    assert owners["Nora"] == owners["Nils"] == teammate
    assert owners["Sam"] == sales_rep
    assert {owners["Wes"], owners["Ned"]} == {sales_rep, teammate}


def test_a_score_under_the_threshold_routes_nothing(lead_form, sales_rep) -> None:
    routing_settings_update(actor=MAINTENANCE, expected_version=None, threshold=50)
    scoring_rule_create(actor=MAINTENANCE, name="Forms", kind="behaviour", event="form_submitted", points=40)
    submission = submit(lead_form, "Una")
    score = score_recompute(actor=SCORING, customer_id=submission.customer_id)
    assert score.score == 40
    assert score.routed_to is None
    assert Lead.objects.get(pk=submission.lead_id).owner is None


def test_bad_routing_settings_are_refused_and_nothing_changes(sales_rep, marketer) -> None:
    before = RoutingSettings.objects.get(pk=1)
    for changes, field in (
        ({"method": "territory", "territory_attribute": ""}, "territory_attribute"),
        ({"method": "territory", "territory_attribute": "nope"}, "territory_attribute"),
        ({"method": "lottery"}, "method"),
        ({"threshold": -1}, "threshold"),
        ({"territories": {"north": marketer.pk}}, "territories.north"),  # not a sales rep
        ({"territories": {"north": "Ann"}}, "territories.north"),
        ({"territories": ["north"]}, "territories"),
    ):
        with pytest.raises(ValidationError) as caught:
            routing_settings_update(actor=MAINTENANCE, expected_version=None, **changes)
        assert field in caught.value.message_dict, (changes, caught.value.message_dict)
    after = RoutingSettings.objects.get(pk=1)
    assert (after.method, after.threshold, after.territories, after.version) == (
        before.method,
        before.threshold,
        before.territories,
        before.version,
    )


def test_admins_configure_routing_through_the_api(admin_user, marketer, sales_rep) -> None:
    from rest_framework.test import APIClient

    CustomFieldDefinition.objects.create(key="region", label="Region", field_type="text")
    api = APIClient()
    api.force_authenticate(admin_user)
    current = api.get("/api/v1/marketing/routing/1/")
    assert current.status_code == 200
    changed = api.patch(
        "/api/v1/marketing/routing/1/",
        {"method": "territory", "territory_attribute": "region", "territories": {"south": sales_rep.pk}},
        format="json",
        HTTP_IF_MATCH=current["ETag"],
    )
    assert changed.status_code == 200, changed.content
    assert changed.json()["territories"] == {"south": sales_rep.pk}
    refused = api.patch(
        "/api/v1/marketing/routing/1/",
        {"method": "territory", "territory_attribute": "nope"},
        format="json",
        HTTP_IF_MATCH=changed["ETag"],
    )
    assert refused.status_code == 400
    api.force_authenticate(marketer)
    assert (
        api.patch(
            "/api/v1/marketing/routing/1/", {"threshold": 1}, format="json", HTTP_IF_MATCH=changed["ETag"]
        ).status_code
        == 403
    )


def test_the_scoring_page_lists_rules_and_admins_configure_routing(
    client: Client, admin_user, marketer, sales_rep
) -> None:
    CustomFieldDefinition.objects.create(key="region", label="Region", field_type="text")
    client.force_login(admin_user)
    page = client.get(reverse("marketing:scoring"))
    assert page.status_code == 200
    assert b'id="routing-form"' in page.content
    added = client.post(
        reverse("marketing:scoring"),
        {
            "form": "rule",
            "name": "Clicks",
            "kind": "behaviour",
            "event": "clicked",
            "points": 15,
            "half_life_days": 20,
        },
    )
    assert added.status_code == 302
    assert ScoringRule.objects.get().points == 15
    version = RoutingSettings.objects.get(pk=1).version
    saved = client.post(
        reverse("marketing:scoring"),
        {
            "form": "routing",
            "version": version,
            "threshold": 40,
            "method": "territory",
            "territory_attribute": "region",
            "territories": f'{{"south": {sales_rep.pk}}}',
        },
    )
    assert saved.status_code == 302
    routing = RoutingSettings.objects.get(pk=1)
    assert (routing.method, routing.threshold, routing.territories) == (
        "territory",
        40,
        {"south": sales_rep.pk},
    )
    refused = client.post(
        reverse("marketing:scoring"),
        {
            "form": "routing",
            "version": routing.version,
            "threshold": 40,
            "method": "territory",
            "territory_attribute": "nope",
        },
    )
    assert refused.status_code == 400
    assert b"No custom attribute has this key." in refused.content
    # a marketer reads the rules but is offered no routing form, and a post is refused
    client.force_login(marketer)
    page = client.get(reverse("marketing:scoring"))
    assert b"Clicks" in page.content
    assert b'id="routing-form"' not in page.content
    denied = client.post(
        reverse("marketing:scoring"),
        {"form": "routing", "version": routing.version, "threshold": 1, "method": "round_robin"},
    )
    assert denied.status_code in (400, 403)
    assert RoutingSettings.objects.get(pk=1).threshold == 40
