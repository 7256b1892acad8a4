"""The ERP's change log: every change to a product, stock row, customer or order is
saved with its new version and appended as an event (`SimEvent`), which the front office
pulls or receives by webhook."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from backoffice_sync.contracts import (
    CustomerChangedData,
    OrderEventData,
    ProductChangedData,
    StockChangedData,
)
from backoffice_sync.erp import EventType
from backoffice_sync.simulator.engine.rules import money
from backoffice_sync.simulator.models import (
    SimCustomer,
    SimEvent,
    SimIncoming,
    SimOrder,
    SimOrderLine,
    SimProduct,
    SimState,
    SimStock,
)


def event_row(
    state: SimState, *, type: EventType, aggregate: str, version: int, data: Mapping[str, Any]
) -> SimEvent:
    """An unsaved change-log row (`emit` saves it; a batch bulk-creates them)."""
    return SimEvent(
        event_id=f"{aggregate}@{version}",
        type=type,
        aggregate=aggregate,
        version=version,
        occurred_at=state.now,
        data=data,
    )


def emit(state: SimState, *, type: EventType, aggregate: str, version: int, data: Mapping[str, Any]) -> None:
    event_row(state, type=type, aggregate=aggregate, version=version, data=data).save(force_insert=True)


def product_changed(state: SimState, product: SimProduct) -> None:
    product.version += 1
    product.save(update_fields=["version", "updated_at"])
    data: ProductChangedData = {
        "sku": product.sku,
        "name": product.name,
        "unit_price": money(product.unit_price),
        "currency": product.currency,
        "lead_time_days": product.lead_time_days,
        "active": product.active,
    }
    emit(
        state,
        type=EventType.PRODUCT_CHANGED,
        aggregate=f"product:{product.sku}",
        version=product.version,
        data=data,
    )


def stock_changed(state: SimState, stock: SimStock) -> None:
    """Save the stock row and publish it, incoming purchases included."""
    stock.version += 1
    stock.save(update_fields=["on_hand", "reserved", "version", "updated_at"])
    data: StockChangedData = {
        "sku": stock.product.sku,
        "warehouse": stock.warehouse,
        "on_hand": stock.on_hand,
        "reserved": stock.reserved,
        "incoming": [
            {"quantity": i.quantity, "expected_on": i.expected_on.isoformat()}
            for i in SimIncoming.objects.filter(stock=stock).order_by("expected_on", "id")
        ],
    }
    emit(
        state,
        type=EventType.STOCK_CHANGED,
        aggregate=f"stock:{stock.product.sku}:{stock.warehouse}",
        version=stock.version,
        data=data,
    )


def customer_event(state: SimState, customer: SimCustomer) -> SimEvent:
    """The customer.changed row for the customer's current version (unsaved)."""
    data: CustomerChangedData = {
        "customer_ref": customer.customer_ref,
        "erp_customer_number": customer.number,
        "name": customer.name,
        "email": customer.email or None,
        "phone": customer.phone or None,
        "billing_address": customer.billing_address,
        "shipping_address": customer.shipping_address,
        "payment_terms_days": customer.payment_terms_days,
    }
    return event_row(
        state,
        type=EventType.CUSTOMER_CHANGED,
        aggregate=f"customer:{customer.customer_ref}",
        version=customer.version,
        data=data,
    )


def customer_changed(state: SimState, customer: SimCustomer) -> None:
    customer.version += 1
    customer.save()
    customer_event(state, customer).save(force_insert=True)


def order_changed(
    state: SimState, order: SimOrder, lines: Sequence[SimOrderLine], type: EventType, **extra: Any
) -> None:
    """Save the order and publish it as it now is; `extra` is what the event's type adds
    (a rejection's reason, a shipment: `contracts.EVENT_DATA`)."""
    order.version += 1
    order.save()
    data: OrderEventData = {
        "order_ref": order.order_ref,
        "erp_order_number": order.number,
        "customer_ref": order.customer.customer_ref,
        "status": order.status,
        "currency": order.currency,
        "requested_date": order.requested_date.isoformat() if order.requested_date else None,
        "lines": [
            {
                "line_no": line.line_no,
                "sku": line.product.sku,
                "quantity": line.quantity,
                "reserved": line.reserved,
                "shipped": line.shipped,
                "unit_price": money(line.unit_price),
                "warehouse": line.warehouse,
            }
            for line in lines
        ],
    }
    emit(
        state, type=type, aggregate=f"order:{order.order_ref}", version=order.version, data={**data, **extra}
    )
