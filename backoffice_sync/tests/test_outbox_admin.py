"""The outbox in the admin: read-only, with a replay action for those allowed to replay."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import transaction
from django.test import Client, override_settings
from django.urls import reverse

from backoffice_sync.erp import MessageKind
from backoffice_sync.models import OutboxMessage, OutboxStatus
from backoffice_sync.outbox import outbox_enqueue, relay_due
from backoffice_sync.tests.outbox_fakes import FakeErp
from tests.fixtures import Role, make_user

pytestmark = pytest.mark.django_db


def dead_message() -> OutboxMessage:
    """A message the ERP refused as often as it may be (once)."""
    with override_settings(OUTBOX_MAX_ATTEMPTS=1):
        return _refused()


def _refused() -> OutboxMessage:
    with transaction.atomic():
        message = outbox_enqueue(kind=MessageKind.ORDER_SUBMIT, aggregate="order:SO-1", payload={})
    relay_due(adapter=FakeErp(reject=lambda m: "unknown SKU"))
    message.refresh_from_db()
    assert message.status == OutboxStatus.DEAD
    return message


def test_an_admin_replays_a_dead_message_from_the_list(admin_user: Any, client: Client) -> None:
    # given
    message = dead_message()
    client.force_login(admin_user)

    # when
    response = client.post(
        reverse("admin:backoffice_sync_outboxmessage_changelist"),
        {"action": "replay", "_selected_action": [message.pk]},
        follow=True,
    )

    # then
    assert response.status_code == 200
    assert "Replayed 1 of 1" in response.content.decode()
    message.refresh_from_db()
    assert message.status == OutboxStatus.PENDING
    assert message.replayed_by == admin_user


def test_the_admin_shows_messages_read_only(admin_user: Any, client: Client) -> None:
    # given
    message = dead_message()
    client.force_login(admin_user)

    # when
    page = client.get(reverse("admin:backoffice_sync_outboxmessage_change", args=[message.pk]))
    add = client.get(reverse("admin:backoffice_sync_outboxmessage_add"))

    # then
    assert page.status_code == 200
    assert "unknown SKU" in page.content.decode()
    assert add.status_code == 403


def test_staff_without_the_replay_right_get_no_replay_action(client: Client) -> None:
    # given: staff who may view the outbox but not replay
    from django.contrib.auth.models import Permission

    viewer = make_user("viewer", Role.SALES, is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_outboxmessage"))
    dead_message()
    client.force_login(viewer)

    # when
    response = client.get(reverse("admin:backoffice_sync_outboxmessage_changelist"))

    # then
    assert response.status_code == 200
    assert 'value="replay"' not in response.content.decode()
