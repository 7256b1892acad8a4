"""Replay: a dead outbox message back in the queue, from the monitor page, the admin or
the API, once the back office has fixed what the ERP refused."""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction
from django.utils import timezone

from backoffice_sync.models import OutboxMessage, OutboxStatus
from backoffice_sync.outbox import kick_relay_on_commit
from frontoffice.actors import user_of
from frontoffice.errors import Conflict
from frontoffice.write_path import authorize, lock

log = logging.getLogger(__name__)

REPLAY_PERMISSION = "backoffice_sync.replay_outboxmessage"


@transaction.atomic
def outbox_replay(*, actor: Any, message_id: int) -> OutboxMessage:
    """Put a dead message back in the queue with fresh attempts; it is relayed after commit
    (before its aggregate's later messages, which it was holding back)."""
    authorize(actor, REPLAY_PERMISSION, message="You may not replay outbox messages.")
    message = lock(OutboxMessage, message_id, what="outbox message")
    if message.status != OutboxStatus.DEAD:
        raise Conflict(f"Only dead messages can be replayed; this one is {message.status}.")
    now = timezone.now()
    message.status = OutboxStatus.PENDING
    message.attempts = 0
    message.next_attempt_at = now
    message.locked_until = None
    message.claimed_by = ""
    message.dead_at = None
    message.replays += 1
    message.replayed_at = now
    message.replayed_by = user_of(actor)
    message.save(
        update_fields=[
            "status",
            "attempts",
            "next_attempt_at",
            "locked_until",
            "claimed_by",
            "dead_at",
            "replays",
            "replayed_at",
            "replayed_by",
            "updated_at",
        ]
    )
    log.info("outbox: %s replayed message %s (%s)", actor, message.pk, message)
    kick_relay_on_commit()
    return message
