"""A member of staff's first minutes: log in, find a customer, open the 360 page,
edit with a mistake and then correctly. Every page passes an axe-core check."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from customers import services
from customers.consent import consent_record
from customers.timeline import activity_log
from tests.browser.conftest import assert_accessible, screenshot
from tests.fixtures import Role, make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def staff(transactional_db: Any) -> Any:
    return make_user("sam", Role.SERVICE_SUPERVISOR, first_name="Sam", last_name="Supervisor")


@pytest.fixture
def customer(staff: Any) -> Any:
    org = services.customer_create(actor=staff, kind="organisation", organisation_name="Harbour Foods Ltd")
    person = services.customer_create(
        actor=staff,
        kind="person",
        first_name="Grace",
        last_name="Hopper",
        lifecycle_stage="customer",
        tags=["VIP"],
        contact_points=[
            {"kind": "email", "value": "grace.hopper@harbour.example"},
            {"kind": "phone", "value": "+44 20 7946 0321"},
        ],
    )
    services.relationship_set(actor=staff, person_id=person.pk, organisation_id=org.pk, role="Buyer")
    for n in range(3):
        activity_log(actor=staff, customer_id=person.pk, kind="call", subject=f"Follow-up call {n + 1}")
    consent_record(
        actor=staff,
        customer_id=person.pk,
        channel="email",
        purpose="newsletter",
        granted=True,
        source="web form",
    )
    return person


def log_in(page: Any, username: str, password: str) -> None:
    page.goto("/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.get_by_role("button", name="Log in").click()


def test_login_search_open_360_and_edit_with_an_error_then_correctly(
    page: Any, staff: Any, customer: Any
) -> None:
    # given: the login page
    page.goto("/customers/")
    expect(page).to_have_url(re.compile(r"/accounts/login/"))
    assert_accessible(page, "login")
    screenshot(page, "login")

    # when: a wrong password, then the right one
    log_in(page, "sam", "wrong")
    expect(page.locator("#error-summary")).to_be_visible()
    log_in(page, "sam", "pw-sam")
    expect(page.get_by_role("button", name="Log out")).to_be_visible()
    assert_accessible(page, "dashboard")
    screenshot(page, "dashboard")

    # when: searching as you type, by part of the name
    page.fill("#global-search-input", "hopp")
    result = page.locator("#global-search-results a.search-result").first
    expect(result).to_contain_text("Grace Hopper")
    screenshot(page, "search")
    assert_accessible(page, "search results")

    # then: the 360 page shows the profile, contact points, relations, consent and timeline
    result.click()
    expect(page).to_have_url(re.compile(rf"/customers/{customer.pk}/$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("Grace Hopper")
    expect(page.locator("main")).to_contain_text("grace.hopper@harbour.example")
    expect(page.locator("main")).to_contain_text("Harbour Foods Ltd")
    # three calls and the consent, newest first
    expect(page.locator("#timeline-list .timeline__item")).to_have_count(customer.activities.count())
    expect(page.locator("#timeline-list .timeline__item").first).to_contain_text("Granted newsletter")
    # the other apps' panels load on their own (HTMX)
    expect(page.locator("#panel-invoices_balance")).to_contain_text("No invoices yet.")
    assert_accessible(page, "customer 360")
    screenshot(page, "customer-360")

    # when: an edit with a mistake (a person without any name)
    page.click("#edit-customer")
    page.fill("#id_first_name", "")
    page.fill("#id_last_name", "")
    page.click("#customer-save")
    # then: the error is shown inline and in the summary; nothing was written
    expect(page.locator("#error-summary")).to_be_visible()
    expect(page.locator("#id_last_name")).to_have_attribute("aria-invalid", "true")
    assert_accessible(page, "edit form with errors")
    screenshot(page, "edit-error")
    customer.refresh_from_db()
    assert (customer.first_name, customer.version) == ("Grace", 1)

    # when: corrected
    page.fill("#id_first_name", "Grace")
    page.fill("#id_last_name", "Brewster Hopper")
    page.click("#customer-save")
    # then
    expect(page).to_have_url(re.compile(rf"/customers/{customer.pk}/$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("Grace Brewster Hopper")
    customer.refresh_from_db()
    assert customer.last_name == "Brewster Hopper"
    assert customer.version == 2


def test_the_customer_list_filters_and_is_accessible(page: Any, staff: Any, customer: Any) -> None:
    # given
    log_in(page, "sam", "pw-sam")
    # when
    page.goto("/customers/")
    page.fill("#id_q", "grace.hopper@")
    page.get_by_role("button", name="Apply filters").click()
    # then
    expect(page.locator("#customer-results")).to_contain_text("Grace Hopper")
    expect(page.locator("#customer-results")).not_to_contain_text("Harbour Foods Ltd")
    assert_accessible(page, "customer list")
    screenshot(page, "customers")


def test_a_user_without_the_role_sees_the_not_allowed_page(
    page: Any, transactional_db: Any, customer: Any
) -> None:
    # given
    make_user("outsider")
    log_in(page, "outsider", "pw-outsider")
    # when
    response = page.goto(f"/customers/{customer.pk}/")
    # then
    assert response is not None
    assert response.status == 403
    expect(page.get_by_role("heading", level=1)).to_contain_text("You may not do this")
    assert_accessible(page, "403")
