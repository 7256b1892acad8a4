"""The sales pages through Django's test client: the board (totals, filters, moves with
and without HTMX, query budgets), the opportunity page, leads and the convert flow."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from customers.models import Customer
from sales.models import Lead, LeadStatus, Opportunity, OpportunityStatus
from sales.pipeline import services as opportunity_services
from sales.pipeline.selectors import BOARD_CARDS_PER_COLUMN
from sales.tests import factories as f

pytestmark = pytest.mark.django_db

BOARD = "/sales/board/"
HTMX_BOARD = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "board"}


def client_for(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def html(response: Any) -> str:
    return response.content.decode()


# --- the board ---------------------------------------------------------------------------


def test_the_board_shows_a_column_per_stage_with_totals_and_weighted_totals(sales_rep):
    # given
    customer = f.customer(sales_rep)
    f.opportunity(sales_rep, customer, amount=Decimal("1000"))
    f.opportunity(sales_rep, customer, amount=Decimal("500"))
    opp = f.opportunity(sales_rep, customer, amount=Decimal("200"), name="Proposal deal")
    opportunity_services.opportunity_move(
        actor=sales_rep, opportunity_id=opp.pk, stage=f.stage("Proposal").pk
    )
    # when
    response = client_for(sales_rep).get(BOARD)
    # then
    page = html(response)
    assert response.status_code == 200
    for name in ("Prospecting", "Qualification", "Proposal", "Negotiation", "Won", "Lost"):
        assert f">{name} <span" in page
    assert 'data-total="EUR">1500.00 EUR' in page
    assert 'data-weighted="EUR">150.00 EUR' in page  # 1500 x 10%
    assert 'data-weighted="EUR">100.00 EUR' in page  # 200 x 50%
    assert f'<label class="visually-hidden" for="move-{opp.pk}">Move Proposal deal to</label>' in page


def test_the_board_filters_by_owner_and_close_month(sales_rep, other_rep):
    mine = f.opportunity(sales_rep, name="Mine", expected_close_date=dt.date(2026, 3, 10))
    f.opportunity(other_rep, name="Theirs", expected_close_date=dt.date(2026, 4, 10))
    client = client_for(sales_rep)
    by_owner = html(client.get(BOARD, {"owner": sales_rep.pk}))
    assert "Mine" in by_owner
    assert "Theirs" not in by_owner
    by_month = html(client.get(BOARD, {"close_month": "2026-04"}))
    assert "Theirs" in by_month
    assert "Mine" not in by_month
    assert f"card-{mine.pk}" not in by_month


def test_only_editable_cards_get_a_move_control(sales_rep, other_rep):
    theirs = f.opportunity(other_rep, name="Theirs")
    page = html(client_for(sales_rep).get(BOARD))
    assert f"card-{theirs.pk}" in page
    assert f"move-{theirs.pk}" not in page


@pytest.mark.parametrize("count", [0, 300])
def test_the_board_runs_a_bounded_number_of_queries(
    sales_rep, teammate, count, django_assert_max_num_queries
):
    # given
    customer = f.customer(sales_rep)
    pipeline = f.default_pipeline()
    stages = list(pipeline.stages.filter(kind="open"))
    Opportunity.objects.bulk_create(
        Opportunity(
            customer=customer,
            owner=(sales_rep, teammate)[n % 2],
            name=f"Deal {n}",
            amount=Decimal(n),
            currency="EUR",
            pipeline=pipeline,
            stage=stages[n % len(stages)],
        )
        for n in range(count)
    )
    client = client_for(sales_rep)
    # when / then: session, user, perms, pipelines x2, owners, totals, cards (+ savepoints)
    with django_assert_max_num_queries(12):
        response = client.get(BOARD)
    assert response.status_code == 200
    # every open stage holds count / 4 cards and shows at most a column's worth
    per_stage = count // len(stages)
    shown = min(per_stage, BOARD_CARDS_PER_COLUMN)
    assert html(response).count("data-card") == shown * len(stages)
    if per_stage > shown:
        assert f"{per_stage - shown} more<span" in html(response)


def test_a_crowded_stage_does_not_crowd_the_others_out_and_links_to_the_rest(sales_rep):
    # given: many cards in the first stage, one in the last open stage
    customer = f.customer(sales_rep)
    pipeline = f.default_pipeline()
    prospecting, negotiation = f.stage("Prospecting"), f.stage("Negotiation")
    crowd = BOARD_CARDS_PER_COLUMN * len(pipeline.stages.all()) + 5
    Opportunity.objects.bulk_create(
        Opportunity(
            customer=customer,
            owner=sales_rep,
            name=f"Deal {n}",
            currency="EUR",
            pipeline=pipeline,
            stage=prospecting,
            expected_close_date=dt.date(2026, 1, 1) + dt.timedelta(days=n),
        )
        for n in range(crowd)
    )
    late = f.opportunity(sales_rep, customer, name="The lonely one")
    opportunity_services.opportunity_move(actor=sales_rep, opportunity_id=late.pk, stage=negotiation.pk)
    # when
    page = html(client_for(sales_rep).get(BOARD, {"owner": sales_rep.pk}))
    # then: Negotiation shows its card; Prospecting its first cards by close date, then a link
    assert f'id="card-{late.pk}"' in page
    assert page.count('class="board-card"') == BOARD_CARDS_PER_COLUMN + 1
    assert "Deal 0<" in page
    assert f"Deal {BOARD_CARDS_PER_COLUMN}<" not in page
    hidden = crowd - BOARD_CARDS_PER_COLUMN
    link = f"/sales/opportunities/?owner={sales_rep.pk}&amp;pipeline={pipeline.pk}&amp;stage={prospecting.pk}"
    assert f'<a href="{link}">{hidden} more<span class="visually-hidden"> in Prospecting</span></a>' in page
    # and the list behind the link holds exactly the cards the column counted
    listed = client_for(sales_rep).get(link.replace("&amp;", "&"))
    assert listed.status_code == 200
    assert listed.context["page"].paginator.count == crowd


def test_moving_a_card_without_javascript_redirects_back_to_the_board(sales_rep):
    opp = f.opportunity(sales_rep)
    response = client_for(sales_rep).post(
        reverse("sales:opportunity_move", args=[opp.pk]),
        {"stage": f.stage("Qualification").pk, "version": opp.version, "owner": sales_rep.pk},
    )
    assert response.status_code == 302
    assert response["Location"] == f"{BOARD}?owner={sales_rep.pk}"
    opp.refresh_from_db()
    assert opp.stage.name == "Qualification"


def test_moving_a_card_with_htmx_returns_the_board_with_a_status(sales_rep):
    opp = f.opportunity(sales_rep, name="Keyboard deal")
    response = client_for(sales_rep).post(
        reverse("sales:opportunity_move", args=[opp.pk]),
        {"stage": f.stage("Won").pk, "version": opp.version},
        **HTMX_BOARD,
    )
    assert response.status_code == 200
    assert 'id="board"' in html(response)
    assert "<html" not in html(response)
    assert "Keyboard deal moved to Won." in html(response)
    opp.refresh_from_db()
    assert opp.status == OpportunityStatus.WON


def test_a_stale_move_is_refused_and_the_board_says_so(sales_rep):
    opp = f.opportunity(sales_rep)
    opportunity_services.opportunity_update(
        actor=sales_rep, opportunity_id=opp.pk, expected_version=1, next_step="x"
    )
    response = client_for(sales_rep).post(
        reverse("sales:opportunity_move", args=[opp.pk]),
        {"stage": f.stage("Proposal").pk, "version": 1},
        **HTMX_BOARD,
    )
    assert response.status_code == 409
    assert "Someone else changed this opportunity" in html(response)
    opp.refresh_from_db()
    assert opp.stage.name == "Prospecting"


def test_another_teams_rep_cannot_move_a_card(sales_rep, other_rep):
    opp = f.opportunity(sales_rep)
    response = client_for(other_rep).post(
        reverse("sales:opportunity_move", args=[opp.pk]), {"stage": f.stage("Proposal").pk}
    )
    assert response.status_code == 403


@pytest.mark.parametrize("actor", ["back_office", "nobody"])
def test_the_board_is_refused_without_the_right(request, actor):
    assert client_for(request.getfixturevalue(actor)).get(BOARD).status_code == 403


def test_navigation_shows_pipeline_and_leads_to_sales_only(sales_rep, back_office, agent):
    assert 'href="/sales/board/"' in html(client_for(sales_rep).get("/"))
    assert 'href="/sales/leads/"' in html(client_for(sales_rep).get("/"))
    assert 'href="/sales/board/"' not in html(client_for(back_office).get("/"))
    assert 'href="/sales/leads/"' not in html(client_for(agent).get("/"))


# --- the opportunity page -----------------------------------------------------------------


def test_the_opportunity_page_shows_details_lines_and_activities(sales_rep):
    f.product("W-9", "4.00")
    opp = opportunity_services.opportunity_create(
        actor=sales_rep, customer=f.customer(sales_rep), name="Widgets", lines=[{"sku": "W-9", "quantity": 5}]
    )
    opportunity_services.opportunity_move(
        actor=sales_rep, opportunity_id=opp.pk, stage=f.stage("Proposal").pk
    )
    page = html(client_for(sales_rep).get(reverse("sales:opportunity_detail", args=[opp.pk])))
    assert "20.00 EUR" in page
    assert "W-9" in page
    assert "Widgets: Prospecting → Proposal" in page
    assert "Mark as lost" in page


def test_losing_from_the_opportunity_page_needs_a_reason(sales_rep):
    opp = f.opportunity(sales_rep)
    client = client_for(sales_rep)
    url = reverse("sales:opportunity_lose", args=[opp.pk])
    client.post(url, {"reason": ""})
    opp.refresh_from_db()
    assert opp.status == OpportunityStatus.OPEN
    client.post(url, {"reason": "Budget cut"})
    opp.refresh_from_db()
    assert (opp.status, opp.lost_reason) == (OpportunityStatus.LOST, "Budget cut")


def test_the_360_page_shows_the_open_opportunities_panel(sales_rep):
    opp = f.opportunity(sales_rep, name="Panel deal")
    client = client_for(sales_rep)
    page = html(client.get(reverse("customers:detail", args=[opp.customer_id])))
    body = html(client.get(reverse("customers:panel", args=[opp.customer_id, "open_opportunities"])))
    assert 'id="panel-open_opportunities"' in page
    assert "Panel deal" in body


# --- leads -----------------------------------------------------------------------------


def test_creating_a_lead_with_errors_shows_them_next_to_the_fields(sales_rep):
    client = client_for(sales_rep)
    response = client.post(reverse("sales:lead_create"), {"email": "nope", "source": "manual"})
    assert response.status_code == 400
    assert "error-summary" in html(response)
    assert Lead.objects.count() == 0
    response = client.post(
        reverse("sales:lead_create"), {"last_name": "Hopper", "title": "Licences", "source": "manual"}
    )
    assert response.status_code == 302


def test_the_lead_list_and_page(sales_rep):
    lead = f.lead(sales_rep, organisation_name="Hopper Labs")
    client = client_for(sales_rep)
    assert "Hopper Labs" in html(client.get(reverse("sales:lead_list")))
    page = html(client.get(reverse("sales:lead_detail", args=[lead.pk])))
    assert "Mark as qualified" in page
    assert "Convert" in page


def test_the_lead_list_pages_keep_the_status_filter(sales_rep):
    # given: more new leads than a page holds, and one qualified lead
    for i in range(26):
        f.lead(sales_rep, organisation_name=f"New {i}")
    qualified = f.lead(sales_rep, organisation_name="Qualified one")
    Lead.objects.filter(pk=qualified.pk).update(status=LeadStatus.QUALIFIED)
    client = client_for(sales_rep)
    # when
    first = html(client.get(reverse("sales:lead_list"), {"status": LeadStatus.NEW}))
    second = html(client.get(reverse("sales:lead_list"), {"status": LeadStatus.NEW, "page": 2}))
    # then: the next link keeps the filter, and the second page holds the 26th new lead only
    assert f'href="?status={LeadStatus.NEW}&amp;page=2"' in first
    assert "Page 2 of 2" in second
    assert "Previous page" in second
    assert "Qualified one" not in first + second


def test_qualify_and_disqualify_from_the_lead_page(sales_rep):
    lead = f.lead(sales_rep)
    client = client_for(sales_rep)
    response = client.post(reverse("sales:lead_disqualify", args=[lead.pk]), {"reason": ""})
    assert response.status_code == 400
    assert "Say why the lead is disqualified." in html(response)
    client.post(reverse("sales:lead_qualify", args=[lead.pk]))
    lead.refresh_from_db()
    assert lead.status == LeadStatus.QUALIFIED


def test_the_convert_page_offers_the_candidates_and_an_explicit_new_customer(sales_rep):
    existing = f.customer(sales_rep, "Hopper Labs")
    lead = f.lead(sales_rep, organisation_name="Hopper Labs")
    client = client_for(sales_rep)
    url = reverse("sales:lead_convert", args=[lead.pk])
    page = html(client.get(url))
    assert f'value="{existing.pk}"' in page
    assert 'value="new"' in page
    # no choice: an error, nothing written
    response = client.post(url, {})
    assert response.status_code == 400
    assert "Choose one of the customers, or to create a new one." in html(response)
    assert Opportunity.objects.count() == 0
    # an explicit new customer
    response = client.post(url, {"target": "new"})
    assert response.status_code == 302
    assert Customer.objects.filter(organisation_name="Hopper Labs").count() == 2
    lead.refresh_from_db()
    assert lead.status == LeadStatus.CONVERTED
    assert response["Location"] == reverse("sales:opportunity_detail", args=[Opportunity.objects.get().pk])
