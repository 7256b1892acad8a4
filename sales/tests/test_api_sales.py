"""REST API: /api/v1/sales/leads/, opportunities/ and pipelines/: the generic contract,
the actions, permissions per actor, and bad input (400/409, nothing written)."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from rest_framework.test import APIClient

from customers.models import Activity, ContactPoint, Customer
from sales.leads import services as lead_services
from sales.models import Lead, LeadStatus, Opportunity, OpportunityLine, Pipeline, Stage
from sales.pipeline import services as opportunity_services
from sales.pipeline import services_pipelines as pipelines
from sales.tests import factories as f
from tests.api_contract import (
    CreateContract,
    ListContract,
    RetrieveContract,
    VersionedUpdateContract,
    assert_problem,
    send_json,
    snapshot,
)

pytestmark = pytest.mark.django_db

LEADS = "/api/v1/sales/leads/"
OPPS = "/api/v1/sales/opportunities/"
PIPELINES = "/api/v1/sales/pipelines/"
WATCHED = (Lead, Opportunity, OpportunityLine, Customer, ContactPoint, Activity, Pipeline, Stage)
_serial = itertools.count(1)


class TestLeadApiContract(ListContract, RetrieveContract, CreateContract, VersionedUpdateContract):
    list_url = LEADS
    watched_models = WATCHED
    list_query_budget = 6
    detail_query_budget = 6

    @pytest.fixture
    def reader(self, api_as: Callable[[Any], APIClient], marketer: Any) -> APIClient:
        return api_as(marketer)

    @pytest.fixture
    def writer(self, api_as: Callable[[Any], APIClient], sales_rep: Any) -> APIClient:
        return api_as(sales_rep)

    @pytest.fixture
    def outsider(self, api_as: Callable[[Any], APIClient], agent: Any) -> APIClient:
        return api_as(agent)

    @pytest.fixture
    def make_row(self, sales_rep: Any) -> Callable[[], Lead]:
        return lambda: f.lead(sales_rep, last_name=f"Row{next(_serial)}")

    def create_payload(self) -> dict[str, Any]:
        return {"first_name": "Grace", "last_name": "Hopper", "title": "Licences", "email": "G@Example.com"}

    def bad_create_payload(self) -> tuple[dict[str, Any], list[str]]:
        return {"title": "x" * 201, "source": "fax", "campaign_id": 0}, ["title", "source", "campaign_id"]

    def update_payload(self, row: Lead) -> dict[str, Any]:
        return {"notes": "Called back"}

    def bad_update_payload(self, row: Lead) -> tuple[dict[str, Any], list[str]]:
        return {"email": "nope", "owner": "me"}, ["owner"]

    # A reader (marketing) may add leads but not change them.
    def test_update_is_refused_to_a_reader(self, reader: Any, make_row: Callable[[], Any]) -> None:
        row = make_row()
        etag = reader.get(self.detail_url(row))["ETag"]
        response = send_json(reader, "patch", self.detail_url(row), {"notes": "x"}, HTTP_IF_MATCH=etag)
        assert_problem(response, 403)

    # Marketing reads leads and may add them (they go to the unassigned pool).
    def test_create_is_refused_to_a_reader(self, reader: Any) -> None:
        response = send_json(reader, "post", self.list_url, self.create_payload())
        assert response.status_code == 201
        assert response.json()["owner"] is None


class TestOpportunityApiContract(ListContract, RetrieveContract, CreateContract, VersionedUpdateContract):
    list_url = OPPS
    watched_models = WATCHED
    # token + 2 permission lookups + rows (customer, owner, stage, pipeline joined) + lines
    list_query_budget = 6
    detail_query_budget = 6

    @pytest.fixture
    def reader(self, api_as: Callable[[Any], APIClient], agent: Any) -> APIClient:
        return api_as(agent)

    @pytest.fixture
    def writer(self, api_as: Callable[[Any], APIClient], sales_rep: Any) -> APIClient:
        return api_as(sales_rep)

    @pytest.fixture
    def outsider(self, api_as: Callable[[Any], APIClient], back_office: Any) -> APIClient:
        return api_as(back_office)

    @pytest.fixture
    def the_customer(self, sales_rep: Any) -> Customer:
        return f.customer(sales_rep)

    @pytest.fixture
    def make_row(self, sales_rep: Any, the_customer: Customer) -> Callable[[], Opportunity]:
        return lambda: f.opportunity(sales_rep, the_customer, name=f"Deal {next(_serial)}")

    @pytest.fixture
    def make_rich_row(self, sales_rep: Any, the_customer: Customer) -> Callable[[], Opportunity]:
        f.product("RICH-1")
        return lambda: f.opportunity(
            sales_rep, the_customer, name=f"Deal {next(_serial)}", lines=[{"sku": "RICH-1", "quantity": 2}]
        )

    @pytest.fixture(autouse=True)
    def _customer_for_payloads(self, the_customer: Customer) -> None:
        self.customer_id = the_customer.pk

    def create_payload(self) -> dict[str, Any]:
        return {"customer": self.customer_id, "name": "New deal", "amount": "1200.50", "currency": "USD"}

    def bad_create_payload(self) -> tuple[dict[str, Any], list[str]]:
        return (
            {"customer": self.customer_id, "name": "", "amount": "-5", "currency": "euro"},
            ["name", "amount", "currency"],
        )

    def update_payload(self, row: Opportunity) -> dict[str, Any]:
        return {"next_step": "Send the proposal"}

    def bad_update_payload(self, row: Opportunity) -> tuple[dict[str, Any], list[str]]:
        return {"amount": "-1", "currency": "eur"}, ["amount", "currency"]


# --- leads: actions -----------------------------------------------------------------------


def test_convert_with_duplicates_is_409_with_the_candidates_and_writes_nothing(api_as, sales_rep):
    # given
    existing = f.customer(
        sales_rep, "Hopper Labs", contact_points=[{"kind": "email", "value": "g@hopper.example"}]
    )
    lead = f.lead(sales_rep, organisation_name="Hopper Labs", email="g@hopper.example")
    client = api_as(sales_rep)
    before = snapshot(*WATCHED)
    # when
    response = send_json(client, "post", f"{LEADS}{lead.pk}/convert/", {})
    # then
    body = assert_problem(response, 409, "customer")
    assert [c["id"] for c in body["candidates"]] == [existing.pk]
    assert "same email g@hopper.example" in body["candidates"][0]["reasons"]
    assert snapshot(*WATCHED) == before
    # and an explicit choice converts
    response = send_json(
        client, "post", f"{LEADS}{lead.pk}/convert/", {"customer": existing.pk, "amount": "500"}
    )
    assert response.status_code == 200, response.json()
    assert response.json()["lead"]["status"] == LeadStatus.CONVERTED
    assert response.json()["opportunity"]["customer"] == existing.pk
    assert response.json()["opportunity"]["amount"] == "500.00"


def test_convert_with_create_customer_makes_a_new_one(api_as, sales_rep):
    f.customer(sales_rep, "Hopper Labs")
    lead = f.lead(sales_rep, organisation_name="Hopper Labs")
    response = send_json(api_as(sales_rep), "post", f"{LEADS}{lead.pk}/convert/", {"create_customer": True})
    assert response.status_code == 200
    assert Customer.objects.filter(organisation_name="Hopper Labs").count() == 2


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"customer": 987654}, 400, "customer"),
        ({"customer": 1, "create_customer": True}, 400, "customer"),
        ({"currency": "eur", "create_customer": True}, 400, "currency"),
        ({"amount": "-3", "create_customer": True}, 400, "amount"),
        ({"surprise": 1}, 400, "surprise"),
    ],
)
def test_convert_with_bad_input_writes_nothing(api_as, sales_rep, body, status, field):
    lead = f.lead(sales_rep)
    before = snapshot(*WATCHED)
    response = send_json(api_as(sales_rep), "post", f"{LEADS}{lead.pk}/convert/", body)
    assert_problem(response, status, field)
    assert snapshot(*WATCHED) == before


def test_converting_twice_and_qualifying_a_converted_lead_are_409(api_as, sales_rep):
    lead = f.lead(sales_rep)
    client = api_as(sales_rep)
    assert (
        send_json(client, "post", f"{LEADS}{lead.pk}/convert/", {"create_customer": True}).status_code == 200
    )
    before = snapshot(*WATCHED)
    assert_problem(send_json(client, "post", f"{LEADS}{lead.pk}/convert/", {"create_customer": True}), 409)
    assert_problem(send_json(client, "post", f"{LEADS}{lead.pk}/qualify/", {}), 409)
    assert_problem(send_json(client, "post", f"{LEADS}{lead.pk}/disqualify/", {"reason": "x"}), 409)
    assert snapshot(*WATCHED) == before


def test_disqualify_needs_a_reason_and_qualify_honours_if_match(api_as, sales_rep):
    lead = f.lead(sales_rep)
    client = api_as(sales_rep)
    assert_problem(send_json(client, "post", f"{LEADS}{lead.pk}/disqualify/", {"reason": ""}), 400, "reason")
    assert_problem(send_json(client, "post", f"{LEADS}{lead.pk}/qualify/", {}, HTTP_IF_MATCH='"9"'), 412)
    response = send_json(client, "post", f"{LEADS}{lead.pk}/qualify/", {}, HTTP_IF_MATCH='"1"')
    assert response.status_code == 200
    assert response.json()["status"] == LeadStatus.QUALIFIED
    assert response["ETag"] == '"2"'


def test_another_teams_rep_cannot_work_a_lead_and_marketing_cannot_qualify(
    api_as, sales_rep, other_rep, marketer
):
    lead = f.lead(sales_rep)
    assert_problem(send_json(api_as(other_rep), "post", f"{LEADS}{lead.pk}/qualify/", {}), 403)
    assert_problem(send_json(api_as(marketer), "post", f"{LEADS}{lead.pk}/qualify/", {}), 403)
    assert_problem(send_json(api_as(marketer), "post", f"{LEADS}{lead.pk}/convert/", {}), 403)


def test_the_lead_list_filters_by_status_and_campaign(api_as, sales_rep):
    a = f.lead(sales_rep, campaign_id=5)
    f.lead(sales_rep)
    lead_services.lead_qualify(actor=sales_rep, lead_id=a.pk)
    client = api_as(sales_rep)
    assert [r["id"] for r in client.get(f"{LEADS}?status=qualified").json()["results"]] == [a.pk]
    assert [r["id"] for r in client.get(f"{LEADS}?campaign_id=5").json()["results"]] == [a.pk]
    assert_problem(client.get(f"{LEADS}?status=nope"), 400, "status")


# --- opportunities: actions and filters ----------------------------------------------------


def test_move_win_and_lose(api_as, sales_rep):
    opp = f.opportunity(sales_rep)
    client = api_as(sales_rep)
    response = send_json(client, "post", f"{OPPS}{opp.pk}/move/", {"stage": f.stage("Proposal").pk})
    assert response.status_code == 200
    assert (response.json()["stage_name"], response.json()["probability"]) == ("Proposal", 50)
    assert response.json()["weighted_amount"] == "500.00"
    assert_problem(send_json(client, "post", f"{OPPS}{opp.pk}/lose/", {}), 400, "reason")
    response = send_json(client, "post", f"{OPPS}{opp.pk}/lose/", {"reason": "Price"})
    assert (response.json()["status"], response.json()["lost_reason"]) == ("lost", "Price")
    assert response.json()["closed_at"]
    response = send_json(client, "post", f"{OPPS}{opp.pk}/win/", {})
    assert (response.json()["status"], response.json()["lost_reason"]) == ("won", "")
    assert_problem(send_json(client, "post", f"{OPPS}{opp.pk}/win/", {}), 409)


def test_move_to_a_stage_of_another_pipeline_is_400_and_writes_nothing(api_as, sales_rep, admin_user):
    other = pipelines.pipeline_create(
        actor=admin_user, name="Renewals", stages=[{"name": "Open", "probability": 5}]
    )
    opp = f.opportunity(sales_rep)
    client = api_as(sales_rep)
    before = snapshot(*WATCHED)
    body = assert_problem(
        send_json(client, "post", f"{OPPS}{opp.pk}/move/", {"stage": other.stages.get().pk}), 400, "stage"
    )
    assert body["errors"]["stage"] == ["This stage belongs to another pipeline."]
    response = send_json(
        client,
        "post",
        OPPS,
        {
            "customer": opp.customer_id,
            "name": "X",
            "pipeline": Pipeline.objects.get(is_default=True).pk,
            "stage": other.stages.get().pk,
        },
    )
    assert_problem(response, 400, "stage")
    assert_problem(send_json(client, "post", OPPS, {"customer": 987654, "name": "X"}), 400, "customer")
    assert_problem(
        send_json(client, "post", f"{OPPS}{opp.pk}/move/", {"stage": f.stage("Lost").pk}), 400, "reason"
    )
    assert snapshot(*WATCHED) == before


def test_reps_cannot_move_another_teams_opportunity_but_admins_can(
    api_as, sales_rep, other_rep, teammate, admin_user
):
    opp = f.opportunity(sales_rep)
    stage = f.stage("Proposal").pk
    assert_problem(send_json(api_as(other_rep), "post", f"{OPPS}{opp.pk}/move/", {"stage": stage}), 403)
    assert send_json(api_as(teammate), "post", f"{OPPS}{opp.pk}/move/", {"stage": stage}).status_code == 200
    assert send_json(api_as(admin_user), "post", f"{OPPS}{opp.pk}/win/", {}).status_code == 200


def test_service_roles_only_read_opportunities(api_as, sales_rep, agent):
    opp = f.opportunity(sales_rep)
    client = api_as(agent)
    assert client.get(f"{OPPS}{opp.pk}/").status_code == 200
    assert_problem(send_json(client, "post", f"{OPPS}{opp.pk}/win/", {}), 403)
    assert_problem(send_json(client, "post", OPPS, {"customer": opp.customer_id, "name": "X"}), 403)


def test_opportunity_filters(api_as, sales_rep, teammate):
    import datetime as dt

    customer = f.customer(sales_rep)
    small = f.opportunity(sales_rep, customer, amount=Decimal("100"), expected_close_date=dt.date(2026, 3, 5))
    big = f.opportunity(teammate, amount=Decimal("9000"), expected_close_date=dt.date(2026, 5, 1))
    opportunity_services.opportunity_move(
        actor=sales_rep, opportunity_id=big.pk, stage=f.stage("Proposal").pk
    )
    client = api_as(sales_rep)

    def ids(query: str) -> set[int]:
        response = client.get(f"{OPPS}?{query}")
        assert response.status_code == 200, response.json()
        return {r["id"] for r in response.json()["results"]}

    assert ids(f"stage={f.stage('Proposal').pk}") == {big.pk}
    assert ids(f"owner={sales_rep.pk}") == {small.pk}
    assert ids(f"customer={customer.pk}") == {small.pk}
    assert ids("close_after=2026-04-01") == {big.pk}
    assert ids("close_before=2026-04-01") == {small.pk}
    assert ids("close_month=2026-03") == {small.pk}
    assert ids("amount_min=1000") == {big.pk}
    assert ids("amount_max=1000") == {small.pk}
    assert [r["id"] for r in client.get(f"{OPPS}?ordering=-amount").json()["results"]] == [big.pk, small.pk]
    for bad in ("amount_min=-1", "amount_max=1e400", "close_month=2026-13", "stage=abc", "ordering=secret"):
        assert_problem(client.get(f"{OPPS}?{bad}"), 400, bad.split("=")[0])


# --- pipelines ---------------------------------------------------------------------------


def test_everyone_in_sales_reads_pipelines_and_only_admins_write(api_as, sales_rep, admin_user):
    response = api_as(sales_rep).get(PIPELINES)
    assert response.status_code == 200
    default = response.json()[0]
    assert [s["name"] for s in default["stages"]][:2] == ["Prospecting", "Qualification"]
    body = {
        "name": "Renewals",
        "stages": [
            {"name": "Due", "probability": 40},
            {"name": "Renewed", "probability": 100, "kind": "won"},
        ],
    }
    assert_problem(send_json(api_as(sales_rep), "post", PIPELINES, body), 403)
    response = send_json(api_as(admin_user), "post", PIPELINES, body)
    assert response.status_code == 201, response.json()
    pipeline_id = response.json()["id"]
    stages = response.json()["stages"]
    response = send_json(
        api_as(admin_user),
        "patch",
        f"{PIPELINES}{pipeline_id}/",
        {"stages": [{**stages[0], "probability": 60}, stages[1]]},
        HTTP_IF_MATCH=response["ETag"],
    )
    assert response.status_code == 200, response.json()
    assert response.json()["stages"][0]["probability"] == 60


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "P", "stages": []}, "stages"),
        ({"name": "P", "stages": [{"name": "A", "probability": 101}]}, "stages.0.probability"),
        ({"name": "P", "stages": [{"name": "A", "probability": 5, "kind": "maybe"}]}, "stages.0.kind"),
        ({"name": "P", "stages": [{"name": "A", "probability": 5, "kind": "won"}]}, "stages"),
        ({"name": "Sales", "stages": [{"name": "A", "probability": 5}]}, "name"),
    ],
)
def test_bad_pipeline_config_is_400_and_writes_nothing(api_as, admin_user, body, field):
    before = snapshot(Pipeline, Stage)
    assert_problem(send_json(api_as(admin_user), "post", PIPELINES, body), 400, field)
    assert snapshot(Pipeline, Stage) == before


@pytest.mark.parametrize("count", [0, 300])
def test_the_opportunity_list_runs_a_bounded_number_of_queries(
    api_as, sales_rep, count, django_assert_max_num_queries
):
    # given: many opportunities, each with a product line
    customer = f.customer(sales_rep)
    pipeline = f.default_pipeline()
    stage = pipeline.stages.order_by("order").first()
    opportunities = Opportunity.objects.bulk_create(
        Opportunity(
            customer=customer,
            owner=sales_rep,
            name=f"Deal {n}",
            amount=Decimal(n),
            currency="EUR",
            pipeline=pipeline,
            stage=stage,
        )
        for n in range(count)
    )
    OpportunityLine.objects.bulk_create(
        OpportunityLine(opportunity=o, sku="W-1", quantity=1, unit_price=Decimal(1)) for o in opportunities
    )
    client = api_as(sales_rep)
    # when / then: token, 2 permission lookups, the page, its lines
    with django_assert_max_num_queries(6):
        response = client.get(f"{OPPS}?page_size=200&stage={stage.pk}")
    assert response.status_code == 200
    assert len(response.json()["results"]) == min(count, 200)


@pytest.mark.parametrize("url", [LEADS, OPPS, PIPELINES])
def test_someone_without_a_sales_role_is_refused_everything(api_as, nobody, back_office, url):
    assert_problem(api_as(nobody).get(url), 403)
    assert_problem(send_json(api_as(nobody), "post", url, {}), 403)
    if url != OPPS:
        assert_problem(api_as(back_office).get(url), 403)


def test_deleting_a_customer_erases_their_leads_and_opportunities(api_as, sales_rep, admin_user):
    # given
    opp = f.opportunity(sales_rep)
    lead = f.lead(sales_rep)
    lead_services.lead_convert(actor=sales_rep, lead_id=lead.pk, customer=opp.customer_id)
    # when
    response = api_as(admin_user).delete(f"/api/v1/customers/{opp.customer_id}/")
    # then
    assert response.status_code == 204
    assert not Opportunity.objects.exists()
    assert not Lead.objects.exists()
