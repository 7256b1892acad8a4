"""Who gets a case in a queue: round robin over the members, or the member with the
fewest open cases. Runs inside the caller's transaction with the queue row locked, so
two cases opened at once do not both go to the same "next" member."""

from __future__ import annotations

from django.db.models import Count, Q

from frontoffice.models import User
from service.choices import OPEN_STATUSES, AssignmentStrategy
from service.models import Queue


def members_of(queue: Queue) -> list[User]:
    return list(queue.members.filter(is_active=True).order_by("id"))


def pick_assignee(queue: Queue) -> User | None:
    """The member the next case of `queue` goes to (None for a manual queue or one
    without active members); round robin remembers its choice on the (locked) queue."""
    if queue.strategy == AssignmentStrategy.MANUAL:
        return None
    if queue.strategy == AssignmentStrategy.LEAST_LOADED:
        return (
            queue.members.filter(is_active=True)
            .annotate(load=Count("service_cases", filter=Q(service_cases__status__in=OPEN_STATUSES)))
            .order_by("load", "id")
            .first()
        )
    members = members_of(queue)
    if not members:
        return None
    last = queue.last_assigned_id
    chosen = next((m for m in members if last is not None and m.pk > last), members[0])
    queue.last_assigned = chosen
    queue.save(update_fields=["last_assigned", "updated_at"])
    return chosen
