"""What admins configure for the service desk: queues (members, assignment strategy,
escalation), business calendars with holidays, SLA policies per priority and tier, and
goodwill limits per role. Each write needs `service.manage_service_settings`."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from frontoffice.actors import Actor
from frontoffice.models import User
from frontoffice.roles import Role
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
from service.choices import AssignmentStrategy, CasePriority
from service.goodwill import parse_amount
from service.models import BusinessCalendar, GoodwillLimit, Holiday, Queue, SlaPolicy

MANAGE = "service.manage_service_settings"
MESSAGE = "Only admins configure the service desk."


def _unique(call: Any, errors: dict[str, list[str]], field: str, message: str) -> None:
    try:
        with transaction.atomic():
            call()
    except IntegrityError:
        raise ValidationError({field: [message]}) from None


def _members(errors: dict[str, list[str]], ids: object) -> list[User]:
    if not isinstance(ids, list):
        errors["members"] = ["A list of user ids."]
        return []
    pks = [as_id(pk) for pk in ids]
    users = list(User.objects.filter(pk__in=[pk for pk in pks if pk], is_active=True))
    if None in pks or len(users) != len(set(pks)):
        errors["members"] = ["Every member must be an active user."]
    elif any(not user.has_perm("service.change_case") for user in users):
        errors["members"] = ["Every member must be staff who work cases."]
    return users


def _queue_fields(queue: Queue, errors: dict[str, list[str]], changes: dict[str, Any]) -> None:
    if "name" in changes:
        queue.name = clean_text(errors, "name", changes["name"], 100)
        if not queue.name and "name" not in errors:
            errors["name"] = ["Name the queue."]
    if "description" in changes:
        queue.description = clean_text(errors, "description", changes["description"], 300)
    if "strategy" in changes:
        queue.strategy = clean_choice(errors, "strategy", changes["strategy"], AssignmentStrategy)
    for flag in ("is_default", "is_supervisor"):
        if flag in changes:
            setattr(queue, flag, bool(changes[flag]))
    if "escalation_queue" in changes:
        target = changes["escalation_queue"]
        pk = as_id(target) if target is not None else None
        if target is not None and (pk is None or pk == queue.pk or not Queue.objects.filter(pk=pk).exists()):
            errors["escalation_queue"] = ["No such other queue."]
        else:
            queue.escalation_queue_id = pk


@transaction.atomic
def queue_create(*, actor: Actor, name: str, members: list[int] | None = None, **changes: Any) -> Queue:
    authorize(actor, MANAGE, message=MESSAGE)
    errors: dict[str, list[str]] = {}
    queue = Queue()
    _queue_fields(queue, errors, {"name": name, **changes})
    users = _members(errors, members or [])
    if errors:
        raise ValidationError(errors)
    if queue.is_default:
        Queue.objects.filter(is_default=True).update(is_default=False)
    audit(queue, actor)
    _unique(queue.save, errors, "name", "A queue of that name exists.")
    queue.members.set(users)
    return queue


@transaction.atomic
def queue_update(*, actor: Actor, queue_id: int, expected_version: int | None, **changes: Any) -> Queue:
    queue = lock(Queue, queue_id, what="queue")
    authorize(actor, MANAGE, message=MESSAGE)
    check_version(queue, expected_version)
    errors: dict[str, list[str]] = {}
    _queue_fields(queue, errors, changes)
    users = _members(errors, changes["members"]) if "members" in changes else None
    if errors:
        raise ValidationError(errors)
    if queue.is_default:
        Queue.objects.filter(is_default=True).exclude(pk=queue.pk).update(is_default=False)
    bump_version(queue)
    audit(queue, actor)
    _unique(queue.save, errors, "name", "A queue of that name exists.")
    if users is not None:
        queue.members.set(users)
    return queue


@transaction.atomic
def calendar_create(
    *,
    actor: Actor,
    name: str,
    timezone: str = "Europe/Berlin",
    work_days: str = "12345",
    opens_at: dt.time = dt.time(8),
    closes_at: dt.time = dt.time(18),
    holidays: list[tuple[dt.date, str]] | None = None,
) -> BusinessCalendar:
    authorize(actor, MANAGE, message=MESSAGE)
    calendar = BusinessCalendar(
        name=name, timezone=timezone, work_days=work_days, opens_at=opens_at, closes_at=closes_at
    )
    calendar.full_clean()
    calendar.save()
    Holiday.objects.bulk_create(
        [Holiday(calendar=calendar, day=day, name=label) for day, label in holidays or []]
    )
    return calendar


def _policy_fields(policy: SlaPolicy, errors: dict[str, list[str]], changes: dict[str, Any]) -> None:
    if "name" in changes:
        policy.name = clean_text(errors, "name", changes["name"], 100)
        if not policy.name and "name" not in errors:
            errors["name"] = ["Name the policy."]
    if "priority" in changes:
        policy.priority = clean_choice(errors, "priority", changes["priority"], CasePriority)
    if "tier" in changes:
        policy.tier = clean_text(errors, "tier", changes["tier"], 20).lower()
    if "calendar" in changes:
        pk = as_id(changes["calendar"])
        if pk is None or not BusinessCalendar.objects.filter(pk=pk).exists():
            errors["calendar"] = ["No such calendar."]
        else:
            policy.calendar_id = pk
    for field in ("first_response_minutes", "resolution_minutes", "warn_before_minutes"):
        if field in changes:
            value = changes[field]
            if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 10**6:
                errors[field] = ["Whole minutes from 0 to 1000000."]
            else:
                setattr(policy, field, value)
    if not errors and policy.first_response_minutes is not None and policy.resolution_minutes is not None:
        if policy.first_response_minutes < 1:
            errors["first_response_minutes"] = ["At least one minute."]
        elif policy.resolution_minutes < policy.first_response_minutes:
            errors["resolution_minutes"] = ["A resolution cannot be due before the first response."]


@transaction.atomic
def sla_policy_create(*, actor: Actor, **fields: Any) -> SlaPolicy:
    authorize(actor, MANAGE, message=MESSAGE)
    errors: dict[str, list[str]] = {}
    policy = SlaPolicy()
    if "calendar" not in fields:
        default = BusinessCalendar.objects.order_by("id").values_list("pk", flat=True).first()
        fields["calendar"] = default
    _policy_fields(policy, errors, fields)
    if errors:
        raise ValidationError(errors)
    audit(policy, actor)
    _unique(policy.save, errors, "tier", "A policy for this priority and tier exists.")
    return policy


@transaction.atomic
def sla_policy_update(
    *, actor: Actor, sla_policy_id: int, expected_version: int | None, **changes: Any
) -> SlaPolicy:
    policy = lock(SlaPolicy, sla_policy_id, what="SLA policy")
    authorize(actor, MANAGE, message=MESSAGE)
    check_version(policy, expected_version)
    errors: dict[str, list[str]] = {}
    _policy_fields(policy, errors, changes)
    if errors:
        raise ValidationError(errors)
    bump_version(policy)
    audit(policy, actor)
    _unique(policy.save, errors, "tier", "A policy for this priority and tier exists.")
    return policy


@transaction.atomic
def goodwill_limit_set(*, actor: Actor, role: str, amount: object, currency: str = "EUR") -> GoodwillLimit:
    """Set (or change) a role's goodwill limit."""
    authorize(actor, MANAGE, message=MESSAGE)
    errors: dict[str, list[str]] = {}
    if role not in Role.ALL:
        errors["role"] = [f"One of: {', '.join(Role.ALL)}."]
    value = parse_amount(errors, amount) if amount not in (0, "0", Decimal("0")) else Decimal("0")
    if errors:
        raise ValidationError(errors)
    limit = GoodwillLimit.objects.select_for_update().filter(role=role).first() or GoodwillLimit(role=role)
    limit.amount, limit.currency = value, currency
    if limit.pk:
        bump_version(limit)
    audit(limit, actor)
    limit.full_clean()
    limit.save()
    return limit
