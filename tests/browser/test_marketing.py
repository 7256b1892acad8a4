"""An admin builds a segment with the builder (rows, groups, the server's faults next to
the rule) and sees its live count and sample, configures and launches a campaign, and the
sent e-mail's unsubscribe link withdraws the recipient's consent. axe checks the builder
and the campaign page. Without JavaScript the rules' JSON box is the editor."""

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
    # when: the admin builds a segment with the builder, from the example rules
    page.get_by_role("link", name="Segments").click()
    page.get_by_role("link", name="New segment").click()
    page.get_by_label("Name", exact=True).fill("VIP subscribers")
    builder = page.locator("#rule-builder")
    rows = builder.locator("li.rule")
    expect(rows).to_have_count(2)
    builder.get_by_role("button", name="Remove rule 2").click()
    # then: the live count follows the rules (everyone with e-mail consent)
    expect(page.locator("#segment-count")).to_have_text("3")
    # when: a rule "has the tag vip" is added
    builder.get_by_role("button", name="Add rule", exact=True).click()
    expect(rows).to_have_count(2)
    expect(rows.nth(1).get_by_label("Field")).to_be_focused()  # the new rule's first input
    rows.nth(1).get_by_label("Field").select_option(label="Tag")
    expect(rows.nth(1).get_by_label("Operator")).to_have_value("has")
    rows.nth(1).get_by_label("Value").fill("vip")
    # then: the count and the sample follow
    expect(page.locator("#segment-count")).to_have_text("2")
    expect(page.locator("#segment-sample")).to_contain_text("Ada Reader")
    expect(page.locator("#segment-sample")).to_contain_text("Grace Reader")
    expect(page.locator("#segment-sample")).not_to_contain_text("Alan")
    # when: the value is cleared, the server's fault shows next to that rule
    rows.nth(1).get_by_label("Value").fill("")
    expect(page.locator("#preview-errors")).to_contain_text("rules.all.1.value")
    expect(rows.nth(1).locator(".rule__errors")).to_have_text("Expected some text.")
    expect(rows.nth(1).get_by_label("Value")).to_have_attribute("aria-invalid", "true")
    rows.nth(1).get_by_label("Value").press_sequentially("vip")
    expect(page.locator("#segment-count")).to_have_text("2")
    expect(rows.nth(1).locator(".rule__errors")).to_be_hidden()
    # when: a nested NOT group leaves Grace out, then is removed again
    builder.get_by_role("button", name="Add group", exact=True).press("Enter")  # the keyboard
    group = builder.locator("li.rule-group")
    expect(group.get_by_label("Match")).to_be_focused()
    group.get_by_label("Match").select_option("not")
    group.get_by_label("Field").select_option(label="First name")
    group.get_by_label("Value").fill("Grace")
    expect(page.locator("#segment-count")).to_have_text("1")
    assert_accessible(page, "segment builder")
    page.locator(".page-title").evaluate("title => title.scrollIntoView()")  # the builder and the count
    screenshot(page, "marketing-segment-builder")
    group.get_by_role("button", name="Remove group 3").click()
    expect(page.locator("#segment-count")).to_have_text("2")
    # then: the builder wrote the rules as JSON (the advanced view)
    rules = {
        "all": [
            {"field": "consent.email.marketing", "op": "eq", "value": "granted"},
            {"field": "tag", "op": "has", "value": "vip"},
        ]
    }
    page.get_by_text("Advanced: the rules as JSON").click()
    assert json.loads(page.get_by_label("Rules", exact=True).input_value()) == rules
    # when: the JSON is edited by hand, the builder redraws from it (and refuses a bad rule)
    page.get_by_label("Rules", exact=True).fill(json.dumps({"field": "tag", "op": "gt", "value": "vip"}))
    expect(page.locator("#preview-errors")).to_contain_text("rules.op")
    expect(page.locator("#rule-builder-notice")).to_be_visible()
    page.get_by_label("Rules", exact=True).fill(json.dumps({"field": "tag", "op": "has", "value": ""}))
    expect(rows).to_have_count(1)  # one rule alone: the builder's first row, its fault next to it
    expect(rows.nth(0).locator(".rule__errors")).to_have_text("Expected some text.")
    page.get_by_label("Rules", exact=True).fill(json.dumps(rules))
    expect(rows).to_have_count(2)
    expect(rows.nth(1).get_by_label("Value")).to_have_value("vip")
    expect(page.locator("#segment-count")).to_have_text("2")
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


def test_without_javascript_the_rules_box_is_the_editor(
    browser: Any, live_server: Any, transactional_db: Any
) -> None:
    # given
    make_user("boss", Role.ADMIN, is_staff=True)
    a_subscriber("Ada", "VIP")
    a_subscriber("Alan", "Regular")
    context = browser.new_context(java_script_enabled=False, base_url=live_server.url)
    page = context.new_page()
    log_in(page, "boss", "pw-boss")
    # when
    page.goto("/marketing/segments/new/")
    expect(page.locator("#rule-builder")).to_be_hidden()
    page.get_by_label("Name", exact=True).fill("VIPs")
    page.get_by_label("Rules", exact=True).fill(json.dumps({"field": "tag", "op": "has", "value": "vip"}))
    page.get_by_role("button", name="Save segment").click()
    # then: saved, and the page shows who is in it
    expect(page.locator("h1")).to_have_text("VIPs")
    expect(page.locator("#segment-count")).to_have_text("1")
    expect(page.locator("#segment-sample")).to_have_text(re.compile(r"^\s*Ada Reader"))
    context.close()


class mail_sent:
    """Clear the outbox before the block (the room's delivery runs eagerly in tests)."""

    def __enter__(self) -> None:
        mail.outbox = []

    def __exit__(self, *exc: object) -> None:
        return None
