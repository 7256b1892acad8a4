"""The `stub` ERP adapter: the simulator in this process, on this database.

The default adapter: development, tests and demos need no other process. It goes
through the same engine functions as the HTTP server, so faults, idempotency and the
change log behave exactly as they do behind the `http` adapter.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from typing import Any

from backoffice_sync.erp import (
    AdapterBase,
    ChangeBatch,
    DailyTotals,
    DeliveryResult,
    OutboundMessage,
    Product,
    RecordKind,
    StockLevel,
)
from backoffice_sync.simulator import engine, faults


class StubAdapter(AdapterBase):
    name = "stub"

    def deliver(self, messages: Sequence[OutboundMessage]) -> list[DeliveryResult]:
        return engine.deliver(messages)

    def pull_changes(self, *, cursor: str | None, limit: int = 500) -> ChangeBatch:
        return engine.pull_changes(cursor=cursor, limit=limit)

    def stock(self, skus: Sequence[str]) -> list[StockLevel]:
        return engine.stock(skus)

    def catalogue(self) -> list[Product]:
        return engine.catalogue_products()

    def daily_totals(self, *, since: dt.date, until: dt.date) -> list[DailyTotals]:
        return engine.daily_totals(since=since, until=until)

    def records(
        self,
        kind: RecordKind,
        *,
        since: dt.date | None = None,
        until: dt.date | None = None,
        refs: Sequence[str] = (),
    ) -> list[dict[str, Any]]:
        # Through JSON, as the http adapter gets them: the same types either way.
        return json.loads(json.dumps(engine.records(kind, since=since, until=until, refs=refs)))

    # Simulator controls: not part of the ErpAdapter protocol (a real ERP has none).

    def tick(self, hours: float) -> dt.datetime:
        """Advance the simulator's clock; returns the new time."""
        return engine.tick(hours=hours).now

    def catch_up(self, *, until: dt.datetime, max_hours: float) -> dt.datetime:
        """Advance the simulator's clock towards `until`, never past it; returns the new time."""
        return engine.catch_up(until=until, max_hours=max_hours).now

    def clock(self) -> dt.datetime:
        return engine.now()

    def set_faults(self, **knobs: Any) -> dict[str, Any]:
        return faults.set(**knobs).as_json()

    def get_faults(self) -> dict[str, Any]:
        return faults.current().as_json()

    def reset(self, *, seed: int | None = None, start: dt.datetime | None = None) -> None:
        engine.reset(seed=seed, start=start)
