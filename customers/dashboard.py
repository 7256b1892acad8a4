"""The customer profile's card on the dashboard."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from customers.selectors import dashboard_summary


def customers_card(*, actor: Any, now: dt.datetime | None = None) -> Mapping[str, Any]:
    """Live customers, those created this week and the actor's recent activity (2 queries)."""
    return {
        "summary": dashboard_summary(actor=actor, now=now),
        "can_merge": actor.has_perm("customers.merge_customer"),
        "can_create": actor.has_perm("customers.add_customer"),
    }
