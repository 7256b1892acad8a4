"""Notifications to staff (SLA warnings, escalations, goodwill to decide), written in
the caller's transaction and shown on the console until read."""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction
from django.utils import timezone

from frontoffice.actors import Actor, user_of
from frontoffice.write_path import require_actor
from service.models import AgentNotification, Case


def notify(*, recipient_ids: Iterable[int | None], kind: str, message: str, case: Case | None = None) -> int:
    """One notification per distinct recipient (None ids are skipped); how many were written."""
    ids = sorted({pk for pk in recipient_ids if pk is not None})
    AgentNotification.objects.bulk_create(
        [AgentNotification(recipient_id=pk, case=case, kind=kind, message=message[:300]) for pk in ids]
    )
    return len(ids)


@transaction.atomic
def notifications_mark_read(*, actor: Actor) -> int:
    """Mark every unread notification of the actor as read; how many there were."""
    require_actor(actor)
    user = user_of(actor)
    if user is None:
        return 0
    return AgentNotification.objects.filter(recipient=user, read_at__isnull=True).update(
        read_at=timezone.now()
    )
