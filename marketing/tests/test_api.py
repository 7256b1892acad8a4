"""The marketing API: the generic contract for segments and campaigns, previews, state
actions with If-Match, members, lead forms, scoring rules, attribution and bounces."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import pytest

from frontoffice.actors import MAINTENANCE
from marketing.campaigns.launch import campaign_launch
from marketing.models import Campaign, CampaignMember, LeadForm, ScoringRule, Segment
from marketing.segments.services import segment_create
from marketing.tests.conftest import a_person, written
from marketing.tests.test_campaigns import a_campaign
from tests.api_contract import (
    CreateContract,
    ListContract,
    RetrieveContract,
    VersionedUpdateContract,
    assert_problem,
    send_json,
)
from tests.fixtures import client_for

pytestmark = pytest.mark.django_db
SEGMENTS = "/api/v1/marketing/segments/"
CAMPAIGNS = "/api/v1/marketing/campaigns/"
names = itertools.count()


class MarketingClients:
    @pytest.fixture
    def reader(self, sales_manager: Any) -> Any:
        return client_for(sales_manager)  # reads segments and campaigns, changes neither

    @pytest.fixture
    def writer(self, marketer: Any) -> Any:
        return client_for(marketer)

    @pytest.fixture
    def outsider(self, agent: Any) -> Any:
        return client_for(agent)


class TestSegmentApi(
    MarketingClients, ListContract, RetrieveContract, CreateContract, VersionedUpdateContract
):
    list_url = SEGMENTS
    watched_models = (Segment,)
    list_query_budget = 6
    detail_query_budget = 6

    @pytest.fixture
    def make_row(self) -> Callable[[], Segment]:
        return lambda: segment_create(actor=MAINTENANCE, name=f"Seg {next(names)}", rules={})

    def create_payload(self) -> dict[str, Any]:
        return {"name": "VIPs", "rules": {"field": "tag", "op": "has", "value": "vip"}}

    def bad_create_payload(self) -> tuple[dict[str, Any], list[str]]:
        return {"name": "Bad", "rules": {"all": [{"field": "tag", "op": "gt", "value": 1}]}}, [
            "rules.all.0.op"
        ]

    def update_payload(self, row: Any) -> dict[str, Any]:
        return {"name": f"Renamed {next(names)}"}

    def bad_update_payload(self, row: Any) -> tuple[dict[str, Any], list[str]]:
        return {"rules": {"field": "nope"}}, ["rules.field"]


class TestCampaignApi(
    MarketingClients, ListContract, RetrieveContract, CreateContract, VersionedUpdateContract
):
    list_url = CAMPAIGNS
    watched_models = (Campaign,)
    list_query_budget = 6
    detail_query_budget = 6

    @pytest.fixture
    def make_row(self) -> Callable[[], Campaign]:
        return lambda: a_campaign()

    def create_payload(self) -> dict[str, Any]:
        return {
            "name": "Spring",
            "budget": "100.00",
            "currency": "EUR",
            "subject_template": "Hi {{ first_name }}",
        }

    def bad_create_payload(self) -> tuple[dict[str, Any], list[str]]:
        return {"name": "Bad", "subject_template": "{{ nope }}", "currency": "eur"}, [
            "subject_template",
            "currency",
        ]

    def update_payload(self, row: Any) -> dict[str, Any]:
        return {"name": f"Renamed {next(names)}"}

    def bad_update_payload(self, row: Any) -> tuple[dict[str, Any], list[str]]:
        return {"segment": 999999}, ["segment"]


def test_preview_counts_saved_or_sent_rules(marketer) -> None:
    a_person("Ann", tags=["VIP"])
    a_person("Bob")
    segment = segment_create(actor=MAINTENANCE, name="All", rules={})
    client = client_for(marketer)
    response = send_json(client, "POST", f"{SEGMENTS}{segment.pk}/preview/", {})
    assert response.status_code == 200
    assert response.json()["count"] == 2
    response = send_json(
        client,
        "POST",
        f"{SEGMENTS}{segment.pk}/preview/",
        {"rules": {"field": "tag", "op": "has", "value": "vip"}},
    )
    assert response.json()["count"] == 1
    assert [r["display_name"] for r in response.json()["sample"]] == ["Ann Test"]
    response = send_json(
        client, "POST", f"{SEGMENTS}{segment.pk}/preview/", {"rules": {"field": "x", "op": "eq"}}
    )
    assert_problem(response, 400, "rules.field")


def test_fields_lists_the_catalogue(marketer) -> None:
    response = client_for(marketer).get(f"{SEGMENTS}fields/")
    assert response.status_code == 200
    assert "lifetime_order_value" in {f["field"] for f in response.json()}


def test_launch_and_cancel_with_if_match(marketer) -> None:
    a_person("Ann")
    campaign = a_campaign()
    client = client_for(marketer)
    stale = send_json(client, "POST", f"{CAMPAIGNS}{campaign.pk}/launch/", {}, HTTP_IF_MATCH='"99"')
    assert_problem(stale, 412)
    response = send_json(
        client, "POST", f"{CAMPAIGNS}{campaign.pk}/launch/", {}, HTTP_IF_MATCH=f'"{campaign.version}"'
    )
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "running"
    written(Campaign.objects.get(pk=campaign.pk))  # as the sending's first batch does
    members = client.get(f"{CAMPAIGNS}{campaign.pk}/members/?status=pending")
    assert [m["customer_name"] for m in members.json()["results"]] == ["Ann Test"]
    again = send_json(client, "POST", f"{CAMPAIGNS}{campaign.pk}/launch/", {})
    assert_problem(again, 409)
    cancelled = send_json(client, "POST", f"{CAMPAIGNS}{campaign.pk}/cancel/", {})
    assert cancelled.json()["status"] == "cancelled"


def test_schedule_needs_a_future_start(marketer) -> None:
    campaign = a_campaign()
    response = send_json(
        client_for(marketer),
        "POST",
        f"{CAMPAIGNS}{campaign.pk}/schedule/",
        {"starts_at": "2000-01-01T00:00:00Z"},
    )
    assert_problem(response, 400, "starts_at")
    assert Campaign.objects.get(pk=campaign.pk).status == "draft"


def test_a_sales_rep_reads_campaigns_but_cannot_launch(sales_rep) -> None:
    campaign = a_campaign()
    client = client_for(sales_rep)
    assert client.get(CAMPAIGNS).status_code == 200
    assert send_json(client, "POST", f"{CAMPAIGNS}{campaign.pk}/launch/", {}).status_code == 403
    assert client.get(f"{CAMPAIGNS}{campaign.pk}/members/").status_code == 403


def test_members_list_has_a_fixed_query_count(marketer, django_assert_max_num_queries) -> None:
    for i in range(15):
        a_person(f"P{i}")
    campaign = written(campaign_launch(actor=MAINTENANCE, campaign_id=a_campaign().pk))
    client = client_for(marketer)
    with django_assert_max_num_queries(6):
        response = client.get(f"{CAMPAIGNS}{campaign.pk}/members/")
    assert len(response.json()["results"]) == CampaignMember.objects.count() == 15


def test_lead_forms_scoring_rules_attribution_and_bounces(marketer, admin_user) -> None:
    campaign = a_campaign(budget="50.00")
    client = client_for(marketer)
    made = send_json(
        client, "POST", "/api/v1/marketing/leads/forms/", {"campaign": campaign.pk, "name": "Demo"}
    )
    assert made.status_code == 201, made.content
    assert made.json()["url"].startswith("/marketing/f/")
    assert LeadForm.objects.count() == 1
    # scoring rules are the admins'
    rule = {"name": "Clicks", "kind": "behaviour", "event": "clicked", "points": 5}
    assert send_json(client, "POST", "/api/v1/marketing/scoring-rules/", rule).status_code == 403
    assert (
        send_json(client_for(admin_user), "POST", "/api/v1/marketing/scoring-rules/", rule).status_code == 201
    )
    assert ScoringRule.objects.count() == 1
    rows = client.get("/api/v1/marketing/attribution/").json()["results"]
    assert rows[0]["campaign"] == campaign.pk
    assert rows[0]["cost"] == "50.00"
    assert rows[0]["funnel"][0]["stage"] == "audience"
    bounce = send_json(client, "POST", "/api/v1/marketing/bounces/", {"email": "x@example.com"})
    assert bounce.status_code == 201
    assert_problem(
        send_json(client, "POST", "/api/v1/marketing/bounces/", {"email": "x", "bogus": 1}), 400, "bogus"
    )


def test_unschedule_with_if_match_on_the_api_the_page_and_in_the_schema(marketer, client) -> None:
    import datetime as dt

    from django.urls import reverse
    from django.utils import timezone
    from rest_framework.test import APIClient

    from marketing.campaigns.services import campaign_schedule

    campaign = campaign_schedule(
        actor=MAINTENANCE, campaign_id=a_campaign().pk, starts_at=timezone.now() + dt.timedelta(hours=1)
    )
    api = client_for(marketer)
    url = f"{CAMPAIGNS}{campaign.pk}/unschedule/"
    assert_problem(send_json(api, "POST", url, {}, HTTP_IF_MATCH=f'"{campaign.version - 1}"'), 412)
    assert Campaign.objects.get(pk=campaign.pk).status == "scheduled"
    response = send_json(api, "POST", url, {}, HTTP_IF_MATCH=f'"{campaign.version}"')
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "draft"
    assert response["ETag"] == f'"{campaign.version + 1}"'
    assert_problem(send_json(api, "POST", url, {}), 409)  # a draft is not scheduled
    # the page: the button on a scheduled campaign, the action takes it back to draft
    again = campaign_schedule(actor=MAINTENANCE, campaign_id=campaign.pk)
    client.force_login(marketer)
    page = client.get(reverse("marketing:campaign_detail", args=[campaign.pk])).content.decode()
    assert 'id="campaign-unschedule"' in page
    client.post(
        reverse("marketing:campaign_action", args=[campaign.pk, "unschedule"]), {"version": again.version}
    )
    assert Campaign.objects.get(pk=campaign.pk).status == "draft"
    page = client.get(reverse("marketing:campaign_detail", args=[campaign.pk])).content.decode()
    assert 'id="campaign-unschedule"' not in page
    # the schema documents it like the other actions, with If-Match and 412
    schema = APIClient().get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    operation = schema["paths"]["/api/v1/marketing/campaigns/{id}/unschedule/"]["post"]
    assert "If-Match" in {p["name"] for p in operation["parameters"]}
    assert {"200", "412"} <= set(operation["responses"])


def test_a_lead_form_is_renamed_and_deactivated_with_if_match(marketer, client, sales_rep) -> None:
    from django.urls import reverse

    from marketing.capture.services import form_token, lead_form_create

    form = lead_form_create(actor=MAINTENANCE, campaign_id=a_campaign().pk, name="Demo")
    url = f"/api/v1/marketing/leads/forms/{form.pk}/"
    api = client_for(marketer)
    assert_problem(send_json(api, "PATCH", url, {"active": False}), 428)
    assert_problem(send_json(api, "PATCH", url, {"active": False}, HTTP_IF_MATCH='"7"'), 412)
    assert_problem(send_json(api, "PATCH", url, {"name": ""}, HTTP_IF_MATCH='"1"'), 400, "name")
    assert_problem(send_json(api, "PATCH", url, {"campaign": 1}, HTTP_IF_MATCH='"1"'), 400, "campaign")
    assert (
        send_json(client_for(sales_rep), "PATCH", url, {"active": False}, HTTP_IF_MATCH='"1"').status_code
        == 403
    )
    response = send_json(api, "PATCH", url, {"name": "Closed demo", "active": False}, HTTP_IF_MATCH='"1"')
    assert response.status_code == 200, response.content
    assert (response.json()["name"], response.json()["active"], response["ETag"]) == (
        "Closed demo",
        False,
        '"2"',
    )
    # the public form takes nothing more
    posted = client.post(
        reverse("marketing:public_form", args=[form.public_key]),
        {"token": form_token(), "first_name": "Late", "email": "late@example.com"},
    )
    assert posted.status_code == 404
    assert not LeadForm.objects.get(pk=form.pk).submissions.exists()


def test_a_scoring_rule_is_changed_with_if_match(admin_user, marketer) -> None:
    from marketing.capture.scoring import scoring_rule_create

    rule = scoring_rule_create(actor=MAINTENANCE, name="Clicks", kind="behaviour", event="clicked", points=5)
    url = f"/api/v1/marketing/scoring-rules/{rule.pk}/"
    admin = client_for(admin_user)
    assert_problem(send_json(admin, "PATCH", url, {"points": 8}), 428)
    assert_problem(send_json(admin, "PATCH", url, {"points": 8}, HTTP_IF_MATCH='"2"'), 412)
    assert (
        send_json(client_for(marketer), "PATCH", url, {"points": 8}, HTTP_IF_MATCH='"1"').status_code == 403
    )
    response = send_json(admin, "PATCH", url, {"points": 8, "active": False}, HTTP_IF_MATCH='"1"')
    assert response.status_code == 200, response.content
    assert (response.json()["points"], response.json()["active"], response["ETag"]) == (8, False, '"2"')
    assert ScoringRule.objects.get(pk=rule.pk).points == 8
    # the old ETag is stale now
    assert_problem(send_json(admin, "PATCH", url, {"points": 9}, HTTP_IF_MATCH='"1"'), 412)


@pytest.mark.parametrize("action", ["schedule", "cancel", "unschedule"])
def test_state_actions_refuse_a_stale_etag(marketer, action) -> None:
    import datetime as dt

    from django.utils import timezone

    from marketing.campaigns.services import campaign_schedule, campaign_update

    campaign = a_campaign(starts_at=timezone.now() + dt.timedelta(hours=1))
    if action == "unschedule":
        campaign = campaign_schedule(actor=MAINTENANCE, campaign_id=campaign.pk)
    read = campaign.version
    # someone else changes it after we read it
    campaign_update(
        actor=MAINTENANCE, campaign_id=campaign.pk, expected_version=None, name=f"Other {next(names)}"
    )
    api = client_for(marketer)
    url = f"{CAMPAIGNS}{campaign.pk}/{action}/"
    stale = send_json(api, "POST", url, {}, HTTP_IF_MATCH=f'"{read}"')
    assert_problem(stale, 412)
    assert Campaign.objects.get(pk=campaign.pk).status == campaign.status
    fresh = send_json(api, "POST", url, {}, HTTP_IF_MATCH=f'"{read + 1}"')
    assert fresh.status_code == 200, fresh.content
    assert (
        fresh.json()["status"]
        == {"schedule": "scheduled", "cancel": "cancelled", "unschedule": "draft"}[action]
    )
    assert fresh["ETag"] == f'"{read + 2}"'
