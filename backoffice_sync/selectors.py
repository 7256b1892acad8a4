"""Reads of the back-office sync, each with a fixed query count."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Exists, Min, OuterRef, Q, QuerySet
from django.utils import timezone

from backoffice_sync.models import OutboxMessage, OutboxStatus
from frontoffice.write_path import authorize

VIEW_OUTBOX_PERMISSION = "backoffice_sync.view_outboxmessage"


@dataclass(frozen=True)
class OutboxHealth:
    """The outbox monitor's numbers.

    `blocked` counts pending messages that wait behind a dead message of their aggregate:
    delivery is strictly in order per aggregate, so they move only once it is replayed.
    `failed_recently` counts messages whose latest failed attempt lies in the window.
    """

    pending: int
    in_flight: int
    dead: int
    blocked: int
    oldest_pending_age: dt.timedelta | None
    delivered_recently: int
    failed_recently: int
    window: dt.timedelta


def _check_view(actor: Any) -> None:
    authorize(actor, VIEW_OUTBOX_PERMISSION, message="You may not see the outbox.")


def outbox_health(*, actor: Any, window_minutes: int = 15) -> OutboxHealth:
    """Counts for the monitor (2 queries, index-backed, whatever the table's size)."""
    _check_view(actor)
    now = timezone.now()
    window = dt.timedelta(minutes=window_minutes)
    since = now - window
    dead_earlier = OutboxMessage.objects.filter(
        aggregate=OuterRef("aggregate"), sequence__lt=OuterRef("sequence"), status=OutboxStatus.DEAD
    )
    pending = Q(status=OutboxStatus.PENDING)
    numbers = OutboxMessage.objects.filter(
        Q(status__in=[OutboxStatus.PENDING, OutboxStatus.DEAD])
        | Q(delivered_at__gte=since)
        | Q(last_failed_at__gte=since)
    ).aggregate(
        pending=Count("pk", filter=pending),
        in_flight=Count("pk", filter=pending & Q(locked_until__gt=now)),
        dead=Count("pk", filter=Q(status=OutboxStatus.DEAD)),
        oldest=Min("created_at", filter=pending),
        delivered=Count("pk", filter=Q(delivered_at__gte=since)),
        failed=Count("pk", filter=Q(last_failed_at__gte=since)),
    )
    blocked = OutboxMessage.objects.filter(pending, Exists(dead_earlier)).count()
    return OutboxHealth(
        pending=numbers["pending"],
        in_flight=numbers["in_flight"],
        dead=numbers["dead"],
        blocked=blocked,
        oldest_pending_age=(now - numbers["oldest"]) if numbers["oldest"] else None,
        delivered_recently=numbers["delivered"],
        failed_recently=numbers["failed"],
        window=window,
    )


def outbox_message_list(
    *, actor: Any, status: str | None = None, aggregate: str | None = None
) -> QuerySet[OutboxMessage]:
    """Messages for the monitor's list, newest first (1 query per page)."""
    _check_view(actor)
    queryset = OutboxMessage.objects.select_related("replayed_by").order_by("-id")
    if status:
        queryset = queryset.filter(status=status)
    if aggregate:
        queryset = queryset.filter(aggregate=aggregate)
    return queryset


WAITING_SHOWN_PER_DEAD = 20


@dataclass(frozen=True)
class WaitingBehind:
    """The pending messages a dead one holds back (delivery is in order per aggregate)."""

    count: int
    first: list[OutboxMessage]  # at most WAITING_SHOWN_PER_DEAD, in sequence order


def outbox_waiting_behind(*, actor: Any, dead: list[OutboxMessage]) -> dict[int, WaitingBehind]:
    """For each dead message, what waits behind it in its aggregate (1 query, none for
    no dead message): pending messages of the same aggregate with a later sequence. The
    index on (aggregate, sequence) for undelivered rows serves it."""
    _check_view(actor)
    if not dead:
        return {}
    rows = list(
        OutboxMessage.objects.filter(
            status=OutboxStatus.PENDING, aggregate__in={message.aggregate for message in dead}
        )
        .only("id", "kind", "aggregate", "sequence", "created_at")
        .order_by("aggregate", "sequence")
    )
    found: dict[int, WaitingBehind] = {}
    for message in dead:
        behind = [r for r in rows if r.aggregate == message.aggregate and r.sequence > message.sequence]
        found[message.pk] = WaitingBehind(count=len(behind), first=behind[:WAITING_SHOWN_PER_DEAD])
    return found
