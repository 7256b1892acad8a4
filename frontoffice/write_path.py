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

import datetime as dt
from collections.abc import Callable, Iterable
from typing import Any, Protocol, TypeVar

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Model, QuerySet, TextChoices
from django.http import Http404

from frontoffice.actors import Actor, SystemActor, describe, user_of
from frontoffice.dates import date_problem
from frontoffice.errors import StaleVersion
from frontoffice.permissions import can_edit_owned
from frontoffice.serializers import text_problem

M = TypeVar("M", bound=Model)
# The largest id any database's bigint holds.
MAX_ROW_ID = 2**63 - 1


class Versioned(Protocol):
    """A row with an optimistic lock: `version` goes up by one on every change, and a
    client names the version it read (If-Match, a form's hidden field)."""

    version: int


class Task(Protocol):
    """A Celery task, as far as sending it goes."""

    def delay(self, *args: Any, **kwargs: Any) -> Any: ...


class MissingActor(TypeError):
    """A service was called without saying who acts. Never a silent bypass: system
    writes name a `frontoffice.actors.SystemActor`."""


# --- who ------------------------------------------------------------------------------


def authorize(
    actor: Actor | None,
    *permissions: str,
    obj: Any = None,
    owner_bypass: str | None = None,
    message: str = "You may not do this.",
) -> None:
    """PermissionDenied unless `actor` holds every permission and, when `owner_bypass`
    is given, holds that permission too or owns `obj` (alone or through their team).
    A system actor holds what its allow-list grants; ownership does not apply to it."""
    if actor is None:
        raise MissingActor("Say who acts: a user, or a frontoffice.actors.SystemActor.")
    if not actor.is_authenticated or not actor.is_active:
        raise PermissionDenied(message)
    if not actor.has_perms(permissions):
        raise PermissionDenied(message)
    if owner_bypass is None or obj is None or isinstance(actor, SystemActor):
        return
    if not can_edit_owned(actor, obj, any_permission=owner_bypass):
        raise PermissionDenied(message)


def require_actor(actor: Actor | None) -> None:
    """For writes every authenticated actor may do (the checks are the caller's)."""
    if actor is None:
        raise MissingActor("Say who acts: a user, or a frontoffice.actors.SystemActor.")


def audit(instance: M, actor: Actor | None, reason: str = "") -> M:
    """Name `actor` on the audit-history row the next save of `instance` writes
    (django-simple-history reads these attributes; without them a write outside a
    request would be recorded as nobody's). Without a reason, a system actor names
    itself; a reason left on the instance by an earlier `audit` is replaced."""
    change_reason = reason or (describe(actor) if isinstance(actor, SystemActor) else "")
    # simple-history reads both as undeclared instance attributes (see its
    # HistoricalRecords.get_history_user and utils.get_change_reason_from_object).
    instance._history_user = user_of(actor)  # type: ignore[attr-defined]
    instance._change_reason = change_reason[:100] or None  # type: ignore[attr-defined]
    return instance


# --- which row, at which version ------------------------------------------------------------


def as_id(value: object) -> int | None:
    """A row id from an int, a string of ASCII digits or a saved instance; None when it
    cannot be one (a float is not truncated into one, "²" or "٣" are not digits of an
    id, and an id beyond a bigint would overflow the query)."""
    if isinstance(value, Model):
        value = value.pk
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 19:
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool):
        return None
    return value if 1 <= value <= MAX_ROW_ID else None


def lock(model: type[M], pk: object, *, what: str | None = None, queryset: QuerySet[M] | None = None) -> M:
    """The row, locked until the transaction ends (`SELECT ... FOR UPDATE`); Http404
    when there is no such row (in `queryset`, when given) or `pk` cannot be an id."""
    row_id = as_id(pk)
    # `OF self`: only this row is locked, and a queryset that follows nullable relations
    # (select_related over an outer join) can be locked at all on PostgreSQL.
    rows = (queryset if queryset is not None else model._default_manager.all()).select_for_update(
        of=("self",)
    )
    row = rows.filter(pk=row_id).first() if row_id is not None else None
    if row is None:
        raise Http404(f"No such {what or model._meta.verbose_name}.")
    return row


def lock_many(model: type[M], pks: Iterable[object]) -> dict[int, M]:
    """Several rows locked in id order (one fixed order everywhere: no deadlock between
    two writers locking the same rows), by id. Ids with no row are left out."""
    ids = sorted({i for i in (as_id(pk) for pk in pks) if i is not None})
    rows = model._default_manager.select_for_update().filter(pk__in=ids).order_by("pk")
    return {row.pk: row for row in rows}


def check_version(row: Versioned, expected_version: int | None) -> None:
    """StaleVersion (412) when the client read another version than the row's.
    `None` means the caller checked nothing on purpose: an action without If-Match,
    or `If-Match: *` ("whatever the current version", RFC 9110)."""
    if expected_version is not None and row.version != expected_version:
        raise StaleVersion(current=row.version)


def bump_version(row: Versioned) -> None:
    row.version += 1


# --- input ----------------------------------------------------------------------------------


def clean_choice(errors: dict[str, list[str]], field: str, value: object, choices: type[TextChoices]) -> str:
    """`value` when it is one of `choices`; else "" with "Choose one of: ..." in `errors[field]`."""
    if value not in choices.values:
        errors[field] = [f"Choose one of: {', '.join(choices.values)}."]
        return ""
    return str(value)


def clean_text(errors: dict[str, list[str]], field: str, value: object, max_length: int) -> str:
    """Stripped text, or "" with a message in `errors[field]` for what is not text;
    stripped text with a message for text the database refuses (a NUL character, a
    lone surrogate) or longer than `max_length` once stripped."""
    if value is None:
        return ""
    if not isinstance(value, str):
        errors.setdefault(field, []).append("Expected text.")
        return ""
    text = value.strip()
    problem = text_problem(text)
    if problem:
        errors.setdefault(field, []).append(problem)
    if len(text) > max_length:
        errors.setdefault(field, []).append(f"At most {max_length} characters.")
    return text


D = TypeVar("D", dt.date, dt.datetime)


def clean_date(errors: dict[str, list[str]], field: str, value: D | None) -> D | None:
    """`value` when it is a date (or datetime, for a datetime field) in the business range
    (`frontoffice.dates`); None with a message in `errors[field]` otherwise. None stays
    None (an optional date left empty)."""
    if value is None:
        return None
    if not isinstance(value, dt.date):
        errors.setdefault(field, []).append("Expected a date.")
        return None
    problem = date_problem(value)
    if problem:
        errors.setdefault(field, []).append(problem)
        return None
    return value


# --- after commit ----------------------------------------------------------------------------


def enqueue_on_commit(task: Task, *args: Any, **kwargs: Any) -> None:
    """Send `task` to Celery once the current transaction commits (now, outside one).

    Calling `.delay()` inside an open transaction lets a worker read the database
    before the change is visible, or run for a change that is then rolled back. The
    send itself is robust: a broker hiccup is logged, and the sweeps catch up.
    """

    def send() -> None:
        task.delay(*args, **kwargs)

    send.__qualname__ = f"enqueue_on_commit({getattr(task, 'name', task)})"
    transaction.on_commit(send, robust=True)


def run_on_commit(callback: Callable[[], object]) -> None:
    """Run `callback` in this process once the transaction commits (never on rollback)."""
    transaction.on_commit(callback)
