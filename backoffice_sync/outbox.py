"""The transactional outbox: enqueue with the business change, relay to the ERP after it.

Writing side: `outbox_enqueue()` runs inside the caller's transaction, so the message
commits with the change or not at all, and asks for a relay run once it has committed.

Relay side (`relay_once`, `relay_due`, run by the `relay_outbox` task on commit and by
beat's sweep) never holds a transaction or a row lock across the ERP call:

0. ask the circuit breaker (`circuit.py`): while the ERP is unavailable nothing is sent,
   except one probe message now and then;
1. claim: one short transaction picks up to OUTBOX_BATCH_SIZE eligible messages
   (`SELECT ... FOR UPDATE SKIP LOCKED` on PostgreSQL; SQLite's IMMEDIATE transactions
   serialise writers) and leases them (`locked_until`, `claimed_by`, `attempts + 1`);
2. one `adapter.deliver(batch)` call, outside any transaction;
3. record: a second short transaction writes every outcome in one `UPDATE` per kind,
   only for rows this relay still holds, and tells the breaker whether the ERP answered.

A message is eligible when it is pending, due, not leased, and the lowest undelivered
`sequence` of its aggregate: its lease is the lease of its whole aggregate (the later
messages are not eligible while it is pending), so several relays, in several workers,
share a backlog safely and each aggregate goes one message at a time, in order. A dead one
holds back the rest until replayed or skipped (`outbox_replay.py`). A relay that dies
mid-batch leaves its leases to expire; the next relay re-sends those messages under the
same idempotency keys, which the ERP applies at most once.

Attempts: an unavailable ERP (connection refused, timeout, 5xx, 429) is no message's
failure, and the claim's attempt is given back; the ERP's refusals (and relays that
vanished mid-call) count, and OUTBOX_MAX_ATTEMPTS of them dead-letter the message.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import random
import socket
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, connection, transaction
from django.db.models import Exists, F, Field, Max, OuterRef, QuerySet
from django.utils import timezone

from backoffice_sync import circuit
from backoffice_sync.contracts import MessagePayload
from backoffice_sync.erp import (
    DeliveryResult,
    DeliveryStatus,
    ErpAdapter,
    ErpError,
    ErpUnavailable,
    MessageKind,
    OutboundMessage,
    get_adapter,
)
from backoffice_sync.models import ErpAnswer, OutboxMessage, OutboxStatus
from frontoffice.db_hints import analyze_if_stale, claim_in_index_order
from frontoffice.write_path import run_on_commit

log = logging.getLogger(__name__)

BACKOFF_BASE_SECONDS = 2.0
BACKOFF_CAP_SECONDS = 15 * 60.0
# Enqueues that race for the same aggregate's next sequence retry this often (each loser
# sees the winner's row once it commits).
SEQUENCE_RETRIES = 5
# Several commits within this window share one relay run instead of one task each.
KICK_DEBOUNCE_SECONDS = 1
KICK_CACHE_KEY = "backoffice_sync:outbox:kick"
# A relay that finds a backlog starts helpers at most this often (see tasks.relay_outbox).
FAN_OUT_SECONDS = 5
FAN_OUT_CACHE_KEY = "backoffice_sync:outbox:fan-out"
MAX_ERROR_LENGTH = 2000


class NotInTransaction(RuntimeError):
    """`outbox_enqueue` was called outside an atomic block: the message could commit
    without the change (or the change without the message)."""


def lease_seconds_default() -> int:
    """Longer than any ERP call may take (its connect and its read timeout), with a few
    seconds for the bookkeeping; no longer, since it is also how long the batch of a
    worker killed mid-call waits before another relay sends it again (25 s with the
    default timeout: a kill while a backlog drains still leaves it all acknowledged within
    a minute of the ERP's return). A lease that ran out too early costs a second send
    under the same idempotency key, which the ERP applies once."""
    return 2 * settings.ERP_TIMEOUT_SECONDS + 5


def backoff_seconds(attempts: int, *, rand: Any = random.random) -> float:
    """Full-jitter exponential backoff after the `attempts`-th failed attempt:
    uniform in [0, min(cap, base * 2**(attempts - 1))]. The jitter spreads the retries of
    a whole outage over the window instead of hammering the ERP in lockstep."""
    ceiling = min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2 ** max(attempts - 1, 0))
    return ceiling * rand()


# --- Writing side ----------------------------------------------------------------------


def outbox_enqueue(*, kind: MessageKind | str, aggregate: str, payload: MessagePayload) -> OutboxMessage:
    """Add a message for the ERP to the caller's transaction; it is relayed after commit.
    `payload` is the contract of `kind` (`backoffice_sync.contracts.PAYLOADS`).

    Must run inside `transaction.atomic`: raises `NotInTransaction` otherwise. Callers
    that may change one aggregate concurrently should hold its lock (the service's
    `select_for_update`); without it, the unique (aggregate, sequence) constraint still
    keeps the order, at the price of a retry here.
    """
    if not connection.in_atomic_block:
        raise NotInTransaction("outbox_enqueue() must be called inside the business change's transaction.")
    kind = MessageKind(kind)
    if not aggregate or len(aggregate) > 200:
        raise ValueError("aggregate must be a non-empty string of at most 200 characters")
    for attempt in range(SEQUENCE_RETRIES):
        try:
            # A savepoint, so that losing the race for a sequence number leaves the
            # caller's transaction usable.
            with transaction.atomic():
                last = OutboxMessage.objects.filter(aggregate=aggregate).aggregate(last=Max("sequence"))[
                    "last"
                ]
                message = OutboxMessage.objects.create(
                    idempotency_key=uuid.uuid4().hex,
                    kind=kind.value,
                    aggregate=aggregate,
                    sequence=(last or 0) + 1,
                    payload=payload,
                )
        except IntegrityError:
            if attempt == SEQUENCE_RETRIES - 1:
                raise
            continue
        kick_relay_on_commit()
        return message
    raise AssertionError("unreachable")  # pragma: no cover


def outbox_enqueue_ahead(
    *, kind: MessageKind | str, aggregate: str, payload: MessagePayload
) -> OutboxMessage:
    """`outbox_enqueue`, for a message the ERP must have before what its aggregate has
    queued and never sent (a merge before the survivor's upsert that names the number it
    took over, even when the upsert was queued first in the same transaction).

    Those unsent messages move behind it, in their order. A message a relay has claimed
    or tried is left where it is: it may be at the ERP already, and was committed before
    this transaction, so it cannot depend on what this one changes."""
    message = outbox_enqueue(kind=kind, aggregate=aggregate, payload=payload)
    unsent = list(
        OutboxMessage.objects.select_for_update()
        .filter(
            aggregate=aggregate,
            status=OutboxStatus.PENDING,
            attempts=0,
            claimed_by="",
            sequence__lt=message.sequence,
        )
        .order_by("sequence")
    )
    now = timezone.now()
    for offset, row in enumerate(unsent, start=1):
        # Above the highest sequence (the new message's): no number is taken twice, even
        # between two of these updates.
        row.sequence = message.sequence + offset
        row.updated_at = now
    OutboxMessage.objects.bulk_update(unsent, ["sequence", "updated_at"])
    return message


class _KickAfterCommit:
    """The on-commit callback of one transaction's enqueues. Every enqueue registers it
    (through the public `run_on_commit`), so that it survives whichever of them a
    savepoint rollback discards; all of one transaction's registrations share one
    instance, and the first to run sends the kick, once. A rolled-back transaction runs
    none of them."""

    def __init__(self) -> None:
        self.ran = False

    def __call__(self) -> None:
        if self.ran:
            return
        self.ran = True
        try:
            _kick_relay()
        except Exception:
            # The change has committed: a broker or cache hiccup must not fail the request
            # that made it. The beat sweep delivers the message instead.
            log.exception("outbox: the relay kick after commit failed; the sweep will deliver")


class _PendingKick(threading.local):
    """This thread's kick for the transaction in progress (connections are per thread)."""

    kick: _KickAfterCommit | None = None


_pending = _PendingKick()


def kick_relay_on_commit() -> None:
    """One relay kick per committed transaction (however many messages it enqueued), sent
    after commit so that the relay sees the rows; a rolled-back transaction sends none.

    A kick that has run belonged to a transaction that committed, so the next enqueue
    starts a new one; a kick that never ran was discarded with its transaction (or
    savepoint), or waits for the same commit as this enqueue: sharing it is right either
    way."""
    kick = _pending.kick
    if kick is None or kick.ran:
        kick = _pending.kick = _KickAfterCommit()
    run_on_commit(kick)


def _kick_relay() -> None:
    # Commits that arrive while a kick is pending ride on it: the relay clears the flag
    # before it claims, so a message committed after the clear gets a kick of its own.
    # (With a per-process cache, the beat sweep bounds the delay instead.)
    if not cache.add(KICK_CACHE_KEY, "1", timeout=KICK_DEBOUNCE_SECONDS):
        return
    from backoffice_sync.tasks import relay_outbox

    relay_outbox.delay()


def clear_kick() -> None:
    cache.delete(KICK_CACHE_KEY)


# --- Relay -----------------------------------------------------------------------------


@dataclass(frozen=True)
class RelayReport:
    claimed: int = 0
    delivered: int = 0
    retrying: int = 0
    dead: int = 0
    lost_lease: int = 0  # outcomes dropped because another relay had taken the row over
    paused: bool = False  # the ERP is unavailable: the circuit breaker holds sending back

    def __add__(self, other: RelayReport) -> RelayReport:
        return RelayReport(
            self.claimed + other.claimed,
            self.delivered + other.delivered,
            self.retrying + other.retrying,
            self.dead + other.dead,
            self.lost_lease + other.lost_lease,
            self.paused or other.paused,
        )


def eligible_messages(now: dt.datetime) -> QuerySet[OutboxMessage]:
    """Pending, due, unleased, and the lowest undelivered message of its aggregate."""
    earlier_undelivered = OutboxMessage.objects.filter(
        aggregate=OuterRef("aggregate"),
        sequence__lt=OuterRef("sequence"),
        status__in=[OutboxStatus.PENDING, OutboxStatus.DEAD],
    )
    return (
        OutboxMessage.objects.filter(status=OutboxStatus.PENDING, next_attempt_at__lte=now)
        .exclude(locked_until__gt=now)
        .exclude(Exists(earlier_undelivered))
    )


def _claim(*, batch_size: int, lease: dt.timedelta, token: str) -> list[OutboxMessage]:
    """Lease up to `batch_size` eligible messages to `token` (one short transaction)."""
    now = timezone.now()
    with transaction.atomic():
        # The due index (next_attempt_at, id) read in its order, even when the table's
        # statistics predate the backlog (frontoffice.db_hints).
        claim_in_index_order()
        candidates = eligible_messages(now).order_by("next_attempt_at", "id")
        if connection.features.has_select_for_update_skip_locked:
            # Rows another relay is claiming right now are skipped, not waited for.
            candidates = candidates.select_for_update(skip_locked=True, of=("self",))
        batch = list(candidates[:batch_size])
        if not batch:
            return []
        OutboxMessage.objects.filter(pk__in=[m.pk for m in batch]).update(
            locked_until=now + lease, claimed_by=token, attempts=F("attempts") + 1, updated_at=now
        )
    for message in batch:
        message.locked_until = now + lease
        message.claimed_by = token
        message.attempts += 1
    return batch


def _deliver(adapter: ErpAdapter, batch: Sequence[OutboxMessage]) -> dict[str, DeliveryResult]:
    results = adapter.deliver(
        [OutboundMessage(m.idempotency_key, MessageKind(m.kind), m.aggregate, m.payload) for m in batch]
    )
    return {result.idempotency_key: result for result in results}


def _column(name: str) -> Field[Any, Any]:
    field = OutboxMessage._meta.get_field(name)
    if not isinstance(field, Field):
        raise TypeError(f"{name} is not a column of the outbox")
    return field


def _update_each(
    *, token: str, rows: Mapping[int, Sequence[Any]], columns: Sequence[str], same: dict[str, Any]
) -> int:
    """One `UPDATE ... FROM (VALUES (pk, value, ...), ...)`: each row of `rows` (pk -> its
    values of `columns`, in order) gets its own values and every `same` one, if `token`
    still holds it (claimed by it and pending). Returns how many rows it wrote.

    A join on the primary key, where a CASE with one branch per row (what `bulk_update`
    writes) is evaluated branch by branch for every row. Each value goes through its
    field's conversion, so it is stored as the ORM would store it.

    The primary keys are also listed as such (`id IN (...)`), so that the outbox side is
    read through its primary key, batch-sized, whatever the statistics say: the planner
    cannot know this run's fresh `claimed_by` token, estimates one row for it, and without
    the list joined the VALUES to a sequential scan of the whole outbox, delivered rows
    included (auto_explain, PostgreSQL 15, right after the relay's own ANALYZE of a
    burst), or to every pending row through the due index with stale statistics."""
    if not rows:
        return 0
    qn = connection.ops.quote_name
    per_row = [_column("id"), *(_column(name) for name in columns)]
    # PostgreSQL types a VALUES list of parameters as text: say what each column is.
    cast = connection.features.requires_casted_case_in_updates
    slots = [f"CAST(%s AS {field.db_type(connection)})" if cast else "%s" for field in per_row]
    values_sql = ", ".join(["(" + ", ".join(slots) + ")"] * len(rows))
    values = [
        field.get_db_prep_save(value, connection)
        for pk, row in rows.items()
        for field, value in zip(per_row, (pk, *row), strict=True)
    ]
    fixed = [(_column(name), value) for name, value in same.items()]
    assignments = [f"{qn(field.column)} = v.column{n}" for n, field in enumerate(per_row[1:], start=2)]
    assignments += [f"{qn(field.column)} = %s" for field, _ in fixed]
    table = qn(OutboxMessage._meta.db_table)
    sql = (  # names from the model; every value a parameter
        f"UPDATE {table} SET {', '.join(assignments)} FROM (VALUES {values_sql}) AS v"  # noqa: S608
        f" WHERE {table}.{qn('id')} = v.column1 AND {table}.{qn('id')} IN ({', '.join(['%s'] * len(rows))})"
        f" AND {table}.{qn('claimed_by')} = %s AND {table}.{qn('status')} = %s"
    )
    params = [
        *(field.get_db_prep_save(value, connection) for field, value in fixed),
        *values,
        *rows,
        token,
        OutboxStatus.PENDING.value,
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


def _record(
    *,
    batch: Sequence[OutboxMessage],
    token: str,
    results: dict[str, DeliveryResult] | None,
    failure: str,
    unavailable: bool,
    max_attempts: int,
) -> RelayReport:
    """Write every outcome in one short transaction: one UPDATE per kind of outcome (at
    most five, whatever the batch size; `_update_each`), each only for rows `token` still
    holds.

    `results` is None when the whole call failed (`failure` says why). When the ERP was
    `unavailable`, that is nobody's fault: each message gets its attempt back and stays
    due (the circuit breaker decides when to send again). Otherwise (the ERP refused the
    call, or a bug) each message spent its attempt, like a refused message: retried after
    a backoff, dead once it has used OUTBOX_MAX_ATTEMPTS.
    """
    now = timezone.now()
    delivered: dict[int, tuple[str, dict[str, Any]]] = {}  # pk -> (answer, result data)
    refused: dict[int, tuple[dt.datetime | None, str, str, dict[str, Any]]] = {}
    retry: dict[int, tuple[dt.datetime, str]] = {}  # pk -> (next attempt, error)
    exhausted: dict[int, str] = {}  # pk -> error
    given_back: list[int] = []
    for message in batch:
        result = results.get(message.idempotency_key) if results is not None else None
        if result is not None and result.status in (DeliveryStatus.ACCEPTED, DeliveryStatus.DUPLICATE):
            answer = ErpAnswer.ACCEPTED if result.status == DeliveryStatus.ACCEPTED else ErpAnswer.DUPLICATE
            delivered[message.pk] = (answer, {"status": str(result.status), **result.data})
        elif result is not None and result.status == DeliveryStatus.REJECTED:
            # The ERP refused this message, with a reason: that spends an attempt. Retried
            # after a backoff (the back office may fix the cause meanwhile), dead once it
            # has been refused OUTBOX_MAX_ATTEMPTS times; a person replays or skips it.
            reason = (result.error or "no reason given")[:MAX_ERROR_LENGTH]
            error = f"rejected by the ERP: {reason}"[:MAX_ERROR_LENGTH]
            next_at = (
                None
                if message.attempts >= max_attempts
                else now + dt.timedelta(seconds=backoff_seconds(message.attempts))
            )
            refused[message.pk] = (next_at, error, reason, {"status": str(result.status), **result.data})
        elif unavailable:
            given_back.append(message.pk)
        else:
            if results is None:
                error = failure
            elif result is None:
                error = "the ERP returned no result for this message"
            else:
                error = f"unexpected result status {result.status!r}"
            error = error[:MAX_ERROR_LENGTH]
            if message.attempts >= max_attempts:
                exhausted[message.pk] = error
            else:
                retry[message.pk] = (now + dt.timedelta(seconds=backoff_seconds(message.attempts)), error)

    released = {"locked_until": None, "claimed_by": "", "updated_at": now}
    refused_dead = {pk: v[1:] for pk, v in refused.items() if v[0] is None}
    refused_retry = {pk: v for pk, v in refused.items() if v[0] is not None}
    with transaction.atomic():
        n_delivered = _update_each(
            token=token,
            rows=delivered,
            columns=("erp_answer", "result"),
            same={"status": OutboxStatus.DELIVERED, "delivered_at": now, "erp_answered_at": now, **released},
        )
        n_refused_dead = _update_each(
            token=token,
            rows=refused_dead,
            columns=("last_error", "erp_reason", "result"),
            same={
                "status": OutboxStatus.DEAD,
                "dead_at": now,
                "last_failed_at": now,
                "erp_answer": ErpAnswer.REFUSED,
                "erp_answered_at": now,
                **released,
            },
        )
        n_retry = _update_each(
            token=token,
            rows=refused_retry,
            columns=("next_attempt_at", "last_error", "erp_reason", "result"),
            same={"last_failed_at": now, "erp_answer": ErpAnswer.REFUSED, "erp_answered_at": now, **released},
        )
        n_retry += _update_each(
            token=token,
            rows=retry,
            columns=("next_attempt_at", "last_error"),
            same={"last_failed_at": now, **released},
        )
        n_exhausted = _update_each(
            token=token,
            rows={pk: (error,) for pk, error in exhausted.items()},
            columns=("last_error",),
            same={"status": OutboxStatus.DEAD, "dead_at": now, "last_failed_at": now, **released},
        )
        n_given_back = 0
        if given_back:
            # The claim counted an attempt; an unavailable ERP is not the message's failure.
            n_given_back = OutboxMessage.objects.filter(
                claimed_by=token, status=OutboxStatus.PENDING, pk__in=given_back, attempts__gte=1
            ).update(
                attempts=F("attempts") - 1,
                last_error=f"ERP unavailable (not counted as an attempt): {failure}"[:MAX_ERROR_LENGTH],
                last_failed_at=now,
                **released,
            )
    recorded = n_delivered + n_refused_dead + n_retry + n_exhausted + n_given_back
    return RelayReport(
        claimed=len(batch),
        delivered=n_delivered,
        retrying=n_retry + n_given_back,
        dead=n_refused_dead + n_exhausted,
        lost_lease=len(batch) - recorded,
        paused=unavailable,
    )


def relay_once(
    *,
    adapter: ErpAdapter | None = None,
    batch_size: int | None = None,
    lease_seconds: int | None = None,
    max_attempts: int | None = None,
) -> RelayReport:
    """Ask the circuit breaker, claim one batch, deliver it in one ERP call, record the
    outcomes and tell the breaker whether the ERP answered.

    Cost: 2 short transactions (4 queries), 2-3 queries for the breaker and one ERP call,
    whatever the batch size; 1-2 queries and no call while the breaker is open.
    """
    adapter = adapter or get_adapter()
    batch_size = batch_size or settings.OUTBOX_BATCH_SIZE
    max_attempts = max_attempts or settings.OUTBOX_MAX_ATTEMPTS
    lease = dt.timedelta(seconds=lease_seconds or lease_seconds_default())
    gate = circuit.circuit_gate(probe_lease=lease)
    if gate == circuit.Gate.WAIT:
        return RelayReport(paused=True)
    token = f"{socket.gethostname()[:60]}:{os.getpid()}:{uuid.uuid4().hex[:12]}"
    # A probe sends one message: enough to learn whether the ERP is back.
    batch = _claim(batch_size=1 if gate == circuit.Gate.PROBE else batch_size, lease=lease, token=token)
    if not batch:
        if gate == circuit.Gate.PROBE:
            circuit.circuit_probe_unused()
        return RelayReport()
    results: dict[str, DeliveryResult] | None = None
    failure = ""
    unavailable = False
    try:
        results = _deliver(adapter, batch)
    except ErpUnavailable as exc:
        failure = f"{type(exc).__name__}: {exc}"
        unavailable = True
        log.warning("outbox: the ERP is unavailable for %d messages: %s", len(batch), failure)
    except ErpError as exc:
        failure = f"{type(exc).__name__}: {exc}"
        log.warning("outbox: the ERP refused a call of %d messages: %s", len(batch), failure)
    except BaseException as exc:
        # A bug or a time limit: count the attempt and back off before re-raising, so a
        # poison batch does not crash-loop; the leases would otherwise hold until expiry.
        _record(
            batch=batch,
            token=token,
            results=None,
            failure=f"{type(exc).__name__}: {exc}",
            unavailable=False,
            max_attempts=max_attempts,
        )
        raise
    report = _record(
        batch=batch,
        token=token,
        results=results,
        failure=failure,
        unavailable=unavailable,
        max_attempts=max_attempts,
    )
    if unavailable:
        circuit.circuit_unavailable(error=failure)
    else:
        circuit.circuit_answered()
    log.info(
        "outbox: relayed %d (delivered %d, retrying %d, dead %d, lost lease %d%s)",
        report.claimed,
        report.delivered,
        report.retrying,
        report.dead,
        report.lost_lease,
        ", ERP unavailable" if unavailable else "",
    )
    return report


def expire_abandoned(*, max_attempts: int | None = None) -> int:
    """Dead-letter messages whose final attempt's relay vanished (lease expired): their
    worker died during every attempt, so sending them again would only crash-loop."""
    max_attempts = max_attempts or settings.OUTBOX_MAX_ATTEMPTS
    now = timezone.now()
    return OutboxMessage.objects.filter(
        status=OutboxStatus.PENDING, attempts__gte=max_attempts, locked_until__lte=now
    ).update(
        status=OutboxStatus.DEAD,
        dead_at=now,
        last_failed_at=now,
        last_error="the relay delivering its last attempt vanished (lease expired)",
        locked_until=None,
        claimed_by="",
        updated_at=now,
    )


def claim_fan_out() -> bool:
    """Whether this relay may start helpers now: once per FAN_OUT_SECONDS (per cache; with
    the per-process default cache, per worker process)."""
    return bool(cache.add(FAN_OUT_CACHE_KEY, "1", timeout=FAN_OUT_SECONDS))


def relay_due(
    *,
    adapter: ErpAdapter | None = None,
    max_batches: int = 50,
    time_budget_seconds: float = 60.0,
    batch_size: int | None = None,
    lease_seconds: int | None = None,
    max_attempts: int | None = None,
    on_full_batch: Callable[[], None] | None = None,
) -> tuple[RelayReport, bool]:
    """Relay batches until nothing is due, `max_batches` ran or the time budget is spent;
    returns the report and whether work may remain (the caller re-enqueues itself then).

    Bounded: at most `max_batches` ERP calls of OUTBOX_BATCH_SIZE messages, started within
    `time_budget_seconds` (well inside the task's soft time limit). `on_full_batch` runs
    once, after the first batch that came back full: there is a backlog to share.

    That first full batch also brings the outbox's statistics up to date when a burst
    made them stale (`analyze_if_stale`, at most one ANALYZE per run): with statistics
    that say nothing is pending, PostgreSQL reads every pending row for each batch's
    outcome UPDATE (`_update_each`).
    """
    adapter = adapter or get_adapter()
    batch_size = batch_size or settings.OUTBOX_BATCH_SIZE
    expire_abandoned(max_attempts=max_attempts)
    total = RelayReport()
    deadline = time.monotonic() + time_budget_seconds
    first_full = True
    for _ in range(max_batches):
        if time.monotonic() > deadline:
            break
        report = relay_once(
            adapter=adapter, batch_size=batch_size, lease_seconds=lease_seconds, max_attempts=max_attempts
        )
        total += report
        if first_full and report.claimed == batch_size and not report.paused:
            first_full = False
            if on_full_batch is not None:
                on_full_batch()  # first: the helpers start while this relay analyses
            # A relay run inside someone's transaction (a test, a shell) leaves the
            # statistics to the next run of its own: ANALYZE belongs outside.
            analyze_if_stale(OutboxMessage._meta.db_table, skip_in_transaction=True)
        # Nothing claimed: nothing is due. Paused: the ERP is unavailable, the breaker says
        # when to try again (the beat sweep asks it). Nothing settled: the rest waits for
        # its backoff. Otherwise go on, even after a short batch: settling an aggregate's
        # head makes its next message eligible.
        if report.claimed == 0 or report.paused or report.delivered + report.dead == 0:
            return total, False
    return total, True
