"""The pipeline board in Chromium: a rep converts a lead and moves the opportunity with
the keyboard; drags a card to another stage (and a stale drag is refused); with demo-like
data (300 opportunities) the board fits a 1366 px window and a phone without the page
scrolling sideways, and its height stays bounded. axe checks the pages."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from playwright.sync_api import expect

from customers import services as customer_services
from sales.leads import services as lead_services
from sales.models import Opportunity, OpportunityStatus
from sales.pipeline import services as opportunity_services
from sales.pipeline.selectors import BOARD_CARDS_PER_COLUMN
from sales.pipeline.services_pipelines import default_pipeline
from tests.browser.conftest import assert_accessible, screenshot
from tests.browser.test_journey import log_in
from tests.fixtures import Role, make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_rep_converts_a_lead_and_moves_the_opportunity_with_the_keyboard(
    page: Any, transactional_db: Any
) -> None:
    # given: a lead that looks like an existing customer
    rita = make_user("rita", Role.SALES, first_name="Rita", last_name="Rep")
    customer_services.customer_create(actor=rita, kind="organisation", organisation_name="Hopper Labs")
    lead = lead_services.lead_create(
        actor=rita, organisation_name="Hopper Labs", last_name="Hopper", title="Fleet of pallet jacks"
    )
    log_in(page, "rita", "pw-rita")
    # when: the rep opens the lead and converts it, explicitly creating a new customer
    page.get_by_role("link", name="Leads").click()
    page.get_by_role("link", name=lead.display_name).click()
    page.get_by_role("link", name="Convert").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Convert")
    expect(page.get_by_role("radio", name="Create a new customer from this lead")).to_be_visible()
    assert_accessible(page, "lead convert")
    screenshot(page, "lead-convert")
    page.get_by_role("radio", name="Create a new customer from this lead").check()
    page.get_by_role("button", name="Convert lead").click()
    # then
    expect(page.get_by_role("heading", level=1)).to_have_text("Fleet of pallet jacks")
    opp = Opportunity.objects.get()
    assert opp.customer.organisation_name == "Hopper Labs"
    # when: on the board, the keyboard moves the card to the next stage
    page.get_by_role("link", name="Pipeline", exact=True).click()
    card = page.locator(f"#card-{opp.pk}")
    expect(page.locator(f"#stage-{opp.stage_id}-title").locator("xpath=ancestor::section")).to_contain_text(
        "Fleet of pallet jacks"
    )
    select = page.get_by_label("Move Fleet of pallet jacks to")
    select.focus()
    page.keyboard.press("ArrowDown")  # Prospecting -> Qualification
    page.keyboard.press("Tab")  # to the card's Move button
    page.keyboard.press("Enter")
    # then: the board is swapped in place, the card sits in Qualification
    expect(page.locator("#board-status")).to_contain_text("moved to Qualification")
    opp.refresh_from_db()
    assert opp.stage.name == "Qualification"
    qualification = page.locator(f"#stage-{opp.stage_id}-title").locator("xpath=ancestor::section")
    expect(qualification).to_contain_text("Fleet of pallet jacks")
    expect(card).to_be_visible()
    assert_accessible(page, "pipeline board")


def test_a_rep_drags_a_card_to_another_stage(page: Any, transactional_db: Any) -> None:
    # given
    rita = make_user("rita", Role.SALES, first_name="Rita", last_name="Rep")
    customer = customer_services.customer_create(actor=rita, kind="organisation", organisation_name="Acme")
    opp = opportunity_services.opportunity_create(
        actor=rita, customer=customer.pk, name="Dragged deal", currency="EUR"
    )
    proposal = opp.pipeline.stages.get(name="Proposal")
    log_in(page, "rita", "pw-rita")
    page.goto("/sales/board/")
    # when: drag and drop, the enhancement on top of the Move control
    page.locator(f"#card-{opp.pk}").drag_to(page.locator(f"[data-stage-id='{proposal.pk}']"))
    # then
    expect(page.locator("#board-status")).to_contain_text("moved to Proposal")
    opp.refresh_from_db()
    assert opp.stage == proposal


def test_a_stale_drag_is_refused_with_a_message_and_nothing_changes(page: Any, transactional_db: Any) -> None:
    # given: the board is open, then a colleague edits the opportunity
    rita = make_user("rita", Role.SALES, first_name="Rita", last_name="Rep")
    customer = customer_services.customer_create(actor=rita, kind="organisation", organisation_name="Acme")
    opp = opportunity_services.opportunity_create(
        actor=rita, customer=customer.pk, name="Stale deal", currency="EUR"
    )
    proposal = opp.pipeline.stages.get(name="Proposal")
    log_in(page, "rita", "pw-rita")
    page.goto("/sales/board/")
    opportunity_services.opportunity_update(
        actor=rita, opportunity_id=opp.pk, expected_version=opp.version, next_step="Call back"
    )
    # when: the card, still showing the old version, is dropped on Proposal
    page.locator(f"#card-{opp.pk}").drag_to(page.locator(f"[data-stage-id='{proposal.pk}']"))
    # then: refused, said so, and the board shows the latest (the card still in its stage)
    expect(page.locator("#board-status")).to_contain_text("Someone else changed this opportunity")
    opp.refresh_from_db()
    assert opp.stage.name == "Prospecting"
    assert opp.next_step == "Call back"
    prospecting = page.locator(f"[data-stage-id='{opp.stage_id}']")
    expect(prospecting.locator(f"#card-{opp.pk}")).to_be_visible()
    # and the refreshed card moves on a second try
    page.locator(f"#card-{opp.pk}").drag_to(page.locator(f"[data-stage-id='{proposal.pk}']"))
    expect(page.locator("#board-status")).to_contain_text("moved to Proposal")
    opp.refresh_from_db()
    assert opp.stage == proposal


COMPANIES = ("Northwind Intermodal Logistics", "Hopper Labs", "Brightwater Foods", "Kessler Maschinenbau")
DEALS = (
    "Replacement of the warehouse pallet jacks and reach trucks",
    "Cold-store racking",
    "Forklift fleet lease renewal",
    "Dock levellers for the new hall",
    "Spare parts framework",
)


def _demo_like_board(count: int) -> Any:
    """`count` opportunities as the demo has them: several reps, 40 customers with long
    names, three currencies, every stage (won and lost ones closed), close dates over
    four months."""
    reps = [
        make_user(username, Role.SALES, first_name=first, last_name=last)
        for username, first, last in (("rita", "Rita", "Rep"), ("sam", "Samuel", "Okonkwo-Lindqvist"))
    ]
    customers = [
        customer_services.customer_create(
            actor=reps[0],
            kind="organisation",
            organisation_name=f"{COMPANIES[n % len(COMPANIES)]} {n // len(COMPANIES) + 1} GmbH & Co. KG",
        )
        for n in range(40)
    ]
    pipeline = default_pipeline()
    stages = list(pipeline.stages.all())
    now = dt.datetime.now(dt.UTC)
    rows = []
    for n in range(count):
        stage = stages[n % len(stages)]
        status = {"won": OpportunityStatus.WON, "lost": OpportunityStatus.LOST}.get(
            stage.kind, OpportunityStatus.OPEN
        )
        rows.append(
            Opportunity(
                customer=customers[n % len(customers)],
                owner=reps[n % len(reps)],
                name=f"{DEALS[n % len(DEALS)]}, phase {n // len(DEALS) + 1}",
                amount=Decimal(1000 + 37 * n),
                currency=("EUR", "GBP", "USD")[n // len(stages) % 3],  # each column totals three
                pipeline=pipeline,
                stage=stage,
                status=status,
                lost_reason="Price" if status == OpportunityStatus.LOST else "",
                closed_at=None if status == OpportunityStatus.OPEN else now,
                expected_close_date=now.date() + dt.timedelta(days=n % 120),
            )
        )
    Opportunity.objects.bulk_create(rows)
    return pipeline


def _board_metrics(page: Any) -> dict[str, float]:
    return page.evaluate(
        """() => ({
            scrollWidth: document.documentElement.scrollWidth,
            innerWidth: window.innerWidth,
            innerHeight: window.innerHeight,
            boardHeight: document.querySelector('.board').getBoundingClientRect().height,
            boardWidth: document.querySelector('.board').getBoundingClientRect().width,
            boardScrollWidth: document.querySelector('.board').scrollWidth,
            pageHeight: document.documentElement.scrollHeight,
        })"""
    )


def test_with_300_opportunities_the_board_fits_1366_px_and_its_height_is_bounded(
    browser: Any, live_server: Any
) -> None:
    # given: demo-like data, a laptop window
    pipeline = _demo_like_board(300)
    context = browser.new_context(viewport={"width": 1366, "height": 768}, base_url=live_server.url)
    page = context.new_page()
    log_in(page, "rita", "pw-rita")
    # when
    page.goto("/sales/board/")
    # then: the page never scrolls sideways, all six stages fit, the board is at most a screen tall
    metrics = _board_metrics(page)
    assert metrics["scrollWidth"] <= metrics["innerWidth"], metrics
    assert metrics["boardScrollWidth"] <= metrics["boardWidth"], metrics
    assert metrics["boardHeight"] <= metrics["innerHeight"], metrics
    assert metrics["pageHeight"] <= 2 * metrics["innerHeight"], metrics
    # a long column shows its first cards and links to the rest
    prospecting = pipeline.stages.get(name="Prospecting")
    column = page.locator(f"[data-stage-id='{prospecting.pk}']")
    in_stage = Opportunity.objects.filter(stage=prospecting).count()
    expect(column.locator("[data-card]")).to_have_count(BOARD_CARDS_PER_COLUMN)
    more = column.get_by_role("link", name=f"{in_stage - BOARD_CARDS_PER_COLUMN} more in Prospecting")
    # the cards list scrolls inside the column
    cards = column.locator(".board__cards")
    assert cards.evaluate("el => el.scrollHeight > el.clientHeight")
    assert_accessible(page, "pipeline board with 300 opportunities")
    page.evaluate(
        "window.scrollTo(0, document.querySelector('.board').getBoundingClientRect().top + window.scrollY - 200)"
    )
    screenshot(page, "pipeline-board")
    # when: "n more" is followed
    more.click()
    # then: the opportunity list of that stage, as many as the board counted
    expect(page.get_by_role("heading", level=1)).to_contain_text("Opportunities")
    expect(page.locator(".results__count")).to_contain_text(f"{in_stage} opportunities")
    assert f"stage={prospecting.pk}" in page.url
    context.close()


def test_at_phone_width_the_board_scrolls_inside_itself(browser: Any, live_server: Any) -> None:
    _demo_like_board(60)
    context = browser.new_context(viewport={"width": 390, "height": 844}, base_url=live_server.url)
    page = context.new_page()
    log_in(page, "rita", "pw-rita")
    page.goto("/sales/board/")
    metrics = _board_metrics(page)
    assert metrics["scrollWidth"] <= metrics["innerWidth"], metrics
    assert metrics["boardHeight"] <= metrics["innerHeight"], metrics
    assert metrics["boardScrollWidth"] > metrics["boardWidth"]  # the stages are side by side, scrolled
    assert_accessible(page, "pipeline board on a phone")
    page.locator(".board").scroll_into_view_if_needed()
    screenshot(page, "pipeline-board-phone")
    context.close()
