"""A rep opens a new opportunity from a customer's 360 page, gives it a product line,
finds it in the opportunity list, quotes it and adds a recommended product to the quote
with one click (HTMX swaps the builder in place); axe checks each page."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from playwright.sync_api import expect

from customers import services as customer_services
from sales.models import Opportunity, ProductAffinity, Quote
from sales.tests.quote_setup import a_price_list, a_product, in_days
from tests.browser.conftest import assert_accessible, screenshot
from tests.browser.test_journey import log_in
from tests.fixtures import Role, make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_rep_opens_an_opportunity_quotes_it_and_adds_a_recommended_product(
    page: Any, transactional_db: Any
) -> None:
    # given: a customer, two products on the price list, and buyers of the first also
    # bought the second
    rita = make_user("rita", Role.SALES, first_name="Rita", last_name="Rep")
    customer = customer_services.customer_create(
        actor=rita,
        kind="organisation",
        organisation_name="Hopper Labs",
        contact_points=[{"kind": "email", "value": "buyer@hopper.test"}],
    )
    a_product("PJ-1", name="Pallet jack", unit_price="450.00")
    a_product("FL-2", name="Fork lift battery", unit_price="120.00")
    a_price_list({"PJ-1": "450.00", "FL-2": "120.00"})
    ProductAffinity.objects.create(
        sku="PJ-1", other_sku="FL-2", both_customers=3, sku_customers=4, confidence=Decimal("0.75")
    )
    log_in(page, "rita", "pw-rita")
    # when: from the 360 page's open-opportunities panel, a new opportunity with a line
    page.goto(f"/customers/{customer.pk}/")
    page.get_by_role("link", name="New opportunity").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("New opportunity")
    page.get_by_label("Name", exact=True).fill("Warehouse refit")
    page.get_by_label("Line 1 product (SKU)").fill("PJ-1")
    page.get_by_label("Line 1 quantity").fill("2")
    assert_accessible(page, "new opportunity")
    screenshot(page, "opportunity-new")
    page.get_by_role("button", name="Create opportunity").click()
    # then
    expect(page.get_by_role("heading", level=1)).to_have_text("Warehouse refit")
    opp = Opportunity.objects.get()
    assert (opp.customer_id, opp.amount) == (customer.pk, Decimal("900.00"))
    # when: the list finds it
    page.get_by_role("link", name="Opportunities", exact=True).first.click()
    page.get_by_label("Name or customer").fill("hopper")
    page.get_by_role("button", name="Apply filters").click()
    expect(page.locator("#opportunity-results")).to_contain_text("Warehouse refit")
    assert_accessible(page, "opportunity list")
    screenshot(page, "opportunity-list")
    # when: quoting it, then adding the recommended product in the builder
    page.get_by_role("link", name="Warehouse refit").click()
    page.get_by_role("link", name="New quote").click()
    expect(page.locator("#recommended-products")).to_contain_text("FL-2")
    page.get_by_label("Valid until").fill(in_days(30).isoformat())
    page.get_by_role("button", name="Create the draft").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Quote Q-")
    quote = Quote.objects.get()
    expect(page.locator("#recommended-products")).to_contain_text("Fork lift battery")
    assert_accessible(page, "quote builder with recommendations")
    page.get_by_role("button", name="Add FL-2 Fork lift battery to the quote").click()
    # then: the builder is swapped in place with the new line and a status
    expect(page.locator("#add-line-status")).to_have_text("Added FL-2 to the quote.")
    expect(page.locator("#quote-subtotal")).to_have_text("120.00")
    assert list(quote.lines.values_list("product_id", flat=True)) == ["FL-2"]
    screenshot(page, "quote-recommendations")
