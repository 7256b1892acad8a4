"""At phone width (390 x 844) the header and the menu fold: the page's content starts
near the top, and a "Menu" button opens the navigation (aria-expanded follows)."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.test_journey import log_in
from tests.fixtures import Role, make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_at_phone_width_the_header_folds_behind_a_menu_button(browser: Any, live_server: Any) -> None:
    # given: a phone-sized window
    context = browser.new_context(viewport={"width": 390, "height": 844}, base_url=live_server.url)
    page = context.new_page()
    make_user("alex", Role.SERVICE_AGENT, first_name="Alex", last_name="Agent")
    log_in(page, "alex", "pw-alex")
    page.goto("/customers/")
    # then: the header takes a small part of the screen, the navigation is folded away
    header = page.locator(".site-header").bounding_box()
    assert header is not None
    assert header["height"] <= 844 * 0.2, header
    nav = page.get_by_role("navigation", name="Main")
    expect(nav).to_be_hidden()
    button = page.get_by_role("button", name="Menu")
    expect(button).to_have_attribute("aria-expanded", "false")
    # when: the menu opens
    button.click()
    # then
    expect(nav).to_be_visible()
    expect(button).to_have_attribute("aria-expanded", "true")
    expect(nav.get_by_role("link", name="Customers")).to_be_visible()
    context.close()


def test_on_a_wide_screen_the_menu_stays_open_without_a_button(browser: Any, live_server: Any) -> None:
    context = browser.new_context(viewport={"width": 1366, "height": 768}, base_url=live_server.url)
    page = context.new_page()
    make_user("alex", Role.SERVICE_AGENT)
    log_in(page, "alex", "pw-alex")
    page.goto("/customers/")
    expect(page.get_by_role("navigation", name="Main")).to_be_visible()
    expect(page.get_by_role("button", name="Menu")).to_be_hidden()
    context.close()
