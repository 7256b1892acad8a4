"""The whole sales journey in a browser: a rep converts a lead (matched to the existing
customer, never a silent duplicate), builds a quote on the opportunity whose line shows
the available-to-promise date, sends it, accepts it and lands on the order page; the ERP
(stub simulator) confirms and ships after a tick, and the page shows it. axe checks the
quote builder and the order page."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.core import mail
from playwright.sync_api import expect

from customers import services as customer_services
from sales.leads import services as lead_services
from sales.models import Opportunity, Quote, SalesOrder
from sales.quotes import selectors_atp as quote_atp
from sales.tests.order_erp import SKU, an_erp_with_stock, erp_lives
from sales.tests.quote_setup import in_days
from tests.browser.conftest import assert_accessible, screenshot
from tests.browser.test_journey import log_in
from tests.fixtures import Role, make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_rep_takes_a_lead_to_a_shipped_order(page: Any, transactional_db: Any) -> None:
    # given: a customer on file, a lead from the same buyer, a product the ERP has in stock
    rita = make_user("rita", Role.SALES, first_name="Rita", last_name="Rep")
    customer = customer_services.customer_create(
        actor=rita,
        kind="organisation",
        organisation_name="Hopper Labs",
        contact_points=[{"kind": "email", "value": "buyer@hopper.test"}],
    )
    lead = lead_services.lead_create(
        actor=rita,
        organisation_name="Hopper Labs",
        last_name="Hopper",
        email="buyer@hopper.test",
        title="Pallet jacks for the new hall",
    )
    erp = an_erp_with_stock()
    log_in(page, "rita", "pw-rita")
    # when: the rep converts the lead into the customer it matches
    page.goto(f"/sales/leads/{lead.pk}/")
    page.get_by_role("link", name="Convert").click()
    page.get_by_role("radio", name=re.compile("Hopper Labs")).first.check()
    page.get_by_role("button", name="Convert lead").click()
    # then: an opportunity of that very customer
    expect(page.get_by_role("heading", level=1)).to_have_text("Pallet jacks for the new hall")
    opportunity = Opportunity.objects.get()
    assert opportunity.customer_id == customer.pk
    # when: a quote with one line of the stocked product
    page.get_by_role("link", name="New quote").click()
    page.get_by_label("Valid until").fill(in_days(30).isoformat())
    page.get_by_role("button", name="Create the draft").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Quote Q-")
    page.get_by_label("Line 1 SKU").fill(SKU)
    page.get_by_label("Line 1 quantity").fill("2")
    page.get_by_role("button", name="Save the quote").click()
    # then: the line shows the date the back office can deliver
    expect(page.locator(".quote-lines")).to_contain_text(SKU)
    quote = Quote.objects.get()
    atp = quote_atp.quote_delivery(quote=quote, lines=list(quote.lines.all())).promised_on
    assert atp is not None
    expect(page.locator(".quote-lines")).to_contain_text(atp.isoformat())
    assert_accessible(page, "quote builder")
    screenshot(page, "quote-builder")
    # when: sent to the customer's primary e-mail, then accepted
    page.get_by_role("button", name="Send by e-mail").click()
    expect(page.locator("#quote-status")).to_have_text("Sent")
    assert [message.to for message in mail.outbox] == [["buyer@hopper.test"]]
    page.get_by_role("button", name="Accept (place the order)").click()
    # then: the order page
    expect(page.locator("#order-status")).to_have_text("Submitted")
    order = SalesOrder.objects.get()
    quote.refresh_from_db()
    assert (order.quote_id, quote.promised_delivery_on) == (quote.pk, atp)
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Order {order.order_ref}")
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
