"""A member of staff makes an API token on "My API tokens", uses it once, and revokes it;
the page passes axe-core with the new token on it."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect
from rest_framework.test import APIClient

from tests.browser.conftest import assert_accessible, screenshot
from tests.browser.test_journey import log_in
from tests.fixtures import Role, make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_token_is_made_shown_once_used_and_revoked_from_the_page(page: Any, transactional_db: Any) -> None:
    # given
    make_user("sam", Role.SERVICE_SUPERVISOR, first_name="Sam", last_name="Supervisor")
    log_in(page, "sam", "pw-sam")

    # when: from the header to the page, a token named after its use
    page.get_by_role("link", name="API tokens").click()
    page.get_by_label("Name").fill("Reporting script")
    page.get_by_label("Expires after (days)").fill("7")
    page.get_by_role("button", name="Create token").click()

    # then: shown once, and it works
    token = page.get_by_role("textbox", name="Token").input_value()
    assert len(token) == 64
    expect(page.locator("#api-tokens")).to_contain_text("Reporting script")
    assert_accessible(page, "api-tokens")
    screenshot(page, "api-tokens")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert client.get("/api/v1/customers/").status_code == 200
    page.goto("/accounts/tokens/")
    expect(page.get_by_role("textbox", name="Token")).to_have_count(0)

    # when: revoked
    page.get_by_role("button", name="Revoke Reporting script").click()

    # then
    expect(page.locator(".messages")).to_contain_text("Token revoked")
    expect(page.locator("#api-tokens")).to_contain_text("You have no API tokens.")
    assert client.get("/api/v1/customers/").status_code == 401
