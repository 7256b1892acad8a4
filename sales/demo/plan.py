"""The shapes of the demo's plan: pipelines, buyers, leads and deals as planned, the
events on the clock, the totals reported, and the calendar (working days, where the
history starts)."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, TypeVar

from frontoffice.models import User

T = TypeVar("T")


@dataclass(frozen=True)
class Shape:
    """A pipeline as the plan sees it: its open stages in order, where quoting starts."""

    pipeline_id: int
    open_stages: tuple[int, ...]
    quote_from: int  # index into open_stages


@dataclass(frozen=True)
class Buyer:
    """A customer who may buy: id, owner, country, tier, whether the ERP knows it."""

    pk: int
    owner_id: int | None
    country: str
    tier: str
    erp_known: bool


@dataclass
class LeadPlan:
    opens: dt.datetime
    owner: User | None
    fields: dict[str, Any]
    fate: str  # a LeadStatus
    fate_at: dt.datetime | None = None
    reason: str = ""
    worker: User | None = None  # who qualifies, disqualifies or converts
    pk: int | None = None


@dataclass
class Deal:
    """One opportunity's life, planned; the ids are filled in while playing."""

    owner: User
    buyer: Buyer | None  # None: the customer is created by converting `lead`
    shape: Shape
    currency: str
    tier: str
    tax_rate: Decimal
    name: str  # the theme; the opportunity's name adds its first line
    lines: list[tuple[str, int, Decimal]]  # sku, quantity, discount percent
    first_stage: int
    outcome: str  # "won", "lost" or "open"
    close_on: dt.date
    slip_to: dt.date | None = None
    lost_reason: str = ""
    needs_approval: bool = False
    big: bool = False  # more than the warehouses hold: a later promise, partial shipments
    # When the quote's date can no longer be kept at signing: the rep sends a new
    # revision (True) or the customer takes the later date (False).
    redate_when_late: bool = False
    requested_on: dt.date | None = None
    valid_until: dt.date | None = None
    set_tier: str = ""
    lead: LeadPlan | None = None
    opportunity_id: int | None = None
    quote_id: int | None = None
    order_id: int | None = None

    @property
    def final_close_on(self) -> dt.date:
        return self.slip_to or self.close_on


@dataclass(order=True)
class Event:
    at: dt.datetime
    seq: int
    action: Callable[..., None] = field(compare=False)
    args: tuple[Any, ...] = field(compare=False, default=())


def workday(day: dt.date, *, forward: bool = True) -> dt.date:
    while day.weekday() >= 5:
        day += dt.timedelta(days=1 if forward else -1)
    return day


def history_start(today: dt.date, months: int) -> dt.date:
    """The Monday a fortnight before the first of the month `months` months ago, so that
    the forecast published that week is the one before the first month reported."""
    month = today.replace(day=1)
    for _ in range(months):
        month = (month - dt.timedelta(days=1)).replace(day=1)
    start = month - dt.timedelta(days=14)
    return start - dt.timedelta(days=start.weekday())


@dataclass
class Totals:
    leads: Counter[str] = field(default_factory=Counter)
    opportunities: Counter[str] = field(default_factory=Counter)
    quotes: Counter[str] = field(default_factory=Counter)
    orders: Counter[str] = field(default_factory=Counter)
    invoices: Counter[str] = field(default_factory=Counter)
    snapshots: int = 0
    affinities: int = 0
    days: int = 0
    started_on: dt.date | None = None


class NotFresh(Exception):
    """The replay needs an ERP simulator nobody has used yet; `str(exc)` says why not."""


def known(value: T | None) -> T:
    """What a step planned or played before this one recorded (an id, a date, a person):
    steps run in their planned order, so it is there."""
    if value is None:
        raise NotFresh("a step ran before the one it needs")
    return value
