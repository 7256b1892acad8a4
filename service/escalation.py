"""The SLA sweep (beat: `service.tasks.sla_sweep`, every minute): warns the assignee
before a due time, and on a breach escalates the case to the supervisor queue (assigned
by that queue's strategy) and notifies the supervisors and the agent who had it.

Bounded: at most `batch` cases of each kind per run, oldest due first; one transaction
per case (locked and re-checked, so two sweeps never escalate one case twice)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Max, Q, QuerySet
from django.utils import timezone

from frontoffice.actors import SCHEDULER, Actor
from frontoffice.write_path import audit, bump_version
from service.assignment import members_of, pick_assignee
from service.choices import OPEN_STATUSES
from service.models import Case, Queue, SlaPolicy
from service.notifications import notify
from service.services import CaseActivity, lock_case, record, system_note

BATCH = 200


@dataclass
class SweepReport:
    warned: int = 0
    escalated: int = 0


def _running() -> QuerySet[Case]:
    """Open cases whose clock runs (not paused) and has not escalated yet."""
    return Case.objects.filter(
        status__in=OPEN_STATUSES, sla_paused_at__isnull=True, escalated_at__isnull=True
    )


def _breached(now: dt.datetime) -> Q:
    return Q(first_response_at__isnull=True, first_response_due_at__lt=now) | Q(resolution_due_at__lt=now)


def is_breached(case: Case, now: dt.datetime) -> bool:
    if (
        case.first_response_at is None
        and case.first_response_due_at is not None
        and case.first_response_due_at < now
    ):
        return True
    return case.resolution_due_at is not None and case.resolution_due_at < now


def due_soon(case: Case, now: dt.datetime) -> bool:
    warn = dt.timedelta(minutes=case.sla_policy.warn_before_minutes if case.sla_policy else 0)
    dues = [case.resolution_due_at]
    if case.first_response_at is None:
        dues.append(case.first_response_due_at)
    return any(due is not None and now <= due <= now + warn for due in dues)


def supervisor_queue_for(case: Case) -> Queue | None:
    if case.queue is not None and case.queue.escalation_queue_id is not None:
        return case.queue.escalation_queue
    return Queue.objects.filter(is_supervisor=True).order_by("id").first()


@transaction.atomic
def case_escalate(*, actor: Actor, case_id: int, now: dt.datetime | None = None) -> Case | None:
    """Escalate one breached case (None when it no longer needs it)."""
    now = now or timezone.now()
    case = lock_case(case_id)
    if (
        case.status not in OPEN_STATUSES
        or case.escalated_at
        or case.sla_paused_at
        or not is_breached(case, now)
    ):
        return None
    previous = case.assignee_id
    target = supervisor_queue_for(case)
    case.sla_breached = True
    case.escalated_at = now
    if target is not None and target.pk != case.queue_id:
        target = Queue.objects.select_for_update().get(pk=target.pk)
        case.queue = target
        case.assignee = pick_assignee(target)
    bump_version(case)
    audit(case, actor, reason="SLA breached: escalated")
    case.save()
    what = (
        "first response"
        if case.first_response_at is None and case.first_response_due_at and case.first_response_due_at < now
        else "resolution"
    )
    message = f"{case.reference} breached its {what} SLA and was escalated to {target or 'supervisors'}."
    system_note(case, actor, message)
    record(
        case,
        actor,
        CaseActivity.ESCALATED,
        f"Case {case.reference} escalated: {what} SLA breached",
        target=what,
    )
    supervisors = [m.pk for m in members_of(target)] if target is not None else []
    notify(
        recipient_ids=[*supervisors, previous, case.assignee_id],
        kind="sla_breached",
        message=message,
        case=case,
    )
    return case


@transaction.atomic
def _warn(case_id: int, now: dt.datetime) -> bool:
    case = lock_case(case_id)
    if case.sla_warned_at is not None or not due_soon(case, now) or case.assignee_id is None:
        return False
    Case.objects.filter(pk=case.pk).update(sla_warned_at=now)
    due = case.resolution_due_at if case.first_response_at is not None else case.first_response_due_at
    when = timezone.localtime(due).strftime("%d %b %H:%M") if due else "soon"
    notify(
        recipient_ids=[case.assignee_id],
        kind="sla_warning",
        message=f"{case.reference} is due by {when}: {case.subject}",
        case=case,
    )
    return True


def sla_sweep(*, actor: Actor = SCHEDULER, now: dt.datetime | None = None, batch: int = BATCH) -> SweepReport:
    """Warn before and escalate on SLA breaches (see the module docstring)."""
    now = now or timezone.now()
    report = SweepReport()
    breached = list(
        _running()
        .filter(_breached(now))
        .order_by("resolution_due_at", "id")
        .values_list("pk", flat=True)[:batch]
    )
    for pk in breached:
        if case_escalate(actor=actor, case_id=pk, now=now) is not None:
            report.escalated += 1
    horizon = now + dt.timedelta(minutes=SlaPolicy.objects.aggregate(m=Max("warn_before_minutes"))["m"] or 0)
    soon = (
        _running()
        .filter(sla_warned_at__isnull=True, assignee__isnull=False)
        .filter(
            Q(first_response_at__isnull=True, first_response_due_at__lte=horizon)
            | Q(resolution_due_at__lte=horizon)
        )
        .order_by("resolution_due_at", "id")
        .values_list("pk", flat=True)[:batch]
    )
    for pk in list(soon):
        if _warn(pk, now):
            report.warned += 1
    return report
