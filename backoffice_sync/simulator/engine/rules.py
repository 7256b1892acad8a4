"""The simulated ERP's fixed numbers and the vocabulary every part of it shares."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from backoffice_sync.simulator.models import SimOrderStatus, SimState

MAX_BATCH = 1000
MAX_PULL_LIMIT = 1000
MAX_TICK_HOURS = 24 * 366
SPLIT_SHIPMENT_RATE = 0.3
LATE_PAYER_RATE = 0.25
# On the day a purchase is due, its supplier sometimes slips: it arrives days later.
SUPPLIER_SLIP_RATE = 0.1
SUPPLIER_SLIP_DAYS = (3, 8)
PAYMENT_TERMS_DAYS = (14, 30, 30, 45, 60)
CARRIERS = ("DHL", "UPS", "DPD", "GLS")
SHIPPED_STATUSES = (SimOrderStatus.PARTIALLY_SHIPPED, SimOrderStatus.SHIPPED, SimOrderStatus.DELIVERED)
OPEN_STATUSES = (SimOrderStatus.CONFIRMED, SimOrderStatus.PARTIALLY_SHIPPED)
CENT = Decimal("0.01")


class Rejected(Exception):
    """A message the ERP will never apply; the text is the reason given back."""


def midnight(moment: dt.datetime) -> dt.datetime:
    return moment.astimezone(dt.UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def money(amount: Decimal) -> str:
    return str(amount.quantize(CENT))


def next_number(state: SimState, kind: str, prefix: str) -> str:
    counters = dict(state.counters)
    counters[kind] = counters.get(kind, 0) + 1
    state.counters = counters
    return f"{prefix}-{counters[kind]:06d}"
