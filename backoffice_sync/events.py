"""What the back-office sync publishes (contracts for `frontoffice.events`).

Published from `inbox_apply` once the ERP's event is applied; subscribers choose their
phase (after commit, normally)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class ErpFactApplied:
    """A fact from the ERP reached the mirror: `name` is the ERP event's type
    (`order.shipped`, `invoice.issued`, `payment.received`, `stock.changed`...) and
    `payload` what changed, as JSON-able values."""

    name: str
    payload: dict[str, Any] = field(default_factory=dict)
