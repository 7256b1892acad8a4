"""An admin builds a segment and sees its live count, configures and launches a
campaign, and the sent e-mail's unsubscribe link withdraws the recipient's consent.
axe checks the builder and the campaign page."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from django.core import mail
from playwright.sync_api import expect

from customers import services as customer_services
from customers.consent import consent_record
from customers.models import ConsentEvent
from frontoffice.actors import MAINTENANCE
from marketing.models import Campaign
from tests.browser.conftest import assert_accessible, screenshot
from tests.browser.test_journey import log_in
from tests.fixtures import Role, make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def a_subscriber(first: str, tag: str) -> Any:
    customer = customer_services.customer_create(
        actor=MAINTENANCE,
        kind="person",
        first_name=first,
        last_name="Reader",
        tags=[tag],
        contact_points=[{"kind": "email", "value": f"{first.lower()}@example.com"}],
    )
    consent_record(
        actor=MAINTENANCE,
        customer_id=customer.pk,
        channel="email",
        purpose="marketing",
        granted=True,
        source="test",
    )
    return customer


def test_an_admin_builds_a_segment_launches_a_campaign_and_unsubscribe_withdraws_consent(
    page: Any, transactional_db: Any
) -> None:
    # given: subscribers, two of them VIPs
    make_user("boss", Role.ADMIN, is_staff=True)
    ada = a_subscriber("Ada", "VIP")
    a_subscriber("Grace", "VIP")
    a_subscriber("Alan", "Regular")
    log_in(page, "boss", "pw-boss")
    # when: the admin builds a segment
    page.get_by_role("link", name="Segments").click()
    page.get_by_role("link", name="New segment").click()
    page.get_by_label("Name").fill("VIP subscribers")
    rules = {
        "all": [
            {"field": "tag", "op": "has", "value": "vip"},
            {"field": "consent.email.marketing", "op": "eq", "value": "granted"},
        ]
    }
    page.get_by_label("Rules").fill(json.dumps(rules))
    # then: the live count follows the rules
    expect(page.locator("#segment-count")).to_have_text("2")
    page.get_by_label("Rules").fill(json.dumps({"field": "tag", "op": "gt", "value": "vip"}))
    expect(page.locator("#preview-errors")).to_contain_text("rules.op")
    page.get_by_label("Rules").fill(json.dumps(rules))
    expect(page.locator("#segment-count")).to_have_text("2")
    assert_accessible(page, "segment builder")
    screenshot(page, "marketing-segment-builder")
    page.get_by_role("button", name="Save segment").click()
    # when: a campaign to it is configured and launched
    page.get_by_role("link", name="Campaigns").click()
    page.get_by_role("link", name="New campaign").click()
    page.get_by_label("Name").fill("VIP spring offer")
    page.get_by_label("Segment").select_option(label="VIP subscribers")
    page.get_by_label("Budget").fill("250")
    page.get_by_label("E-mail subject").fill("Spring for you, {{ first_name }}")
    page.get_by_label("E-mail body").fill("Hello {{ first_name }}, see https://shop.example.com/spring")
    page.get_by_role("button", name="Save campaign").click()
    expect(page.locator("#preview-subject")).to_have_text("Spring for you, Ada")
    with mail_sent():
        page.get_by_role("button", name="Launch now").click()
        expect(page.locator("#campaign-status")).to_have_text("Running")
    expect(page.locator("#audience-count")).to_have_text("2")
    assert_accessible(page, "campaign page")
    screenshot(page, "marketing-campaign")
    campaign = Campaign.objects.get(name="VIP spring offer")
    # then: each VIP got one e-mail, with the unsubscribe headers
    sent = [m for m in mail.outbox if m.subject.startswith("Spring for you")]
    assert sorted(m.to[0] for m in sent) == ["ada@example.com", "grace@example.com"]
    to_ada = next(m for m in sent if m.to == ["ada@example.com"])
    assert to_ada.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    link = re.search(r"https?://[^\s>]+/marketing/u/[^\s>]+/", to_ada.body)
    assert link is not None, to_ada.body
    # when: Ada follows the unsubscribe link
    page.goto(re.sub(r"^https?://[^/]+", "", link.group(0)))
    page.get_by_role("button", name="Unsubscribe").click()
    # then: her consent is withdrawn in the ledger
    expect(page.locator("#unsubscribed")).to_be_visible()
    latest = ConsentEvent.objects.filter(customer=ada, channel="email", purpose="marketing").first()
    assert latest is not None
    assert latest.granted is False
    assert campaign.members.get(customer=ada).status == "unsubscribed"


class mail_sent:
    """Clear the outbox before the block (the room's delivery runs eagerly in tests)."""

    def __enter__(self) -> None:
        mail.outbox = []

    def __exit__(self, *exc: object) -> None:
        return None
