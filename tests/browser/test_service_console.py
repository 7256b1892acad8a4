"""The agent's call in a browser: a known number rings, the agent types it as the caller
gave it, opens the customer from the results, logs the call as a complaint from the
console, grants a goodwill credit within their limit on the case page, and the credit
note reaches the ERP simulator through the outbox. axe checks the console and the case."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from backoffice_sync.adapters.stub import StubAdapter
from backoffice_sync.outbox import relay_due
from backoffice_sync.simulator.models import SimCreditNote
from customers.models import ContactPoint
from customers.tests.factories import PersonFactory
from frontoffice.actors import DEMO_SEED
from service import settings_services
from service.models import Call, Case, GoodwillCredit
from tests.browser.conftest import assert_accessible, screenshot
from tests.browser.test_journey import log_in
from tests.fixtures import Role, make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_an_agent_takes_a_call_logs_a_complaint_and_grants_goodwill(page: Any, transactional_db: Any) -> None:
    # given: a customer with a known number, an agent in the front-line queue, limits
    agent = make_user("tom", Role.SERVICE_AGENT, first_name="Tom", last_name="Becker")
    customer = PersonFactory(first_name="Ada", last_name="Lovelace")
    ContactPoint.objects.create(customer=customer, kind="phone", value="+442079460123", is_primary=True)
    settings_services.queue_create(actor=DEMO_SEED, name="Front line", is_default=True, members=[agent.pk])
    settings_services.goodwill_limit_set(actor=DEMO_SEED, role=Role.SERVICE_AGENT, amount=Decimal("50"))
    erp = StubAdapter()
    erp.reset(seed=3, start=timezone.now())
    log_in(page, "tom", "pw-tom")
    # when: the phone rings; the agent types the number as the caller says it
    page.goto("/service/console/")
    search = page.get_by_label("Phone, e-mail or name")
    expect(search).to_be_focused()
    search.type("020 7946 0123")
    result = page.locator("#console-results").get_by_role("link", name="Ada Lovelace")
    expect(result).to_be_visible()
    result.click()
    # then: the caller's console, with the call form
    expect(page.get_by_role("heading", name="Ada Lovelace")).to_be_visible()
    assert_accessible(page, "agent console")
    screenshot(page, "service-console")
    # when: logged as a complaint in one submit
    page.get_by_label("Duration (minutes)").fill("4")
    page.get_by_label("Outcome").select_option("follow_up")
    page.get_by_label("Notes").fill("The parcel arrived crushed; photos sent.")
    page.get_by_label("New case type").select_option("complaint")
    page.get_by_label("Category").select_option("delivery")
    page.get_by_label("New case subject").fill("Crushed parcel")
    page.get_by_role("button", name="Log call").click()
    # then: the case page of a new complaint, assigned to the agent, with the call
    expect(page.get_by_role("heading", level=1)).to_contain_text("Crushed parcel")
    case = Case.objects.get()
    assert (case.kind, case.channel, case.assignee_id, case.customer_id) == (
        "complaint",
        "phone",
        agent.pk,
        customer.pk,
    )
    assert Call.objects.get().case_id == case.pk
    # when: a goodwill credit within the limit
    page.get_by_label("Amount").fill("40")
    page.get_by_label("Reason", exact=True).fill("Crushed parcel, sorry")
    page.get_by_role("button", name="Grant credit").click()
    # then: applied at once, shown on the case, and the credit note reaches the simulator
    expect(page.locator("#case-goodwill").locator("..")).to_contain_text("Applied")
    credit = GoodwillCredit.objects.get()
    assert credit.status == "applied"
    relay_due(adapter=erp)
    note = SimCreditNote.objects.get(credit_ref=credit.credit_ref)
    assert (note.amount, note.customer.customer_ref) == (Decimal("40.00"), str(customer.pk))
    assert_accessible(page, "case page")


@pytest.mark.parametrize(("width", "height"), [(1366, 900), (390, 844)])
def test_the_caller_lookup_is_styled_like_the_other_inputs_and_fits_the_screen(
    browser: Any, live_server: Any, width: int, height: int
) -> None:
    # given: an agent on the console, with a caller found, at a laptop's or a phone's width
    context = browser.new_context(viewport={"width": width, "height": height}, base_url=live_server.url)
    page = context.new_page()
    make_user("tom", Role.SERVICE_AGENT, first_name="Tom", last_name="Becker")
    customer = PersonFactory(first_name="Ada", last_name="Lovelace")
    ContactPoint.objects.create(customer=customer, kind="phone", value="+442079460123", is_primary=True)
    log_in(page, "tom", "pw-tom")
    page.goto(f"/service/console/?q=020+7946+0123&customer={customer.pk}")
    search = page.get_by_label("Phone, e-mail or name")
    # then: the search box has the look of every form field (the call form's, beside it)
    field = page.get_by_label("Notes")
    look = "e => [getComputedStyle(e).borderTopWidth, getComputedStyle(e).borderRadius, getComputedStyle(e).paddingLeft]"
    assert search.evaluate(look) == field.evaluate(look)
    # and it takes most of its card's width, its button beside or under it, nothing off screen
    box, card = search.bounding_box(), page.locator(".console__lookup").bounding_box()
    assert box is not None
    assert card is not None
    assert box["width"] >= 0.6 * card["width"], (box, card)
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    expect(page.get_by_role("button", name="Find")).to_be_in_viewport()
    screenshot(page, f"service-console-{width}")
    # and the keys the page announces move between the two: Alt+L the call, Alt+K the search
    page.keyboard.press("Alt+l")
    expect(page.get_by_label("Duration (minutes)")).to_be_focused()
    page.keyboard.press("Alt+k")
    expect(search).to_be_focused()
    context.close()
