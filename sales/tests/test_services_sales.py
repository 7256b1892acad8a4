from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from customers.merge import customer_merge
from customers.models import Activity, Customer
from frontoffice.errors import Conflict, StaleVersion
from sales.leads import services as lead_services
from sales.models import Lead, LeadStatus, Opportunity, OpportunityLine, OpportunityStatus, Pipeline, Stage
from sales.pipeline import services as opportunity_services
from sales.pipeline import services_pipelines as pipelines
from sales.tests import factories as f

pytestmark = pytest.mark.django_db


def test_the_default_pipeline_has_the_standard_stages():
    # given / when
    pipeline = Pipeline.objects.get(is_default=True)
    # then
    assert [(s.name, s.probability, s.kind) for s in pipeline.stages.order_by("order")] == [
        ("Prospecting", 10, "open"),
        ("Qualification", 25, "open"),
        ("Proposal", 50, "open"),
        ("Negotiation", 75, "open"),
        ("Won", 100, "won"),
        ("Lost", 0, "lost"),
    ]


# --- leads --------------------------------------------------------------------------


def test_a_reps_lead_is_theirs_and_a_marketers_lead_goes_to_the_pool(sales_rep, marketer):
    # when
    mine = f.lead(sales_rep, email=" Grace@Example.COM ", phone="020 7946 0000")
    pooled = f.lead(marketer, source="marketing_form", campaign_id=7)
    # then
    assert mine.owner == sales_rep
    assert (mine.email, mine.phone) == ("grace@example.com", "+442079460000")
    assert pooled.owner is None
    assert pooled.campaign_id == 7


def test_it_refuses_a_lead_without_a_name_or_with_a_bad_email(sales_rep):
    with pytest.raises(ValidationError) as error:
        lead_services.lead_create(actor=sales_rep, title="x", email="not-an-email")
    assert set(error.value.message_dict) == {"email", "last_name"}
    assert Lead.objects.count() == 0


def test_disqualifying_needs_a_reason_and_qualifying_clears_it(sales_rep):
    # given
    lead = f.lead(sales_rep)
    # when / then
    with pytest.raises(ValidationError) as error:
        lead_services.lead_disqualify(actor=sales_rep, lead_id=lead.pk, reason="  ")
    assert "reason" in error.value.message_dict
    lead = lead_services.lead_disqualify(actor=sales_rep, lead_id=lead.pk, reason="No budget")
    assert (lead.status, lead.disqualified_reason) == (LeadStatus.DISQUALIFIED, "No budget")
    lead = lead_services.lead_qualify(actor=sales_rep, lead_id=lead.pk)
    assert (lead.status, lead.disqualified_reason) == (LeadStatus.QUALIFIED, "")


def test_a_rep_cannot_work_another_teams_lead_but_can_pick_up_an_unassigned_one(
    sales_rep, other_rep, marketer
):
    # given
    theirs = f.lead(other_rep)
    pooled = f.lead(marketer)
    # when / then
    with pytest.raises(PermissionDenied):
        lead_services.lead_qualify(actor=sales_rep, lead_id=theirs.pk)
    assert lead_services.lead_qualify(actor=sales_rep, lead_id=pooled.pk).owner == sales_rep


def test_converting_without_duplicates_creates_customer_and_opportunity(sales_rep):
    # given
    lead = f.lead(sales_rep, organisation_name="Hopper Labs", email="grace@hopper.example", campaign_id=3)
    # when
    opp = lead_services.lead_convert(actor=sales_rep, lead_id=lead.pk)
    # then
    lead.refresh_from_db()
    assert lead.status == LeadStatus.CONVERTED
    assert lead.customer == opp.customer
    assert opp.customer.display_name == "Hopper Labs"
    assert (opp.source_lead, opp.campaign_id, opp.owner) == (lead, 3, sales_rep)
    assert opp.stage.name == "Prospecting"
    assert Activity.objects.filter(customer=opp.customer, source_app="sales", kind="lead_converted").exists()


def test_converting_a_person_at_a_company_keeps_the_person_as_its_primary_contact(sales_rep):
    # given: Grace Hopper of Hopper Labs asked, with her e-mail, phone and a consent
    lead = f.lead(
        sales_rep, organisation_name="Hopper Labs", email="grace@hopper.example", phone="+44 20 7946 0000"
    )
    Lead.objects.filter(pk=lead.pk).update(
        consents=[{"channel": "email", "purpose": "marketing", "granted": True}]
    )
    # when
    opp = lead_services.lead_convert(actor=sales_rep, lead_id=lead.pk)
    # then: the opportunity is the organisation's; the person is created and related
    organisation = opp.customer
    assert (organisation.kind, organisation.display_name) == ("organisation", "Hopper Labs")
    person = Customer.objects.get(kind="person")
    assert (person.first_name, person.last_name) == ("Grace", "Hopper")
    member = organisation.members.get()
    assert (member.person, member.is_primary_contact) == (person, True)
    # her e-mail, phone and consent are hers, not the company's
    assert sorted(person.contact_points.values_list("value", flat=True)) == [
        "+442079460000",
        "grace@hopper.example",
    ]
    assert not organisation.contact_points.exists()
    assert person.consent_events.get().granted is True
    assert person.owner == organisation.owner == sales_rep


def test_converting_a_company_lead_without_a_person_creates_the_organisation_alone(sales_rep):
    lead = f.lead(
        sales_rep, organisation_name="Hopper Labs", first_name="", last_name="", email="info@hopper.example"
    )
    opp = lead_services.lead_convert(actor=sales_rep, lead_id=lead.pk)
    assert opp.customer.contact_points.get().value == "info@hopper.example"
    assert not Customer.objects.filter(kind="person").exists()


def test_converting_a_lead_that_looks_like_a_customer_needs_a_choice(sales_rep):
    # given
    existing = f.customer(
        sales_rep, "Hopper Labs", contact_points=[{"kind": "email", "value": "g@hopper.example"}]
    )
    lead = f.lead(sales_rep, organisation_name="Hopper Labs Ltd", email="G@hopper.example")
    # when
    with pytest.raises(lead_services.DuplicateCandidates) as error:
        lead_services.lead_convert(actor=sales_rep, lead_id=lead.pk)
    # then: nothing written, the candidate named
    assert [c.customer for c in error.value.candidates] == [existing]
    assert "same email g@hopper.example" in error.value.candidates[0].reasons
    assert Opportunity.objects.count() == 0
    assert Customer.objects.count() == 1
    # and choosing it converts onto it
    opp = lead_services.lead_convert(actor=sales_rep, lead_id=lead.pk, customer=existing.pk)
    assert opp.customer == existing


def test_explicitly_creating_a_new_customer_ignores_similar_names(sales_rep):
    # given
    f.customer(sales_rep, "Hopper Labs")
    lead = f.lead(sales_rep, organisation_name="Hopper Labs")
    # when
    opp = lead_services.lead_convert(actor=sales_rep, lead_id=lead.pk, create_customer=True)
    # then
    assert Customer.objects.filter(organisation_name="Hopper Labs").count() == 2
    assert opp.customer.pk != Customer.objects.order_by("id").first().pk


def test_converting_twice_or_qualifying_a_converted_lead_is_a_conflict(sales_rep):
    # given
    lead = f.lead(sales_rep)
    lead_services.lead_convert(actor=sales_rep, lead_id=lead.pk, create_customer=True)
    # when / then
    with pytest.raises(lead_services.LeadConverted):
        lead_services.lead_convert(actor=sales_rep, lead_id=lead.pk, create_customer=True)
    with pytest.raises(lead_services.LeadConverted):
        lead_services.lead_qualify(actor=sales_rep, lead_id=lead.pk)
    assert Opportunity.objects.count() == 1


def test_converting_onto_an_unknown_customer_writes_nothing(sales_rep):
    lead = f.lead(sales_rep)
    with pytest.raises(ValidationError) as error:
        lead_services.lead_convert(actor=sales_rep, lead_id=lead.pk, customer=999999)
    assert error.value.message_dict == {"customer": ["No such customer."]}
    lead.refresh_from_db()
    assert lead.status == LeadStatus.NEW
    assert Customer.objects.count() == 0


# --- opportunities -----------------------------------------------------------------------


def test_an_opportunity_starts_in_the_first_open_stage_of_the_default_pipeline(sales_rep):
    opp = f.opportunity(sales_rep)
    assert (opp.pipeline.is_default, opp.stage.name, opp.status, opp.owner) == (
        True,
        "Prospecting",
        OpportunityStatus.OPEN,
        sales_rep,
    )
    assert opp.weighted_amount == Decimal("100.00")


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"amount": Decimal("-1")}, "amount"),
        ({"currency": "euro"}, "currency"),
        ({"name": ""}, "name"),
        ({"campaign_id": -3}, "campaign_id"),
    ],
)
def test_it_refuses_bad_opportunity_input_and_writes_nothing(sales_rep, fields, field):
    customer = f.customer(sales_rep)
    with pytest.raises(ValidationError) as error:
        f.opportunity(sales_rep, customer, **fields)
    assert field in error.value.message_dict
    assert Opportunity.objects.count() == 0


def test_it_refuses_a_stage_of_another_pipeline(admin_user, sales_rep):
    # given
    other = pipelines.pipeline_create(
        actor=admin_user, name="Renewals", stages=[{"name": "Open", "probability": 50}]
    )
    # when
    with pytest.raises(ValidationError) as error:
        f.opportunity(sales_rep, stage=other.stages.get().pk)
    # then
    assert error.value.message_dict == {"stage": ["This stage belongs to another pipeline."]}
    opp = f.opportunity(sales_rep)
    with pytest.raises(ValidationError):
        opportunity_services.opportunity_move(
            actor=sales_rep, opportunity_id=opp.pk, stage=other.stages.get().pk
        )


def test_lines_reference_catalogue_skus_and_make_the_amount(sales_rep):
    # given
    f.product("W-1", "10.00")
    # when
    opp = opportunity_services.opportunity_create(
        actor=sales_rep, customer=f.customer(sales_rep), name="Widgets", lines=[{"sku": "W-1", "quantity": 3}]
    )
    # then
    assert opp.amount == Decimal("30.00")
    assert OpportunityLine.objects.get().unit_price == Decimal("10.00")
    with pytest.raises(ValidationError) as error:
        opportunity_services.opportunity_update(
            actor=sales_rep,
            opportunity_id=opp.pk,
            expected_version=opp.version,
            lines=[{"sku": "NOPE", "quantity": 1}, {"sku": "W-1", "quantity": 0}],
        )
    assert set(error.value.message_dict) == {"lines.0.sku", "lines.1.quantity"}
    assert OpportunityLine.objects.count() == 1


def test_moving_stages_winning_and_losing_land_on_the_timeline(sales_rep):
    # given
    opp = f.opportunity(sales_rep)
    # when
    opportunity_services.opportunity_move(
        actor=sales_rep, opportunity_id=opp.pk, stage=f.stage("Proposal").pk
    )
    won = opportunity_services.opportunity_win(actor=sales_rep, opportunity_id=opp.pk)
    # then
    assert (won.status, won.stage.name) == (OpportunityStatus.WON, "Won")
    assert won.closed_at is not None
    with pytest.raises(ValidationError) as error:
        opportunity_services.opportunity_lose(actor=sales_rep, opportunity_id=opp.pk, reason="")
    assert "reason" in error.value.message_dict
    lost = opportunity_services.opportunity_lose(
        actor=sales_rep, opportunity_id=opp.pk, reason="Went with a rival"
    )
    assert (lost.status, lost.lost_reason, lost.stage.name) == (
        OpportunityStatus.LOST,
        "Went with a rival",
        "Lost",
    )
    kinds = list(
        Activity.objects.filter(customer=opp.customer, source_app="sales")
        .order_by("id")
        .values_list("kind", flat=True)
    )
    assert kinds == ["opportunity_created", "opportunity_stage", "opportunity_won", "opportunity_lost"]


def test_moving_to_the_lost_stage_needs_a_reason(sales_rep):
    opp = f.opportunity(sales_rep)
    with pytest.raises(ValidationError) as error:
        opportunity_services.opportunity_move(
            actor=sales_rep, opportunity_id=opp.pk, stage=f.stage("Lost").pk
        )
    assert "reason" in error.value.message_dict
    opp.refresh_from_db()
    assert opp.status == OpportunityStatus.OPEN


def test_reps_edit_their_own_and_their_teams_opportunities_and_admins_all(
    sales_rep, teammate, other_rep, admin_user
):
    # given
    opp = f.opportunity(sales_rep)
    # when / then
    opportunity_services.opportunity_move(actor=teammate, opportunity_id=opp.pk, stage=f.stage("Proposal").pk)
    with pytest.raises(PermissionDenied):
        opportunity_services.opportunity_move(
            actor=other_rep, opportunity_id=opp.pk, stage=f.stage("Negotiation").pk
        )
    opportunity_services.opportunity_move(
        actor=admin_user, opportunity_id=opp.pk, stage=f.stage("Negotiation").pk
    )


def test_a_stale_version_is_refused(sales_rep):
    opp = f.opportunity(sales_rep)
    opportunity_services.opportunity_update(
        actor=sales_rep, opportunity_id=opp.pk, expected_version=1, next_step="Call"
    )
    with pytest.raises(StaleVersion):
        opportunity_services.opportunity_update(
            actor=sales_rep, opportunity_id=opp.pk, expected_version=1, next_step="Mail"
        )


def test_a_merge_repoints_opportunities_and_leads(sales_rep, admin_user):
    # given
    survivor = f.customer(admin_user, "Acme")
    duplicate = f.customer(sales_rep, "Acme Inc")  # the rep's account: they open deals on it
    opp = f.opportunity(sales_rep, duplicate)
    lead = f.lead(sales_rep)
    lead_services.lead_convert(actor=sales_rep, lead_id=lead.pk, customer=duplicate.pk)
    # when
    customer_merge(actor=admin_user, survivor_id=survivor.pk, duplicate_id=duplicate.pk)
    # then
    opp.refresh_from_db()
    lead.refresh_from_db()
    assert opp.customer == survivor
    assert lead.customer == survivor


def test_admins_replace_stages_but_not_one_that_still_has_opportunities(admin_user, sales_rep):
    # given
    pipeline = pipelines.pipeline_create(
        actor=admin_user,
        name="Renewals",
        stages=[{"name": "Open", "probability": 20}, {"name": "Done", "probability": 100, "kind": "won"}],
    )
    first, done = pipeline.stages.order_by("order")
    # when: swap the order, change a probability, add one
    pipelines.pipeline_update(
        actor=admin_user,
        pipeline_id=pipeline.pk,
        expected_version=1,
        stages=[
            {"id": done.pk, "name": "Done", "probability": 100, "kind": "won", "order": 10},
            {"id": first.pk, "name": "Open", "probability": 30, "order": 5},
            {"name": "Lost", "probability": 0, "kind": "lost", "order": 20},
        ],
    )
    # then
    assert [(s.name, s.probability) for s in pipeline.stages.order_by("order")] == [
        ("Open", 30),
        ("Done", 100),
        ("Lost", 0),
    ]
    f.opportunity(sales_rep, pipeline=pipeline.pk)
    with pytest.raises(Conflict):
        pipelines.pipeline_update(
            actor=admin_user,
            pipeline_id=pipeline.pk,
            expected_version=2,
            stages=[{"name": "Other", "probability": 5}],
        )
    assert Stage.objects.filter(pipeline=pipeline).count() == 3
    with pytest.raises(PermissionDenied):
        pipelines.pipeline_create(actor=sales_rep, name="Mine", stages=[{"name": "A", "probability": 1}])
