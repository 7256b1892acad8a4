"""A person's hand on a dead outbox message, from the monitor page, the admin or the API:

- replay: back in the queue with fresh attempts, once the cause is fixed;
- skip: never sent, with a reason (the ERP got the change another way, or it no longer
  matters); the aggregate's later messages, which it was holding back, go on.

Both are audited (`OutboxIntervention`: who, when, why, and the error they saw) and kick
the relay after commit.
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from backoffice_sync.models import InterventionAction, OutboxIntervention, OutboxMessage, OutboxStatus
from backoffice_sync.outbox import kick_relay_on_commit
from frontoffice.actors import describe, user_of
from frontoffice.errors import Conflict
from frontoffice.write_path import authorize, clean_text, lock

log = logging.getLogger(__name__)

REPLAY_PERMISSION = "backoffice_sync.replay_outboxmessage"
SKIP_PERMISSION = "backoffice_sync.skip_outboxmessage"
MAX_REASON_LENGTH = 1000


def _locked_dead(message_id: int, verb: str) -> OutboxMessage:
    message = lock(OutboxMessage, message_id, what="outbox message")
    if message.status != OutboxStatus.DEAD:
        raise Conflict(f"Only dead messages can be {verb}; this one is {message.status}.")
    return message


def _record(*, message: OutboxMessage, action: InterventionAction, actor: Any, reason: str) -> None:
    OutboxIntervention.objects.create(
        message=message,
        action=action,
        actor=user_of(actor),
        actor_name=describe(actor)[:150],
        reason=reason,
        error_then=message.last_error,
    )


@transaction.atomic
def outbox_replay(*, actor: Any, message_id: int, reason: str = "") -> OutboxMessage:
    """Put a dead message back in the queue with fresh attempts; it is relayed after commit
    (before its aggregate's later messages, which it was holding back)."""
    authorize(actor, REPLAY_PERMISSION, message="You may not replay outbox messages.")
    errors: dict[str, list[str]] = {}
    reason = clean_text(errors, "reason", reason, MAX_REASON_LENGTH)
    if errors:
        raise ValidationError(errors)
    message = _locked_dead(message_id, "replayed")
    _record(message=message, action=InterventionAction.REPLAY, actor=actor, reason=reason)
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
    log.info("outbox: %s replayed message %s (%s)", describe(actor), message.pk, message)
    kick_relay_on_commit()
    return message


@transaction.atomic
def outbox_skip(*, actor: Any, message_id: int, reason: Any) -> OutboxMessage:
    """Give up on a dead message for good, saying why: it is never sent, and its
    aggregate's later messages are relayed after commit."""
    authorize(actor, SKIP_PERMISSION, message="You may not skip outbox messages.")
    errors: dict[str, list[str]] = {}
    reason = clean_text(errors, "reason", reason, MAX_REASON_LENGTH)
    if not reason and not errors:
        errors["reason"] = ["Say why this message will never be sent to the ERP."]
    if errors:
        raise ValidationError(errors)
    message = _locked_dead(message_id, "skipped")
    _record(message=message, action=InterventionAction.SKIP, actor=actor, reason=reason)
    message.status = OutboxStatus.SKIPPED
    message.skipped_at = timezone.now()
    message.skipped_by = user_of(actor)
    message.skip_reason = reason
    message.save(update_fields=["status", "skipped_at", "skipped_by", "skip_reason", "updated_at"])
    log.warning("outbox: %s skipped message %s (%s): %s", describe(actor), message.pk, message, reason)
    kick_relay_on_commit()
    return message
