"""stock.changed and product.changed: the catalogue and stock mirrors."""

from __future__ import annotations

from backoffice_sync.apply.rules import STALE, Deferred, Outcome, valid_data
from backoffice_sync.apply.shapes import ProductData, StockData
from backoffice_sync.erp import ErpEvent
from backoffice_sync.models import IncomingStock, Product, StockLevel


def apply_stock_changed(event: ErpEvent, *, stale: bool) -> Outcome:
    """stock.changed: {sku, warehouse, on_hand, reserved, incoming: [{quantity,
    expected_on}]}. Stock of a SKU without a product mirror waits for the product,
    then is rejected."""
    if stale:
        return STALE
    data = valid_data(StockData, event)
    product = Product.objects.filter(sku=data["sku"]).first()
    if product is None:
        # Its product.changed may be right behind it in a reordered batch: wait for it;
        # the inbox rejects the event for inspection once the attempts are used up.
        raise Deferred(f"Unknown SKU {data['sku']}: no product mirror.")
    level = (
        StockLevel.objects.select_for_update().filter(product=product, warehouse=data["warehouse"]).first()
    )
    if level is not None and level.erp_version >= event.version:
        return STALE
    level = level or StockLevel(product=product, warehouse=data["warehouse"])
    level.on_hand = data["on_hand"]
    level.reserved = data["reserved"]
    level.erp_version = event.version
    level.save()
    level.incoming.all().delete()
    incoming = data.get("incoming", [])
    IncomingStock.objects.bulk_create(
        IncomingStock(stock_level=level, quantity=item["quantity"], expected_on=item["expected_on"])
        for item in incoming
    )
    return Outcome()


def apply_product_changed(event: ErpEvent, *, stale: bool) -> Outcome:
    """product.changed: {sku, name, unit_price, currency, lead_time_days, active}."""
    if stale:
        return STALE
    data = valid_data(ProductData, event)
    product = Product.objects.select_for_update().filter(sku=data["sku"]).first()
    if product is not None and product.erp_version >= event.version:
        return STALE
    product = product or Product(sku=data["sku"])
    for name in ("name", "unit_price", "currency", "lead_time_days", "active"):
        setattr(product, name, data[name])
    product.erp_version = event.version
    product.save()
    return Outcome()
