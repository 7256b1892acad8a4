"""The inbox: every ERP event is stored first under its unique id, then applied once.

    webhook / poll --> inbox_receive (store; a redelivery finds its row) --> inbox_apply
                       (lock, compare the version per aggregate, apply, mark) --> mirrors,
                       timeline (same transaction), facts for the other apps
                       (`backoffice_sync.events`, to each subscriber in its phase)

Statuses: received -> applied | stale (an equal or newer version of the aggregate was
applied first: nothing overwritten) | rejected (kept for inspection, with the error).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from backoffice_sync import apply, circuit
from backoffice_sync.erp import ErpError, ErpEvent, ErpUnavailable, EventType, get_adapter
from backoffice_sync.models import InboxAggregate, InboxEvent, InboxStatus, InboxVia, SyncCursor
from frontoffice import events
from frontoffice.serializers import MAX_ID, text_problem
from frontoffice.write_path import authorize

log = logging.getLogger(__name__)

CURSOR_NAME = "erp"
RETRY_PERMISSION = "backoffice_sync.change_inboxevent"
PULL_PAGE_SIZE = 500
MAX_APPLY_ATTEMPTS = 5
MAX_RAW_BODY = 64_000
MAX_DATA_DEPTH = 12
MAX_DATA_VALUES = 20_000


# --- storing ---------------------------------------------------------------------------


def _storage_problem(value: Any, depth: int = 0, count: list[int] | None = None) -> str | None:
    """Why `value` (event data) cannot be stored as JSON in every database, or None."""
    count = count if count is not None else [0]
    count[0] += 1
    if count[0] > MAX_DATA_VALUES:
        return f"more than {MAX_DATA_VALUES} values"
    if depth > MAX_DATA_DEPTH:
        return f"nested deeper than {MAX_DATA_DEPTH} levels"
    if isinstance(value, str):
        return text_problem(value)
    if isinstance(value, float) and not math.isfinite(value):
        return "a number that is not finite"
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_ID:
        return "a number out of range"
    if isinstance(value, dict):
        for key, child in value.items():
            problem = text_problem(str(key)) or _storage_problem(child, depth + 1, count)
            if problem:
                return problem
    elif isinstance(value, list):
        for child in value:
            problem = _storage_problem(child, depth + 1, count)
            if problem:
                return problem
    return None


def event_problem(event: ErpEvent) -> str | None:
    """Why a well-formed `ErpEvent` still cannot be stored, or None."""
    for name in ("id", "aggregate"):
        problem = text_problem(getattr(event, name))
        if problem:
            return f"{name}: {problem}"
    if event.version > MAX_ID:
        return "version: out of range"
    problem = _storage_problem(event.data)
    return f"data: {problem}" if problem else None


def _printable(text: str, limit: int) -> str:
    """Text any database stores: NULs and lone surrogates escaped, bounded."""
    text = text[:limit]
    return text.encode("utf-8", "backslashreplace").decode("utf-8").replace("\x00", "\\x00")


def _create_once(external_id: str, **fields: Any) -> tuple[InboxEvent, bool]:
    existing = InboxEvent.objects.filter(external_id=external_id).first()
    if existing is not None:
        return existing, False
    try:
        with transaction.atomic():
            return InboxEvent.objects.create(external_id=external_id, **fields), True
    except IntegrityError:
        # The same event arrived by webhook and by poll at the same moment.
        return InboxEvent.objects.get(external_id=external_id), False


@transaction.atomic
def inbox_receive(*, event: ErpEvent, via: str) -> tuple[InboxEvent, bool]:
    """Store `event` unless its id is known; returns (row, created).

    A redelivery (same id) returns the stored row untouched, whatever its status, so
    it is never applied twice. An event whose data no database would store is kept as
    rejected (without the data) instead of failing the whole delivery or page.
    """
    if via not in InboxVia.values:
        raise ValueError(f"via must be one of {InboxVia.values}")
    problem = event_problem(event)
    if problem:
        return inbox_reject(
            external_id=_printable(event.id, 200) or "(empty id)",
            via=via,
            error=f"The event cannot be stored: {problem}.",
            raw_body=_printable(repr(event.as_json()), MAX_RAW_BODY),
        )
    return _create_once(
        event.id,
        type=str(event.type),
        aggregate=event.aggregate,
        version=event.version,
        occurred_at=event.occurred_at,
        data=event.data,
        via=via,
    )


@transaction.atomic
def inbox_reject(*, external_id: str, via: str, error: str, raw_body: str = "") -> tuple[InboxEvent, bool]:
    """Keep a message that cannot be applied (malformed, or not storable) for inspection.

    Keyed like any event, so a redelivery of the same broken message adds nothing.
    """
    return _create_once(
        _printable(external_id, 200),
        via=via,
        status=InboxStatus.REJECTED,
        applied_at=timezone.now(),
        error=_printable(error, 2000),
        raw_body=_printable(raw_body, MAX_RAW_BODY),
    )


# --- applying ---------------------------------------------------------------------------


def _lock_aggregate(aggregate: str) -> InboxAggregate:
    InboxAggregate.objects.get_or_create(aggregate=aggregate)
    return InboxAggregate.objects.select_for_update().get(aggregate=aggregate)


def _publish(outcome: apply.Outcome) -> None:
    # Subscribers declare their phase; the ERP's facts are normally heard after commit.
    for fact in outcome.publish:
        events.publish(fact)


@transaction.atomic
def inbox_apply(*, inbox_event_id: int) -> InboxEvent | None:
    """Apply a stored event once. A row already applied, stale or rejected is returned
    as it is; None if there is no such row.

    The aggregate's row is locked for the duration, so events of one aggregate apply
    one after the other and an older version never overwrites a newer one.
    """
    row = InboxEvent.objects.select_for_update().filter(pk=inbox_event_id).first()
    if row is None or row.status != InboxStatus.RECEIVED:
        return row
    event = row.as_erp_event()
    register = _lock_aggregate(event.aggregate)
    stale = event.version <= register.version
    try:
        with transaction.atomic():  # a rejection undoes whatever the handler wrote
            outcome = apply.apply_event(event, stale=stale)
    except apply.Rejected as exc:
        row.status = InboxStatus.REJECTED
        row.error = _printable(str(exc), 2000)
        log.warning("ERP event %s (%s) rejected: %s", row.external_id, row.type, row.error)
    except apply.Deferred as exc:
        if row.apply_attempts < MAX_APPLY_ATTEMPTS:
            row.error = _printable(str(exc), 2000)
            row.save(update_fields=["error", "updated_at"])
            return row  # stays received: the sweep tries again
        row.status = InboxStatus.REJECTED
        row.error = _printable(f"Gave up after {row.apply_attempts} attempts. {exc}", 2000)
    else:
        if outcome.stale:
            row.status = InboxStatus.STALE
            row.error = f"Version {event.version} is not newer than what {event.aggregate} holds."
            _publish(outcome)  # what even an older event brings first (a shipment)
        else:
            row.status = InboxStatus.APPLIED
            row.error = ""
            if event.version > register.version:
                register.version = event.version
                register.save(update_fields=["version", "updated_at"])
            _publish(outcome)
    row.applied_at = timezone.now()
    row.save(update_fields=["status", "error", "applied_at", "updated_at"])
    return row


def inbox_apply_or_defer(*, inbox_event_id: int) -> InboxEvent | None:
    """`inbox_apply`, but an unexpected failure (a bug, a lost connection) leaves the
    event stored as received for the sweep, noting the error and counting the attempt,
    so that one broken event cannot stop a webhook answer or a polling page."""
    InboxEvent.objects.filter(pk=inbox_event_id, status=InboxStatus.RECEIVED).update(
        apply_attempts=F("apply_attempts") + 1
    )
    try:
        return inbox_apply(inbox_event_id=inbox_event_id)
    except Exception as exc:
        log.exception("Applying inbox event %s failed; left for the sweep.", inbox_event_id)
        InboxEvent.objects.filter(pk=inbox_event_id, status=InboxStatus.RECEIVED).update(
            error=_printable(f"{type(exc).__name__}: {exc}", 2000)
        )
        return InboxEvent.objects.filter(pk=inbox_event_id).first()


def inbox_apply_pending(*, limit: int = 200) -> int:
    """Apply events stored but not applied (a crash between store and apply, a failed
    attempt), oldest first, skipping those that failed MAX_APPLY_ATTEMPTS times (they
    wait in the admin). Returns how many were applied or settled."""
    pending = list(
        InboxEvent.objects.filter(status=InboxStatus.RECEIVED, apply_attempts__lt=MAX_APPLY_ATTEMPTS)
        .order_by("id")
        .values_list("pk", flat=True)[:limit]
    )
    settled = 0
    for pk in pending:
        row = inbox_apply_or_defer(inbox_event_id=pk)
        settled += row is not None and row.status != InboxStatus.RECEIVED
    return settled


@transaction.atomic
def inbox_retry(*, actor: Any, inbox_event_id: int) -> InboxEvent | None:
    """Apply a rejected event again (after its product or customer exists). A rejected
    row that was never a well-formed event stays rejected."""
    authorize(actor, RETRY_PERMISSION, message="You may not apply ERP events again.")
    row = InboxEvent.objects.select_for_update().filter(pk=inbox_event_id).first()
    if row is None or row.status != InboxStatus.REJECTED or row.version is None or not row.type:
        return row
    row.status = InboxStatus.RECEIVED
    row.applied_at = None
    row.apply_attempts = 0
    row.save(update_fields=["status", "applied_at", "apply_attempts", "updated_at"])
    return inbox_apply(inbox_event_id=row.pk)


# --- polling ------------------------------------------------------------------------------


# What others depend on comes first: the catalogue before stock, invoices before the
# payments and notices about them.
_FIRST = {EventType.PRODUCT_CHANGED: 0, EventType.CUSTOMER_CHANGED: 0, EventType.INVOICE_ISSUED: 1}


def _in_apply_order(page: list[ErpEvent]) -> list[ErpEvent]:
    """A page in the order its events are best applied: dependencies first, then each
    aggregate's versions in ascending order (a reordered page then applies like the
    original, with fewer stale and deferred events)."""
    return sorted(page, key=lambda e: (_FIRST.get(e.type, 2), e.aggregate, e.version))


@dataclass(frozen=True)
class PullReport:
    received: int
    duplicates: int
    applied: int
    has_more: bool


def pull_changes_once(*, limit: int | None = None) -> PullReport:
    """Pull one page of changes since the stored cursor, store every event, advance the
    cursor, then apply what was stored.

    The ERP call runs outside any transaction. The cursor moves only after the whole
    page is stored: a failure part-way leaves it where it was, and the next pull
    fetches the page again (what was stored is recognised by id). Raises `ErpError`
    when the ERP cannot be reached (the attempt and its error are recorded).

    The circuit breaker hears of it either way, even with nothing in the outbox: an
    answer closes it (the ERP is reachable again), an unavailable ERP opens it.
    """
    state, _ = SyncCursor.objects.get_or_create(name=CURSOR_NAME)
    previous = state.cursor
    SyncCursor.objects.filter(pk=state.pk).update(last_pulled_at=timezone.now())
    try:
        batch = get_adapter().pull_changes(cursor=previous or None, limit=limit or PULL_PAGE_SIZE)
    except ErpError as exc:
        error = _printable(f"{type(exc).__name__}: {exc}", 2000)
        SyncCursor.objects.filter(pk=state.pk).update(last_error=error)
        if isinstance(exc, ErpUnavailable):
            circuit.circuit_unavailable(error=error)
        else:  # the ERP answered, refusing the request: it is reachable
            circuit.circuit_answered()
        raise
    circuit.circuit_answered()
    stored: list[int] = []
    duplicates = 0
    for event in _in_apply_order(batch.events):
        row, created = inbox_receive(event=event, via=InboxVia.POLL)
        if created:
            stored.append(row.pk)
        else:
            duplicates += 1
            if row.status == InboxStatus.RECEIVED:
                stored.append(row.pk)  # stored earlier, never applied: try now
    # Conditional on the cursor we started from: a concurrent pull that already moved
    # it on wins, and the cursor never goes back.
    SyncCursor.objects.filter(pk=state.pk, cursor=previous).update(
        cursor=_printable(batch.cursor, 500),
        last_success_at=timezone.now(),
        last_error="",
        updated_at=timezone.now(),
    )
    applied = 0
    waiting = []
    for pk in stored:
        settled = inbox_apply_or_defer(inbox_event_id=pk)
        applied += settled is not None and settled.status == InboxStatus.APPLIED
        if settled is not None and settled.status == InboxStatus.RECEIVED:
            waiting.append(pk)
    # One more pass for events that overtook the one they depend on within the page
    # (an overdue notice ahead of its invoice); what still waits is left to the sweep.
    for pk in waiting:
        settled = inbox_apply_or_defer(inbox_event_id=pk)
        applied += settled is not None and settled.status == InboxStatus.APPLIED
    return PullReport(
        received=len(batch.events) - duplicates,
        duplicates=duplicates,
        applied=applied,
        has_more=batch.has_more,
    )
