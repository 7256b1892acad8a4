"""Notifications to staff (SLA warnings, escalations, goodwill to decide), written in
the caller's transaction and shown on the console until read."""

from __future__ import annotations

from collections.abc import Iterable

from service.models import AgentNotification, Case


def notify(*, recipient_ids: Iterable[int | None], kind: str, message: str, case: Case | None = None) -> int:
    """One notification per distinct recipient (None ids are skipped); how many were written."""
    ids = sorted({pk for pk in recipient_ids if pk is not None})
    AgentNotification.objects.bulk_create(
        [AgentNotification(recipient_id=pk, case=case, kind=kind, message=message[:300]) for pk in ids]
    )
    return len(ids)
