"""A rep converts a lead into a new customer and an opportunity, finds it on the
pipeline board and moves it to the next stage with the keyboard; axe checks both pages."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from customers import services as customer_services
from sales.leads import services as lead_services
from sales.models import Opportunity
from sales.pipeline import services as opportunity_services
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
    screenshot(page, "pipeline-board")


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
