"""A rep opens a sent quote, sees its available-to-promise date, accepts it and lands on
the order page; the ERP (stub simulator) confirms and ships, the page shows it; axe
checks the order page."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from sales import quotes
from sales.models import SalesOrder
from sales.tests.order_erp import SKU, an_erp_with_stock, erp_lives
from sales.tests.quote_setup import a_quote, an_opportunity
from tests.browser.conftest import assert_accessible, screenshot
from tests.browser.test_journey import log_in
from tests.fixtures import Role, make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_rep_accepts_a_sent_quote_and_follows_the_order(page: Any, transactional_db: Any) -> None:
    # given: a sent quote for a product the ERP has in stock
    rita = make_user("rita", Role.SALES, first_name="Rita", last_name="Rep")
    erp = an_erp_with_stock()
    quote = a_quote(rita, an_opportunity(rita), [{"sku": SKU, "quantity": 2}])
    quote = quotes.quote_send(actor=rita, quote_id=quote.pk, expected_version=quote.version)
    log_in(page, "rita", "pw-rita")
    # when: the rep opens the quote
    page.goto(f"/sales/quotes/{quote.pk}/")
    # then: the ATP date of the line is shown
    expect(page.locator(".quote-lines")).to_contain_text(quote.promised_delivery_on.isoformat())
    # when: she accepts it
    page.get_by_role("button", name="Accept (place the order)").click()
    # then: the order page
    order = SalesOrder.objects.get()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Order {order.order_ref}")
    expect(page.locator("#order-status")).to_have_text("Submitted")
    expect(page.locator("#order-promised")).to_have_text(quote.promised_delivery_on.isoformat())
    # when: the outbox relays, the ERP works two days, we pull its events
    erp_lives(erp, 48)
    page.reload()
    # then: the mirror's statuses show
    expect(page.locator("#order-status")).to_have_text("Shipped")
    expect(page.locator("#order-history")).to_contain_text("Confirmed")
    expect(page.locator("#order-shipments")).to_be_visible()
    assert_accessible(page, "order")
    screenshot(page, "order")
