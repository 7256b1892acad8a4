"""The read-only admin of the inbox and the mirrors, and its "apply again" action."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from backoffice_sync import inbox
from backoffice_sync.models import InboxStatus, StockLevel
from backoffice_sync.tests.inbox_helpers import (
    a_customer,
    invoice_event,
    product_event,
    receive_and_apply,
    stock_event,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def superuser_client() -> Client:
    user = get_user_model().objects.create_superuser("root", "root@example.com", "pw")
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.parametrize(
    "model",
    [
        "inboxevent",
        "inboxaggregate",
        "synccursor",
        "product",
        "stocklevel",
        "erporder",
        "shipment",
        "invoice",
        "payment",
        "creditnote",
        "customerbalance",
    ],
)
def test_every_inbox_and_mirror_table_can_be_read_in_the_admin(superuser_client: Client, model: str) -> None:
    # given
    receive_and_apply(product_event())
    receive_and_apply(stock_event())
    receive_and_apply(invoice_event(a_customer()))

    # when
    response = superuser_client.get(reverse(f"admin:backoffice_sync_{model}_changelist"))

    # then
    assert response.status_code == 200
    assert reverse(f"admin:backoffice_sync_{model}_add") not in response.content.decode()


def test_the_admin_applies_a_rejected_event_again(superuser_client: Client) -> None:
    # given: stock that gave up waiting for its product, then the product
    row, _ = inbox.inbox_receive(event=stock_event(on_hand=3), via="poll")
    for _ in range(inbox.MAX_APPLY_ATTEMPTS):
        inbox.inbox_apply_or_defer(inbox_event_id=row.pk)
    receive_and_apply(product_event())

    # when
    response = superuser_client.post(
        reverse("admin:backoffice_sync_inboxevent_changelist"),
        {"action": "retry", "_selected_action": [row.pk]},
        follow=True,
    )

    # then
    assert response.status_code == 200
    row.refresh_from_db()
    assert row.status == InboxStatus.APPLIED
    assert StockLevel.objects.get().on_hand == 3
