"""ERP-side edits: what the back office's own users do (demos and tests)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from django.db import transaction

from backoffice_sync.erp import Product
from backoffice_sync.simulator.engine.accounts import customer_for
from backoffice_sync.simulator.engine.change_log import customer_changed, product_changed, stock_changed
from backoffice_sync.simulator.engine.lifecycle import lock_state
from backoffice_sync.simulator.models import SimIncoming, SimProduct, SimStock


def product_update(*, sku: str, **changes: Any) -> Product:
    """Change a product as the ERP's product manager would (name, unit_price, lead_time_days, active)."""
    allowed = {"name", "unit_price", "lead_time_days", "active", "reorder_point", "reorder_quantity"}
    if not set(changes) <= allowed:
        raise ValueError(f"unknown product fields: {sorted(set(changes) - allowed)}")
    with transaction.atomic():
        state = lock_state()
        product = SimProduct.objects.select_for_update().get(sku=sku)
        for name, value in changes.items():
            setattr(product, name, value)
        product.full_clean()
        product.save()
        product_changed(state, product)
    return Product(
        sku=product.sku,
        name=product.name,
        unit_price=Decimal(product.unit_price),
        currency=product.currency,
        lead_time_days=product.lead_time_days,
        active=product.active,
        version=product.version,
    )


def stock_set(
    *, sku: str, warehouse: str, on_hand: int, incoming: Sequence[tuple[int, dt.date]] = ()
) -> None:
    """Count stock as a warehouse inventory would; replaces the incoming purchases too."""
    with transaction.atomic():
        state = lock_state()
        row = (
            SimStock.objects.select_for_update()
            .select_related("product")
            .get(product__sku=sku, warehouse=warehouse)
        )
        if on_hand < row.reserved:
            raise ValueError(f"{row.reserved} are reserved: on_hand cannot go below that")
        row.on_hand = on_hand
        SimIncoming.objects.filter(stock=row).delete()
        for quantity, expected_on in incoming:
            SimIncoming.objects.create(stock=row, quantity=quantity, expected_on=expected_on)
        stock_changed(state, row)


def customer_update(
    *, customer_ref: str, payment_terms_days: int | None = None, pays_late: bool | None = None
) -> None:
    """Set a customer's payment behaviour as credit control would (the customer is created if new)."""
    with transaction.atomic():
        state = lock_state()
        customer = customer_for(state, customer_ref)
        if payment_terms_days is not None:
            customer.payment_terms_days = payment_terms_days
        if pays_late is not None:
            customer.pays_late = pays_late
        customer_changed(state, customer)
        state.save(update_fields=["counters", "updated_at"])
