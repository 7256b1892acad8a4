"""Every write of a case: one function per business action, one transaction each,
keyword-only; the timeline entry and the audit row commit with the change.

Status changes follow `TRANSITIONS`; the SLA clock (`service.sla`) moves with them.
Calls: `service.calls`; goodwill: `service.goodwill`; queues, SLA policies and limits:
`service.settings_services`; the SLA sweep: `service.escalation`.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import Http404
from django.utils import timezone

from customers.models import Customer
from customers.timeline import activity_record
from frontoffice.actors import Actor, describe, user_of
from frontoffice.errors import Conflict
from frontoffice.models import User
from frontoffice.write_path import (
    as_id,
    audit,
    authorize,
    bump_version,
    check_version,
    clean_choice,
    clean_text,
    lock,
)
from sales.orders.models import SalesOrder
from sales.pricing.selectors import customer_tier
from service import sla
from service.assignment import pick_assignee
from service.choices import (
    LIVE_CHANNELS,
    CaseCategory,
    CaseChannel,
    CaseKind,
    CasePriority,
    CaseStatus,
    NoteVisibility,
)
from service.models import Case, CaseNote, Queue

SOURCE_APP = "service"
S = CaseStatus
# Which status may follow which. Leaving RESOLVED/CLOSED for OPEN is a reopening,
# allowed within `reopen_days()` of the resolution.
TRANSITIONS: dict[str, frozenset[str]] = {
    S.NEW: frozenset({S.OPEN, S.WAITING_CUSTOMER, S.WAITING_BACK_OFFICE, S.RESOLVED}),
    S.OPEN: frozenset({S.WAITING_CUSTOMER, S.WAITING_BACK_OFFICE, S.RESOLVED}),
    S.WAITING_CUSTOMER: frozenset({S.OPEN, S.WAITING_BACK_OFFICE, S.RESOLVED}),
    S.WAITING_BACK_OFFICE: frozenset({S.OPEN, S.WAITING_CUSTOMER, S.RESOLVED}),
    S.RESOLVED: frozenset({S.CLOSED, S.OPEN}),
    S.CLOSED: frozenset({S.OPEN}),
}
CHANGE_CASE = "service.change_case"


class CaseActivity:
    """Timeline kinds the service desk writes (labels and links: hooks.py)."""

    OPENED = "case_opened"
    REPLIED = "case_replied"
    RESOLVED = "case_resolved"
    REOPENED = "case_reopened"
    ESCALATED = "case_escalated"
    CALL_LOGGED = "call_logged"
    GOODWILL_CREDITED = "goodwill_credited"


class TransitionNotAllowed(Conflict):
    code = "transition_not_allowed"
    title = "The case cannot move to that status from where it is."


def reopen_days() -> int:
    return int(getattr(settings, "SERVICE_REOPEN_DAYS", 14))


# --- input helpers ----------------------------------------------------------------------


def live_customer(errors: dict[str, list[str]], customer_id: object) -> Customer | None:
    pk = as_id(customer_id)
    customer = Customer.objects.filter(pk=pk).first() if pk is not None else None
    if customer is None:
        errors["customer"] = ["No such customer."]
        return None
    if customer.merged_into_id is not None:
        errors["customer"] = [f"That customer was merged into customer {customer.merged_into_id}."]
        return None
    return customer


def _queue(errors: dict[str, list[str]], queue_id: object) -> Queue | None:
    if queue_id in (None, ""):
        return None
    pk = as_id(queue_id)
    queue = Queue.objects.filter(pk=pk).first() if pk is not None else None
    if queue is None:
        errors["queue"] = ["No such queue."]
    return queue


def _assignee(errors: dict[str, list[str]], user_id: object) -> User | None:
    if user_id in (None, ""):
        return None
    pk = as_id(user_id)
    user = User.objects.filter(pk=pk, is_active=True).first() if pk is not None else None
    if user is None or not user.has_perm(CHANGE_CASE):
        errors["assignee"] = ["No such agent: the assignee must be active staff who work cases."]
        return None
    return user


def _order(errors: dict[str, list[str]], order_id: object, customer_id: int | None) -> SalesOrder | None:
    if order_id in (None, ""):
        return None
    pk = as_id(order_id)
    order = SalesOrder.objects.filter(pk=pk).first() if pk is not None else None
    if order is None or (customer_id is not None and order.customer_id != customer_id):
        errors["related_order"] = ["No such order of this customer."]
        return None
    return order


def lock_case(case_id: object) -> Case:
    return lock(Case, case_id, what="case", queryset=Case.objects.select_related("sla_policy__calendar"))


def lock_case_named(case_id: object, field: str = "case") -> Case:
    """The case a request body names, locked: a 400 naming `field` when there is none
    (a 404 is for the URL's own resource)."""
    try:
        return lock_case(case_id)
    except Http404:
        raise ValidationError({field: ["No such case."]}) from None


def record(
    case: Case,
    actor: Actor,
    activity: str,
    subject: str,
    *,
    body: str = "",
    view_permission: str = "",
    **payload: Any,
) -> None:
    """An entry about `case` on its customer's timeline (in the caller's transaction);
    `view_permission` hides it from users without that permission (an entry that quotes
    a customer's answer to a restricted message)."""
    activity_record(
        customer_id=case.customer_id,
        kind=activity,
        actor=actor,
        source_app=SOURCE_APP,
        subject=subject[:200],
        body=body,
        ref=case,
        payload={"case_id": case.pk, **payload},
        view_permission=view_permission,
    )


# --- opening ----------------------------------------------------------------------------


@transaction.atomic
def case_open(
    *,
    actor: Actor,
    customer_id: int,
    kind: str,
    channel: str,
    subject: str,
    description: str = "",
    priority: str = CasePriority.NORMAL,
    category: str = CaseCategory.OTHER,
    queue_id: int | None = None,
    assignee_id: int | None = None,
    related_order_id: int | None = None,
    timeline_permission: str = "",
) -> Case:
    """Open a case for a customer: routed to its queue (the default one when none is
    named) and assigned by the queue's strategy unless an assignee is named; the SLA
    clock starts; it lands on the customer's timeline. A case opened while talking to
    the customer (phone, in person, chat) has had its first response.
    `timeline_permission` restricts that timeline entry to users holding it (a case
    opened by a reply to a message only they may read)."""
    authorize(actor, "service.add_case", message="You may not open cases.")
    errors: dict[str, list[str]] = {}
    customer = live_customer(errors, customer_id)
    case = Case(
        kind=clean_choice(errors, "kind", kind, CaseKind),
        channel=clean_choice(errors, "channel", channel, CaseChannel),
        priority=clean_choice(errors, "priority", priority, CasePriority),
        category=clean_choice(errors, "category", category, CaseCategory),
        subject=clean_text(errors, "subject", subject, 200),
        description=clean_text(errors, "description", description, 20000),
        opened_by=user_of(actor),
    )
    if not case.subject and "subject" not in errors:
        errors["subject"] = ["Say what the case is about."]
    queue = _queue(errors, queue_id)
    assignee = _assignee(errors, assignee_id)
    order = _order(errors, related_order_id, customer.pk if customer else None)
    if errors or customer is None:
        raise ValidationError(errors)
    if queue is None:
        queue = Queue.objects.filter(is_default=True).first()
    if queue is not None:
        queue = lock(Queue, queue.pk)
        if assignee is None:
            assignee = pick_assignee(queue)
    now = timezone.now()
    case.customer, case.queue, case.assignee, case.related_order = customer, queue, assignee, order
    sla.sla_start(case, tier=customer_tier(customer), now=now)
    if case.channel in LIVE_CHANNELS and user_of(actor) is not None:
        sla.sla_first_response(case, now=now)
    audit(case, actor)
    case.save()
    record(
        case,
        actor,
        CaseActivity.OPENED,
        f"{case.get_kind_display()} {case.reference} opened: {case.subject}",
        body=case.description,
        view_permission=timeline_permission,
        kind=case.kind,
        channel=case.channel,
        priority=case.priority,
    )
    return case


# --- editing ----------------------------------------------------------------------------

EDITABLE = (
    "subject",
    "description",
    "priority",
    "category",
    "queue",
    "assignee",
    "related_order",
    "root_cause",
)


@transaction.atomic
def case_update(*, actor: Actor, case_id: int, expected_version: int | None, **changes: Any) -> Case:
    """Change a case's facts (subject, description, priority, category, queue, assignee,
    related order, root cause). A new priority does not restart the SLA clock."""
    case = lock_case(case_id)
    authorize(actor, CHANGE_CASE, message="You may not change cases.")
    check_version(case, expected_version)
    errors: dict[str, list[str]] = {}
    unknown = sorted(set(changes) - set(EDITABLE))
    for key in unknown:
        errors[key] = ["This field cannot be changed here."]
    if "subject" in changes:
        case.subject = clean_text(errors, "subject", changes["subject"], 200)
        if not case.subject and "subject" not in errors:
            errors["subject"] = ["Say what the case is about."]
    if "description" in changes:
        case.description = clean_text(errors, "description", changes["description"], 20000)
    if "root_cause" in changes:
        case.root_cause = clean_text(errors, "root_cause", changes["root_cause"], 500)
    for field, choices in (("priority", CasePriority), ("category", CaseCategory)):
        if field in changes:
            setattr(case, field, clean_choice(errors, field, changes[field], choices))
    if "queue" in changes:
        case.queue = _queue(errors, changes["queue"])
    if "assignee" in changes:
        case.assignee = _assignee(errors, changes["assignee"])
    if "related_order" in changes:
        case.related_order = _order(errors, changes["related_order"], case.customer_id)
    if errors:
        raise ValidationError(errors)
    bump_version(case)
    audit(case, actor)
    case.save()
    return case


@transaction.atomic
def case_assign(
    *, actor: Actor, case_id: int, expected_version: int | None = None, assignee_id: int | None = None
) -> Case:
    """Give the case to an agent (`assignee_id`), or to yourself when none is named."""
    case = lock_case(case_id)
    authorize(actor, CHANGE_CASE, message="You may not assign cases.")
    check_version(case, expected_version)
    errors: dict[str, list[str]] = {}
    target = _assignee(errors, assignee_id if assignee_id is not None else getattr(actor, "pk", None))
    if errors or target is None:
        raise ValidationError(errors or {"assignee": ["Name the agent to assign the case to."]})
    case.assignee = target
    bump_version(case)
    audit(case, actor, reason=f"Assigned to {target}")
    case.save()
    return case


# --- notes and replies -------------------------------------------------------------------


@transaction.atomic
def case_note_add(
    *,
    actor: Actor,
    case_id: int,
    body: str,
    visibility: str = NoteVisibility.INTERNAL,
    expected_version: int | None = None,
) -> Case:
    """An internal note, or a reply the customer sees (on their timeline too; the first
    reply is the case's first response, and a reply to a new case opens it)."""
    case = lock_case(case_id)
    authorize(actor, CHANGE_CASE, message="You may not write on cases.")
    check_version(case, expected_version)
    errors: dict[str, list[str]] = {}
    visibility = clean_choice(errors, "visibility", visibility, NoteVisibility)
    text = clean_text(errors, "body", body, 20000)
    if not text and "body" not in errors:
        errors["body"] = ["Write the note."]
    if errors:
        raise ValidationError(errors)
    CaseNote.objects.create(
        case=case, visibility=visibility, body=text, author=user_of(actor), author_name=describe(actor)[:150]
    )
    if visibility == NoteVisibility.PUBLIC:
        now = timezone.now()
        sla.sla_first_response(case, now=now)
        if case.status == CaseStatus.NEW:
            case.status = CaseStatus.OPEN
        record(case, actor, CaseActivity.REPLIED, f"Reply on case {case.reference}", body=text)
    bump_version(case)
    audit(case, actor)
    case.save()
    return case


def system_note(case: Case, actor: Actor, body: str) -> CaseNote:
    """An internal note the system writes on a case (in the caller's transaction)."""
    return CaseNote.objects.create(
        case=case,
        visibility=NoteVisibility.INTERNAL,
        body=body[:20000],
        author=user_of(actor),
        author_name=describe(actor)[:150],
    )


# --- status -------------------------------------------------------------------------------


def _check_transition(case: Case, target: str, now: dt.datetime) -> None:
    allowed = TRANSITIONS.get(case.status, frozenset())
    if target not in CaseStatus.values:
        raise ValidationError({"status": [f"Choose one of: {', '.join(CaseStatus.values)}."]})
    if target not in allowed:
        options = ", ".join(sorted(allowed)) or "none"
        raise TransitionNotAllowed(
            f"A case that is {case.get_status_display().lower()} cannot become {CaseStatus(target).label.lower()}; "
            f"allowed: {options}.",
            errors={"status": [f"Not allowed from {case.status}."]},
        )
    if case.status in (S.RESOLVED, S.CLOSED) and target == S.OPEN:
        resolved_at = case.resolved_at or now
        if now - resolved_at > dt.timedelta(days=reopen_days()):
            raise TransitionNotAllowed(
                f"This case was resolved more than {reopen_days()} days ago: open a new case instead.",
                errors={"status": ["Too late to reopen."]},
            )


def apply_status(case: Case, target: str, *, now: dt.datetime, resolution: str = "") -> str:
    """Move `case` to `target` (checked by the caller), with the clock; returns the kind
    of timeline entry this calls for ("" for none)."""
    previous = case.status
    if target == S.WAITING_CUSTOMER:
        sla.sla_pause(case, now=now)
    elif previous == S.WAITING_CUSTOMER:
        sla.sla_resume(case, now=now)
    case.status = target
    if target == S.RESOLVED:
        case.resolution = resolution or case.resolution
        case.resolved_at = now
        sla.sla_resolved(case, now=now)
        return CaseActivity.RESOLVED
    if target == S.CLOSED:
        case.closed_at = now
        return ""
    if previous in (S.RESOLVED, S.CLOSED):
        case.reopened_count += 1
        case.resolved_at = case.closed_at = None
        case.first_contact_resolved = False
        sla.sla_restart_resolution(case, now=now)
        return CaseActivity.REOPENED
    return ""


@transaction.atomic
def case_transition(
    *,
    actor: Actor,
    case_id: int,
    status: str,
    expected_version: int | None = None,
    resolution: str = "",
    root_cause: str | None = None,
) -> Case:
    """Move a case to another status, as `TRANSITIONS` allows: waiting on the customer
    pauses the SLA clock, resolving needs a resolution and records the SLA attainment,
    reopening is possible within `reopen_days()` of the resolution."""
    case = lock_case(case_id)
    authorize(actor, CHANGE_CASE, message="You may not change cases.")
    check_version(case, expected_version)
    now = timezone.now()
    errors: dict[str, list[str]] = {}
    text = clean_text(errors, "resolution", resolution, 5000)
    cause = clean_text(errors, "root_cause", root_cause, 500) if root_cause is not None else None
    if status == S.RESOLVED and not text and not case.resolution and "resolution" not in errors:
        errors["resolution"] = ["Say how the case was resolved."]
    if errors:
        raise ValidationError(errors)
    _check_transition(case, status, now)
    if cause is not None:
        case.root_cause = cause
    entry = apply_status(case, status, now=now, resolution=text)
    bump_version(case)
    audit(case, actor, reason=f"Status: {status}")
    case.save()
    if entry == CaseActivity.RESOLVED:
        record(
            case,
            actor,
            entry,
            f"Case {case.reference} resolved",
            body=case.resolution,
            sla_met=case.resolution_met,
        )
    elif entry == CaseActivity.REOPENED:
        record(case, actor, entry, f"Case {case.reference} reopened")
    return case


def resolve_on_first_contact(case: Case, actor: Actor, *, resolution: str, now: dt.datetime) -> None:
    """Resolve and close a case just opened on a call (in the caller's transaction)."""
    apply_status(case, S.RESOLVED, now=now, resolution=resolution)
    apply_status(case, S.CLOSED, now=now)
    case.first_contact_resolved = True
    bump_version(case)
    audit(case, actor, reason="Resolved on first contact")
    case.save()
    record(
        case,
        actor,
        CaseActivity.RESOLVED,
        f"Case {case.reference} resolved on first contact",
        body=case.resolution,
        sla_met=case.resolution_met,
    )
