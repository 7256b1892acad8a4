"""The simulator's fault knobs: what goes wrong between the front office and the ERP.

One `SimFaults` row, set from the ERP_FAULT_* settings when the simulator starts
(`run_erp_simulator`, whether the row exists or not; the in-process `stub` simulator
creates it from them on first use) and changed at run time from the admin, from the
HTTP API (`PUT /v1/faults`) or from tests:

    from backoffice_sync.simulator import faults
    faults.set(outage=True)
    with faults.override(error_rate=1.0):
        ...

Every roll of the dice is numbered (`SimFaults.draws`) and hashed with the simulator's
seed, so a run with the same seed, inputs and knobs fails in the same places.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from typing import Any, TypeVar

from django.conf import settings
from django.db import transaction

from backoffice_sync.erp import ErpUnavailable
from backoffice_sync.simulator import dice
from backoffice_sync.simulator.models import SimFaults

T = TypeVar("T")

KNOBS = ("latency_ms", "error_rate", "outage", "duplicate_rate", "reorder_rate")
_RATES = ("error_rate", "duplicate_rate", "reorder_rate")


@dataclass(frozen=True)
class Faults:
    latency_ms: int = 0
    error_rate: float = 0.0
    outage: bool = False
    duplicate_rate: float = 0.0
    reorder_rate: float = 0.0

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def from_settings() -> Faults:
    return Faults(
        latency_ms=settings.ERP_FAULT_LATENCY_MS,
        error_rate=settings.ERP_FAULT_ERROR_RATE,
        outage=settings.ERP_FAULT_OUTAGE,
        duplicate_rate=settings.ERP_FAULT_DUPLICATE_RATE,
        reorder_rate=settings.ERP_FAULT_REORDER_RATE,
    )


def _row(*, lock: bool = False) -> SimFaults:
    """The knobs' row, created from the settings the first time (races end in one row)."""
    queryset = SimFaults.objects.select_for_update() if lock else SimFaults.objects
    row = queryset.filter(pk=1).first()
    if row is None:
        row, _ = SimFaults.objects.get_or_create(pk=1, defaults=from_settings().as_json())
    return row


def current() -> Faults:
    row = _row()
    return Faults(**{knob: getattr(row, knob) for knob in KNOBS})


def validate(knobs: dict[str, Any]) -> dict[str, Any]:
    """The knobs, checked and converted; raises ValueError naming the bad one."""
    clean: dict[str, Any] = {}
    for knob, value in knobs.items():
        if knob not in KNOBS:
            raise ValueError(f"unknown fault knob {knob!r} (known: {', '.join(KNOBS)})")
        if knob == "outage":
            if not isinstance(value, bool):
                raise ValueError("outage must be true or false")
        elif knob == "latency_ms":
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 600_000:
                raise ValueError("latency_ms must be an integer between 0 and 600000")
        elif (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
            or not 0 <= value <= 1
        ):
            raise ValueError(f"{knob} must be a number between 0 and 1")
        clean[knob] = float(value) if knob in _RATES else value
    return clean


# Named like the builtin on purpose: `faults.set(outage=True)` reads best at the call site.
def set(**knobs: Any) -> Faults:
    """Change some knobs, leave the others; raises ValueError on a bad value."""
    clean = validate(knobs)
    with transaction.atomic():
        row = _row(lock=True)
        for knob, value in clean.items():
            setattr(row, knob, value)
        row.save(update_fields=[*clean, "updated_at"])
    return current()


def restore_settings() -> Faults:
    """Back to what the ERP_FAULT_* settings say."""
    return set(**from_settings().as_json())


@contextmanager
def override(**knobs: Any) -> Iterator[Faults]:
    """Change knobs for the duration of a block, then put back what was there."""
    previous = current()
    try:
        yield set(**knobs)
    finally:
        set(**previous.as_json())


def _draw_numbers(count: int) -> int:
    """Reserve `count` numbered draws; returns the first number."""
    with transaction.atomic():
        row = _row(lock=True)
        first = row.draws
        row.draws = first + count
        row.save(update_fields=["draws"])
    return first


@dataclass(frozen=True)
class CallPlan:
    """How one call will go wrong, decided before it runs."""

    fail_after_apply: bool = False


def plan_call(*, seed: int, operation: str, applies: bool) -> CallPlan:
    """Sleep the latency, then raise ErpUnavailable on an outage or a failed roll.

    For a call that applies something (`deliver`), about half of the failures happen
    after the batch was committed: the caller gets an error for work that was done,
    which is what idempotency keys are for. The caller raises those itself, via
    `CallPlan.fail_after_apply`.
    """
    knobs = current()
    if knobs.latency_ms:
        time.sleep(knobs.latency_ms / 1000)
    if knobs.outage:
        raise ErpUnavailable(f"ERP simulator: outage ({operation} not applied)")
    if knobs.error_rate <= 0:
        return CallPlan()
    number = _draw_numbers(1)
    if dice.roll(seed, "fault-error", number) >= knobs.error_rate:
        return CallPlan()
    if applies and dice.roll(seed, "fault-error-after", number) < 0.5:
        return CallPlan(fail_after_apply=True)
    raise ErpUnavailable(f"ERP simulator: injected error ({operation} not applied)")


def scramble(items: Sequence[T], *, seed: int) -> list[T]:
    """The items as a flaky transport would deliver them: some twice, some batches shuffled."""
    knobs = current()
    result = list(items)
    if not result or (knobs.duplicate_rate <= 0 and knobs.reorder_rate <= 0):
        return result
    number = _draw_numbers(1)
    if knobs.duplicate_rate > 0:
        doubled = []
        for index, item in enumerate(result):
            doubled.append(item)
            if dice.roll(seed, "fault-duplicate", number, index) < knobs.duplicate_rate:
                doubled.append(item)
        result = doubled
    if knobs.reorder_rate > 0 and dice.roll(seed, "fault-reorder", number) < knobs.reorder_rate:
        result = dice.shuffled(result, seed, "fault-shuffle", number)
    return result
