"""The back office's sync monitor and the availability page, in a real browser, with an
axe-core check."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from django.db import transaction
from django.utils import timezone
from playwright.sync_api import expect

from backoffice_sync.erp import MessageKind
from backoffice_sync.models import OutboxMessage, OutboxStatus
from backoffice_sync.outbox import outbox_enqueue
from backoffice_sync.tests.inbox_helpers import product_event, receive_and_apply, stock_event
from tests.browser.conftest import assert_accessible, screenshot
from tests.browser.test_journey import log_in
from tests.fixtures import Role, make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_back_office_replays_a_dead_letter_from_the_monitor(page: Any, transactional_db: Any) -> None:
    # given: a message the ERP refused
    make_user("bo", Role.BACK_OFFICE, first_name="Bo", last_name="Backoffice")
    with transaction.atomic():
        message = outbox_enqueue(
            kind=MessageKind.ORDER_CANCEL,
            aggregate="order:FO-77",
            payload={"order_ref": "FO-77", "reason": ""},
        )
    OutboxMessage.objects.filter(pk=message.pk).update(
        status=OutboxStatus.DEAD, dead_at=timezone.now(), attempts=8, last_error="ERP: no such order FO-77"
    )
    log_in(page, "bo", "pw-bo")
    # when
    page.get_by_role("link", name="Sync monitor").click()
    # then
    expect(page.get_by_role("heading", level=1)).to_have_text("Sync monitor")
    expect(page.locator("#dead-letters")).to_contain_text("ERP: no such order FO-77")
    assert_accessible(page, "sync monitor")
    screenshot(page, "sync-monitor")
    # when
    page.get_by_role("button", name=re.compile(f"Replay.*{message.pk}")).click()
    # then
    expect(page.locator(".messages")).to_contain_text("queued again")
    message.refresh_from_db()
    assert message.replays == 1


def test_a_rep_asks_when_the_back_office_can_deliver(page: Any, transactional_db: Any) -> None:
    # given
    make_user("rita", Role.SALES, first_name="Rita", last_name="Rep")
    receive_and_apply(product_event("FO-1001", name="Pallet jack", lead_time_days=12))
    receive_and_apply(stock_event("FO-1001", on_hand=4))
    log_in(page, "rita", "pw-rita")
    page.get_by_role("link", name="Availability").click()
    # when: more than is in stock, for the day after tomorrow
    page.fill("#id_sku", "FO-1001")
    page.fill("#id_quantity", "10")
    page.fill("#id_requested_date", (timezone.localdate() + dt.timedelta(days=2)).isoformat())
    page.click("#atp-check")
    # then
    expect(page.locator("#atp-cannot-meet")).to_be_visible()
    expect(page.locator("#atp-answer")).to_contain_text("lead time of 12 days")
    assert_accessible(page, "availability")
    screenshot(page, "availability")
