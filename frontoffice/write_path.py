"""What every write path does, in one place: check the actor, lock the row, check the
version the client read, clean text input, name the actor in the audit history, and
send side effects after commit. (Recording on the customer's timeline is the hub's:
`customers.timeline.activity_record`.)

    @transaction.atomic
    def lead_qualify(*, actor: Actor, lead_id: int, expected_version: int | None) -> Lead:
        lead = lock(Lead, lead_id, what="lead")
        authorize(actor, "sales.change_lead", obj=lead, owner_bypass=ANY_LEAD)
        check_version(lead, expected_version)
        ...
        bump_version(lead)
        audit(lead, actor)
        lead.save()
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Model
from django.http import Http404

from frontoffice.actors import SystemActor, describe, user_of
from frontoffice.errors import StaleVersion
from frontoffice.permissions import can_edit_owned

M = TypeVar("M", bound=Model)


class MissingActor(TypeError):
    """A service was called without saying who acts. Never a silent bypass: system
    writes name a `frontoffice.actors.SystemActor`."""


# --- who ------------------------------------------------------------------------------


def authorize(
    actor: Any,
    *permissions: str,
    obj: Any = None,
    owner_bypass: str | None = None,
    message: str = "You may not do this.",
) -> None:
    """PermissionDenied unless `actor` holds every permission and, when `owner_bypass`
    is given, holds that permission too or owns `obj` (alone or through their team)."""
    if actor is None:
        raise MissingActor("Say who acts: a user, or a frontoffice.actors.SystemActor.")
    if not getattr(actor, "is_authenticated", False) or not actor.is_active:
        raise PermissionDenied(message)
    if not actor.has_perms(permissions):
        raise PermissionDenied(message)
    owner_rule = owner_bypass is not None and obj is not None and not isinstance(actor, SystemActor)
    if owner_rule and not can_edit_owned(actor, obj, any_permission=owner_bypass):
        raise PermissionDenied(message)


def require_actor(actor: Any) -> None:
    """For writes every authenticated actor may do (the checks are the caller's)."""
    if actor is None:
        raise MissingActor("Say who acts: a user, or a frontoffice.actors.SystemActor.")


def audit(instance: M, actor: Any, reason: str = "") -> M:
    """Name `actor` on the audit-history row the next save of `instance` writes
    (django-simple-history reads these attributes; without them a write outside a
    request would be recorded as nobody's)."""
    instance._history_user = user_of(actor)  # type: ignore[attr-defined]
    change_reason = reason or (describe(actor) if isinstance(actor, SystemActor) else "")
    if change_reason:
        instance._change_reason = change_reason[:100]  # type: ignore[attr-defined]
    return instance


# --- which row, at which version ------------------------------------------------------------


def as_id(value: Any) -> int | None:
    """A row id from an id, a numeric string or an instance; None when it cannot be one."""
    if isinstance(value, Model):
        return value.pk
    if isinstance(value, bool):
        return None
    try:
        number = int(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return number if 1 <= number <= 2**63 - 1 else None


def lock(model: type[M], pk: Any, *, what: str | None = None, queryset: Any = None) -> M:
    """The row, locked until the transaction ends (`SELECT ... FOR UPDATE`); Http404
    when there is no such row or `pk` cannot be an id."""
    row_id = as_id(pk)
    rows = (queryset if queryset is not None else model._default_manager).select_for_update()
    row = rows.filter(pk=row_id).first() if row_id is not None else None
    if row is None:
        raise Http404(f"No such {what or model._meta.verbose_name}.")
    return row


def lock_many(model: type[M], pks: Iterable[Any]) -> dict[int, M]:
    """Several rows locked in id order (one fixed order everywhere: no deadlock between
    two writers locking the same rows)."""
    ids = sorted({i for i in (as_id(pk) for pk in pks) if i is not None})
    return {
        row.pk: row for row in model._default_manager.select_for_update().filter(pk__in=ids).order_by("pk")
    }


def check_version(row: Any, expected_version: int | None) -> None:
    """StaleVersion (412) when the client read another version than the row's.
    `None` means the caller checked nothing on purpose (an action without If-Match)."""
    if expected_version is not None and row.version != expected_version:
        raise StaleVersion(current=row.version)


def bump_version(row: Any) -> None:
    row.version += 1


# --- input ----------------------------------------------------------------------------------


def clean_text(errors: dict[str, list[str]], field: str, value: Any, max_length: int) -> str:
    """Stripped text, or "" with a message in `errors[field]` for what is not text, holds
    a NUL character (PostgreSQL refuses it) or is too long."""
    if value is None:
        return ""
    if not isinstance(value, str):
        errors.setdefault(field, []).append("Expected text.")
        return ""
    if "\x00" in value:
        errors.setdefault(field, []).append("Null characters are not allowed.")
    if len(value) > max_length:
        errors.setdefault(field, []).append(f"At most {max_length} characters.")
    return value.strip()


# --- after commit ----------------------------------------------------------------------------


def enqueue_on_commit(task: Any, *args: Any, **kwargs: Any) -> None:
    """Send `task` to Celery once the current transaction commits (now, outside one).

    Calling `.delay()` inside an open transaction lets a worker read the database
    before the change is visible, or run for a change that is then rolled back. The
    send itself is robust: a broker hiccup is logged, and the sweeps catch up.
    """

    def send() -> None:
        task.delay(*args, **kwargs)

    send.__qualname__ = f"enqueue_on_commit({getattr(task, 'name', task)})"
    transaction.on_commit(send, robust=True)


def run_on_commit(callback: Callable[[], Any]) -> None:
    """Run `callback` in this process once the transaction commits (never on rollback)."""
    transaction.on_commit(callback)
