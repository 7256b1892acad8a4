"""The SLA clock of a case, as the case services move it (inside their transaction).

- `sla_start`: on opening, the policy for the case's priority and the customer's tier
  sets the first-response and resolution due times, in business time of its calendar.
- `sla_pause` / `sla_resume`: waiting on the customer stops the clock; on resuming, the
  due times still ahead move forward by the business time spent waiting.
- `sla_first_response` / `sla_resolved`: the attainment (`*_met`) is recorded once.

The sweep that warns and escalates is `service.escalation`.
"""

from __future__ import annotations

import datetime as dt

from service.models import BusinessCalendar, Case, SlaPolicy
from service.sla_clock import Calendar, add_business_time, business_seconds_between

ANY_TIER = ""


def calendar_of(row: BusinessCalendar) -> Calendar:
    """The pure calendar of a row, with its holidays (1 query)."""
    return Calendar.of(
        timezone=row.timezone,
        work_days=row.work_days,
        opens_at=row.opens_at,
        closes_at=row.closes_at,
        holidays=row.holidays.values_list("day", flat=True),
    )


def policy_for(*, priority: str, tier: str) -> SlaPolicy | None:
    """The policy of this priority for this tier, else the one for any tier (1 query)."""
    candidates = SlaPolicy.objects.filter(priority=priority, tier__in={tier, ANY_TIER}).select_related(
        "calendar"
    )
    by_tier = {policy.tier: policy for policy in candidates}
    return by_tier.get(tier) or by_tier.get(ANY_TIER)


def sla_start(case: Case, *, tier: str, now: dt.datetime) -> None:
    policy = policy_for(priority=case.priority, tier=tier)
    case.sla_policy = policy
    if policy is None:
        case.first_response_due_at = case.resolution_due_at = None
        return
    calendar = calendar_of(policy.calendar)
    case.first_response_due_at = add_business_time(calendar, now, policy.first_response_minutes * 60)
    case.resolution_due_at = add_business_time(calendar, now, policy.resolution_minutes * 60)


def sla_pause(case: Case, *, now: dt.datetime) -> None:
    if case.sla_paused_at is None:
        case.sla_paused_at = now


def sla_resume(case: Case, *, now: dt.datetime) -> None:
    """Restart a paused clock: every due time not yet reached moves by the business
    time spent paused."""
    paused_at = case.sla_paused_at
    if paused_at is None:
        return
    case.sla_paused_at = None
    if case.sla_policy is None:
        return
    calendar = calendar_of(case.sla_policy.calendar)
    paused = business_seconds_between(calendar, paused_at, now)
    case.sla_paused_seconds += paused
    if (
        case.first_response_at is None
        and case.first_response_due_at
        and case.first_response_due_at > paused_at
    ):
        case.first_response_due_at = add_business_time(calendar, case.first_response_due_at, paused)
    if case.resolution_due_at and case.resolution_due_at > paused_at:
        case.resolution_due_at = add_business_time(calendar, case.resolution_due_at, paused)


def sla_first_response(case: Case, *, now: dt.datetime) -> None:
    if case.first_response_at is not None:
        return
    case.first_response_at = now
    if case.first_response_due_at is not None:
        case.first_response_met = now <= case.first_response_due_at
        if not case.first_response_met:
            case.sla_breached = True


def sla_resolved(case: Case, *, now: dt.datetime) -> None:
    """Stop the clock at resolution and record whether it was in time (a reopened case
    keeps its first verdict: attainment is of the first resolution)."""
    if case.sla_paused_at is not None:
        sla_resume(case, now=now)
    sla_first_response(case, now=now)
    if case.resolution_due_at is not None and case.resolution_met is None:
        case.resolution_met = now <= case.resolution_due_at
        if not case.resolution_met:
            case.sla_breached = True


def sla_fields() -> list[str]:
    return [
        "sla_policy",
        "first_response_due_at",
        "resolution_due_at",
        "first_response_at",
        "sla_paused_at",
        "sla_paused_seconds",
        "first_response_met",
        "resolution_met",
        "sla_breached",
    ]
