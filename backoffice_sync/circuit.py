"""The circuit breaker in front of the ERP: an unavailable ERP is waited out, not
counted against the messages.

One `ErpCircuit` row, shared by every relay in every worker process:

- CLOSED: relays send. A call that finds the ERP unavailable (connection refused,
  timeout, 5xx, 429: `ErpUnavailable`) opens the circuit; the messages of that call get
  their attempt back.
- OPEN: nobody sends. Once `next_probe_at` passes, the first relay to ask wins the probe
  (a conditional UPDATE, so exactly one) and the circuit is HALF_OPEN while it sends one
  small batch. The probe's lease is `next_probe_at`: a prober that dies is replaced once
  it expires.
- An answer of any kind (accepted, duplicate, refused) closes it; another unavailability
  re-opens it and doubles the wait, from ERP_PROBE_BASE_SECONDS up to ERP_PROBE_CAP_SECONDS.
- Reads count too, so that the breaker tells the truth with nothing in the outbox: the
  inbox's pull (orders' status, shipments, invoices, payments, stock) and a
  reconciliation run close it when the ERP answers; a pull that finds the ERP
  unavailable opens it.

When the ERP has been unavailable for ERP_UNREACHABLE_ALERT_SECONDS, the operators are
told once per outage: one log line at ERROR, and a notice in the app (the dashboard card
and the monitor page read `circuit_notice`) until the ERP answers again.
"""

from __future__ import annotations

import datetime as dt
import enum
import logging
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from backoffice_sync.models import CircuitState, ErpCircuit
from frontoffice.write_path import authorize

log = logging.getLogger(__name__)

VIEW_PERMISSION = "backoffice_sync.view_outboxmessage"
MAX_ERROR_LENGTH = 2000


class Gate(enum.StrEnum):
    SEND = "send"  # closed: send full batches
    PROBE = "probe"  # this relay won the probe: send one small batch
    WAIT = "wait"  # open, or another relay is probing: send nothing


def probe_delay_seconds(probes: int) -> float:
    """The wait before the next probe, after `probes` failed ones since the circuit opened."""
    base, cap = settings.ERP_PROBE_BASE_SECONDS, settings.ERP_PROBE_CAP_SECONDS
    return float(min(cap, base * 2 ** min(probes, 30)))


def circuit_row() -> ErpCircuit:
    """The row (created closed the first time; a race ends in one row)."""
    row = ErpCircuit.objects.filter(pk=1).first()
    if row is None:
        row, _ = ErpCircuit.objects.get_or_create(pk=1, defaults={"changed_at": timezone.now()})
    return row


def circuit_gate(*, probe_lease: dt.timedelta, now: dt.datetime | None = None) -> Gate:
    """May this relay send now? 1 query when closed, 2 otherwise."""
    now = now or timezone.now()
    row = circuit_row()
    if row.state == CircuitState.CLOSED:
        return Gate.SEND
    won = (
        ErpCircuit.objects.filter(pk=1, next_probe_at__lte=now)
        .exclude(state=CircuitState.CLOSED)
        .update(state=CircuitState.HALF_OPEN, changed_at=now, next_probe_at=now + probe_lease, updated_at=now)
    )
    if won:
        log.info("ERP circuit: probing the ERP (%d failed probes so far)", row.probes)
        return Gate.PROBE
    circuit_alert_if_due(now=now)
    return Gate.WAIT


def circuit_probe_unused(*, now: dt.datetime | None = None) -> None:
    """The probe found nothing to send: the next relay with work probes at once."""
    now = now or timezone.now()
    ErpCircuit.objects.filter(pk=1, state=CircuitState.HALF_OPEN).update(
        state=CircuitState.OPEN, changed_at=now, next_probe_at=now, updated_at=now
    )


def circuit_unavailable(*, error: str, now: dt.datetime | None = None) -> ErpCircuit:
    """The ERP did not answer (or answered 5xx/429): open, or stay open with a longer wait."""
    now = now or timezone.now()
    with transaction.atomic():
        circuit_row()
        row = ErpCircuit.objects.select_for_update().get(pk=1)
        if row.state == CircuitState.CLOSED:
            row.unavailable_since = now
            row.probes = 0
            row.alerted_at = None
            log.warning("ERP circuit: opened, the ERP is unavailable (%s); sending pauses", error[:300])
        else:
            row.probes += 1
        if row.state != CircuitState.OPEN:
            row.changed_at = now
        row.state = CircuitState.OPEN
        row.next_probe_at = now + dt.timedelta(seconds=probe_delay_seconds(row.probes))
        row.last_error = error[:MAX_ERROR_LENGTH]
        row.full_clean()
        row.save()
    circuit_alert_if_due(now=now)
    return row


def circuit_answered(*, now: dt.datetime | None = None) -> bool:
    """The ERP answered: close the circuit if it was not (returns whether it changed).
    1 query when it was closed already."""
    now = now or timezone.now()
    if not ErpCircuit.objects.filter(pk=1).exclude(state=CircuitState.CLOSED).exists():
        return False
    with transaction.atomic():
        row = ErpCircuit.objects.select_for_update().filter(pk=1).first()
        if row is None or row.state == CircuitState.CLOSED:
            return False
        since = row.unavailable_since
        ErpCircuit.objects.filter(pk=1).update(
            state=CircuitState.CLOSED,
            changed_at=now,
            unavailable_since=None,
            next_probe_at=None,
            probes=0,
            alerted_at=None,
            updated_at=now,
        )
    log.warning(
        "ERP circuit: closed, the ERP answers again after %.0f s unavailable; sending resumes",
        (now - since).total_seconds() if since else 0.0,
    )
    return True


def circuit_alert_if_due(*, now: dt.datetime | None = None) -> bool:
    """Alert once per outage when the ERP has been away longer than the setting."""
    now = now or timezone.now()
    threshold = now - dt.timedelta(seconds=settings.ERP_UNREACHABLE_ALERT_SECONDS)
    fired = (
        ErpCircuit.objects.filter(pk=1, alerted_at__isnull=True, unavailable_since__lte=threshold)
        .exclude(state=CircuitState.CLOSED)
        .update(alerted_at=now, updated_at=now)
    )
    if fired:
        row = circuit_row()
        log.error(
            "ERP unreachable since %s (over %.0f s); %s. Orders wait in the outbox and go out "
            "when it answers again.",
            row.unavailable_since.isoformat() if row.unavailable_since else "?",
            settings.ERP_UNREACHABLE_ALERT_SECONDS,
            row.last_error[:300] or "no error recorded",
        )
    return bool(fired)


@dataclass(frozen=True)
class CircuitStatus:
    state: str
    since: dt.datetime
    unavailable_since: dt.datetime | None
    unavailable_seconds: float | None
    next_probe_at: dt.datetime | None
    probes: int
    last_error: str
    alerted_at: dt.datetime | None


def circuit_status(*, now: dt.datetime | None = None) -> CircuitStatus:
    """The breaker as the monitor shows it (1 query)."""
    now = now or timezone.now()
    row = circuit_row()
    away = row.unavailable_since if row.state != CircuitState.CLOSED else None
    return CircuitStatus(
        state=row.state,
        since=row.changed_at,
        unavailable_since=away,
        unavailable_seconds=(now - away).total_seconds() if away else None,
        next_probe_at=row.next_probe_at if row.state != CircuitState.CLOSED else None,
        probes=row.probes,
        last_error=row.last_error if row.state != CircuitState.CLOSED else "",
        alerted_at=row.alerted_at if row.state != CircuitState.CLOSED else None,
    )


def circuit_notice(*, actor: Any, now: dt.datetime | None = None) -> dict[str, Any]:
    """The in-app notice for back-office users (the dashboard card's context): `alert`
    is set while an alerted outage lasts (1 query)."""
    authorize(actor, VIEW_PERMISSION, message="You may not see the ERP link's state.")
    status = circuit_status(now=now)
    return {
        "alert": status.alerted_at is not None,
        "circuit": status,
        "monitor_url": reverse("backoffice_sync:monitor"),
    }
