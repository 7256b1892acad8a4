"""The Sales manager role: everything a rep does, on every team's leads, opportunities,
quotes and orders; approves discounts above the limits (never their own); reads the
forecast. Pipelines, price lists and discount limits stay with Admin."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied
from django.test import Client

from frontoffice.roles import Role, declared_grants
from sales.models import DiscountLimit, QuoteStatus
from sales.orders import services as order_services
from sales.quotes import services as quote_services
from sales.quotes.services import QuoteConflict
from sales.tests import factories as f
from sales.tests.order_setup import a_sent_quote
from sales.tests.quote_setup import a_catalogue, a_quote, an_opportunity, discount_limits
from tests.api_contract import assert_problem, send_json

pytestmark = pytest.mark.django_db

OPPS = "/api/v1/sales/opportunities/"
LEADS = "/api/v1/sales/leads/"
QUOTES = "/api/v1/sales/quotes/"


@pytest.fixture
def catalogue() -> None:
    a_catalogue()


def a_discounted_quote(owner: Any, percent: int = 15, *, actor: Any = None) -> Any:
    return a_quote(
        actor or owner, an_opportunity(owner), [{"sku": "SKU-1", "quantity": 1, "discount_percent": percent}]
    )


# --- grants ------------------------------------------------------------------------------


def test_the_role_holds_a_reps_rights_plus_everyones_records_and_approval() -> None:
    # given
    grants = declared_grants()
    manager, rep, admin = grants[Role.SALES_MANAGER], grants[Role.SALES], grants[Role.ADMIN]
    # then: everything a rep may do
    assert rep <= manager
    # plus every team's records, approving discounts and reading the forecast
    assert manager - rep >= {
        "sales.change_any_lead",
        "sales.change_any_opportunity",
        "sales.change_any_quote",
        "sales.approve_quote",
        "customers.change_any_customer",
    }
    assert "sales.view_forecastsnapshot" in manager
    # but no configuration: pipelines, price lists, discount limits, publishing, staff
    configuration = {
        "sales.add_pipeline",
        "sales.change_pipeline",
        "sales.change_stage",
        "sales.add_pricelist",
        "sales.change_pricelist",
        "sales.add_discountlimit",
        "sales.change_discountlimit",
        "sales.add_forecastsnapshot",
        "frontoffice.change_user",
    }
    assert configuration <= admin
    assert not configuration & manager
    assert manager <= admin
    assert Group.objects.filter(name=Role.SALES_MANAGER).exists()


# --- every team's records -------------------------------------------------------------------


def test_a_manager_edits_another_teams_opportunity(api_as, sales_manager, sales_rep, other_rep) -> None:
    # given: a rep's opportunity, another team's rep refused
    opp = f.opportunity(sales_rep)
    assert_problem(
        send_json(api_as(other_rep), "patch", f"{OPPS}{opp.pk}/", {"next_step": "x"}, HTTP_IF_MATCH='"1"'),
        403,
    )
    # when
    response = send_json(
        api_as(sales_manager), "patch", f"{OPPS}{opp.pk}/", {"next_step": "Call the CFO"}, HTTP_IF_MATCH='"1"'
    )
    moved = send_json(
        api_as(sales_manager), "post", f"{OPPS}{opp.pk}/move/", {"stage": f.stage("Proposal").pk}
    )
    # then
    assert response.status_code == 200, response.json()
    assert response.json()["next_step"] == "Call the CFO"
    assert moved.status_code == 200, moved.json()
    assert moved.json()["stage_name"] == "Proposal"


def test_a_manager_works_another_teams_lead(api_as, sales_manager, sales_rep) -> None:
    lead = f.lead(sales_rep)
    response = send_json(api_as(sales_manager), "post", f"{LEADS}{lead.pk}/qualify/", {})
    assert response.status_code == 200, response.json()


def test_a_manager_quotes_and_accepts_for_another_team(sales_manager, sales_rep) -> None:
    # given: a rep's sent quote, and a new draft the manager writes on a rep's opportunity
    sent = a_sent_quote(sales_rep)
    draft = a_quote(sales_manager, an_opportunity(sales_rep))
    # when
    updated = quote_services.quote_update(
        actor=sales_manager, quote_id=draft.pk, expected_version=1, notes="Net 30"
    )
    order = order_services.quote_accept(actor=sales_manager, quote_id=sent.pk, expected_version=sent.version)
    # then
    assert updated.notes == "Net 30"
    assert order.placed_by == sales_manager


# --- approving discounts ---------------------------------------------------------------------


def test_a_manager_approves_a_reps_discount_and_a_rep_cannot(
    api_as, sales_manager, sales_rep, teammate, catalogue
) -> None:
    # given: reps may give 10%; the line has 15%
    discount_limits(sales=10)
    quote = a_discounted_quote(sales_rep)
    quote_services.quote_submit_for_approval(actor=sales_rep, quote_id=quote.pk, expected_version=1)
    url = f"{QUOTES}{quote.pk}/approve/"
    # when / then: no rep approves, not even a teammate
    assert_problem(api_as(sales_rep).post(url, HTTP_IF_MATCH='"2"'), 403)
    assert_problem(api_as(teammate).post(url, HTTP_IF_MATCH='"2"'), 403)
    with pytest.raises(PermissionDenied):
        quote_services.quote_approve(actor=sales_rep, quote_id=quote.pk, expected_version=2)
    # when: the manager approves
    response = api_as(sales_manager).post(url, HTTP_IF_MATCH='"2"')
    # then
    assert response.status_code == 200, response.json()
    assert response.json()["status"] == QuoteStatus.APPROVED
    assert response.json()["approved_by"] == sales_manager.pk
    assert response.json()["priced_by"] == sales_rep.pk
    sent = quote_services.quote_send(actor=sales_rep, quote_id=quote.pk, expected_version=3)
    assert sent.status == QuoteStatus.SENT


def test_the_sales_manager_limit_is_honoured(sales_manager, sales_rep, catalogue) -> None:
    # given: reps 10%, managers 20%
    discount_limits(sales=10, manager=20)
    # when: the manager sets 15% on a rep's opportunity
    quote = a_discounted_quote(sales_rep, 15, actor=sales_manager)
    # then: within the manager's limit, it goes out without approval
    assert quote.discount_limit_percent == Decimal("20")
    with pytest.raises(QuoteConflict, match="No discount exceeds"):
        quote_services.quote_submit_for_approval(actor=sales_manager, quote_id=quote.pk, expected_version=1)
    assert (
        quote_services.quote_send(actor=sales_manager, quote_id=quote.pk, expected_version=1).status
        == QuoteStatus.SENT
    )
    # and the same 15% from the rep needs approval
    assert a_discounted_quote(sales_rep, 15).discount_limit_percent == Decimal("10")


def test_a_managers_discount_above_their_own_limit_needs_another_approver(
    api_as, sales_manager, admin_user, sales_rep, catalogue
) -> None:
    # given: managers may give 20%; the manager gives 30%
    discount_limits(sales=10, manager=20)
    quote = a_discounted_quote(sales_rep, 30, actor=sales_manager)
    with pytest.raises(QuoteConflict, match="approval"):
        quote_services.quote_send(actor=sales_manager, quote_id=quote.pk, expected_version=1)
    quote_services.quote_submit_for_approval(actor=sales_manager, quote_id=quote.pk, expected_version=1)
    # when / then: not by themselves
    body = assert_problem(
        api_as(sales_manager).post(f"{QUOTES}{quote.pk}/approve/", HTTP_IF_MATCH='"2"'), 403
    )
    assert "another manager" in body["detail"]
    # another manager (or an admin) approves
    other_manager = type(sales_manager).objects.create_user(username="manager2", password="pw")
    other_manager.groups.set(Group.objects.filter(name=Role.SALES_MANAGER))
    approved = quote_services.quote_approve(actor=other_manager, quote_id=quote.pk, expected_version=2)
    assert (approved.status, approved.approved_by) == (QuoteStatus.APPROVED, other_manager)


def test_whoever_last_set_the_lines_is_who_may_not_approve(
    sales_manager, admin_user, sales_rep, catalogue
) -> None:
    # given: the rep drafts 15%, the manager rewrites the lines at 25% (above 20%)
    discount_limits(sales=10, manager=20)
    quote = a_discounted_quote(sales_rep, 15)
    quote = quote_services.quote_update(
        actor=sales_manager,
        quote_id=quote.pk,
        expected_version=1,
        lines=[{"sku": "SKU-1", "quantity": 1, "discount_percent": 25}],
    )
    quote_services.quote_submit_for_approval(actor=sales_rep, quote_id=quote.pk, expected_version=2)
    # then: the manager set these discounts; an admin approves
    with pytest.raises(PermissionDenied, match="another manager"):
        quote_services.quote_approve(actor=sales_manager, quote_id=quote.pk, expected_version=3)
    assert (
        quote_services.quote_approve(actor=admin_user, quote_id=quote.pk, expected_version=3).approved_by
        == admin_user
    )


def test_a_revision_keeps_who_set_the_lines(sales_manager, sales_rep, catalogue) -> None:
    discount_limits(manager=20)
    quote = a_discounted_quote(sales_rep, 15, actor=sales_manager)
    quote = quote_services.quote_send(actor=sales_manager, quote_id=quote.pk, expected_version=1)
    revision = quote_services.quote_revise(actor=sales_rep, quote_id=quote.pk, expected_version=quote.version)
    assert (revision.priced_by, revision.discount_limit_percent) == (sales_manager, Decimal("20"))


# --- configuration stays with Admin -------------------------------------------------------------


def test_a_manager_does_not_configure_pipelines_price_lists_or_limits(
    api_as, sales_manager, catalogue
) -> None:
    client = api_as(sales_manager)
    pipeline = {"name": "Renewals", "stages": [{"name": "Due", "probability": 40}]}
    assert_problem(send_json(client, "post", "/api/v1/sales/pipelines/", pipeline), 403)
    price_list = {"name": "X", "currency": "USD", "items": []}
    assert_problem(send_json(client, "post", "/api/v1/sales/price-lists/", price_list), 403)
    assert_problem(client.post("/api/v1/sales/forecast/publish/"), 403)
    assert client.get("/api/v1/sales/forecast/").status_code == 200
    assert not sales_manager.has_perm("sales.change_discountlimit")
    assert DiscountLimit._meta.get_field("role").choices is not None
    assert (Role.SALES_MANAGER, Role.SALES_MANAGER) in DiscountLimit._meta.get_field("role").choices


# --- pages ---------------------------------------------------------------------------------


def test_the_navigation_shows_a_manager_the_sales_entries(sales_manager) -> None:
    client = Client()
    client.force_login(sales_manager)
    page = client.get("/").content.decode()
    for url in ("/sales/board/", "/sales/leads/", "/sales/quotes/", "/sales/orders/", "/sales/forecast/"):
        assert f'href="{url}"' in page, url
    assert 'href="/admin/"' not in page
    assert client.get("/sales/forecast/").status_code == 200


def test_the_builder_offers_approval_to_a_manager_but_not_for_their_own_discounts(
    sales_manager, sales_rep, catalogue
) -> None:
    # given
    discount_limits(sales=10, manager=20)
    theirs = a_discounted_quote(sales_rep, 15)
    quote_services.quote_submit_for_approval(actor=sales_rep, quote_id=theirs.pk, expected_version=1)
    own = a_discounted_quote(sales_rep, 30, actor=sales_manager)
    quote_services.quote_submit_for_approval(actor=sales_manager, quote_id=own.pk, expected_version=1)
    client = Client()
    client.force_login(sales_manager)
    # when
    their_page = client.get(f"/sales/quotes/{theirs.pk}/").content.decode()
    own_page = client.get(f"/sales/quotes/{own.pk}/").content.decode()
    # then
    assert "Approve the discounts" in their_page
    assert "Approve the discounts" not in own_page
    assert 'id="approval-by-another"' in own_page
    # and approving from the page works
    response = client.post(f"/sales/quotes/{theirs.pk}/approve/", {"version": 2})
    assert response.status_code == 302
    theirs.refresh_from_db()
    assert theirs.status == QuoteStatus.APPROVED
