"""The ERP simulator (stub adapter, in process) set up for order journeys: FO-1001 in
stock with a one-day lead time, on the EUR price list; helpers to relay, tick and pull."""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from backoffice_sync import inbox
from backoffice_sync.adapters.stub import StubAdapter
from backoffice_sync.outbox import relay_due
from backoffice_sync.simulator import engine
from sales.tests.quote_setup import a_price_list, a_product

SKU = "FO-1001"


def an_erp_with_stock() -> StubAdapter:
    adapter = StubAdapter()
    adapter.reset(seed=7, start=timezone.now())
    engine.product_update(sku=SKU, lead_time_days=1)
    engine.stock_set(sku=SKU, warehouse="AMS", on_hand=50)
    a_product(SKU, lead_time_days=1, on_hand=50)
    a_price_list({SKU: "12.50"})
    return adapter


def pull_all() -> None:
    while inbox.pull_changes_once().has_more:
        pass


def erp_lives(adapter: StubAdapter, hours: float) -> Any:
    """Relay what is due, let the ERP work for `hours`, pull what it did."""
    relay_due(adapter=adapter)
    adapter.tick(hours)
    pull_all()
