"""After logging a call, the confirmation is where the person is looking: inside the
viewport, in the section of the form they used, announced politely (role=status)."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from customers import services as customer_services
from customers.models import Activity
from tests.browser.test_journey import log_in
from tests.fixtures import Role, make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_confirmation_of_a_logged_call_is_shown_in_the_viewport_next_to_the_form(
    page: Any, transactional_db: Any
) -> None:
    # given: a customer with a long profile above the form (contacts, consent, relations)
    alex = make_user("alex", Role.SERVICE_AGENT, first_name="Alex", last_name="Agent")
    customer = customer_services.customer_create(
        actor=alex,
        kind="person",
        first_name="Lynda",
        last_name="Wells",
        contact_points=[
            {"kind": "email", "value": "lynda@example.com"},
            {"kind": "phone", "value": "+44 20 7946 0123"},
        ],
    )
    log_in(page, "alex", "pw-alex")
    page.goto(f"/customers/{customer.pk}/")
    # when: the agent logs a call
    section = page.get_by_role("region", name="Log a note or call")
    section.get_by_label("Type").select_option("call")
    section.get_by_label("Subject").fill("Called about the late delivery")
    section.get_by_role("button", name="Add to timeline").click()
    # then: the confirmation is inside the viewport, in the activity section
    done = page.locator("#activity-done")
    expect(done).to_contain_text("Logged on the timeline.")
    box = done.bounding_box()
    viewport = page.viewport_size
    assert box is not None
    assert box["y"] >= 0, box
    assert box["y"] + box["height"] <= viewport["height"], box
    assert done.get_attribute("role") == "status"
    assert page.locator("#activity-section #activity-done").count() == 1
    assert Activity.objects.filter(customer=customer, subject="Called about the late delivery").exists()
