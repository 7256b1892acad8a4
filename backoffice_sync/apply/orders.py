"""order.*: the order mirror, its status history, its shipments."""

from __future__ import annotations

from typing import Any

from backoffice_sync.apply.rules import (
    STALE,
    Outcome,
    Rejected,
    live_customer,
    record_on_timeline,
    valid_data,
)
from backoffice_sync.apply.shapes import OrderData
from backoffice_sync.choices import ErpActivityKind
from backoffice_sync.erp import ErpEvent, EventType
from backoffice_sync.events import ErpFact, OrderConfirmed, OrderShipped
from backoffice_sync.models import (
    ErpOrder,
    ErpOrderLine,
    ErpOrderStatus,
    ErpOrderStatusChange,
    Shipment,
    ShipmentLine,
)

ORDER_STATUS = {
    EventType.ORDER_CONFIRMED: ErpOrderStatus.CONFIRMED,
    EventType.ORDER_REJECTED: ErpOrderStatus.REJECTED,
    EventType.ORDER_PARTIALLY_SHIPPED: ErpOrderStatus.PARTIALLY_SHIPPED,
    EventType.ORDER_SHIPPED: ErpOrderStatus.SHIPPED,
    EventType.ORDER_DELIVERED: ErpOrderStatus.DELIVERED,
    EventType.ORDER_CANCELLED: ErpOrderStatus.CANCELLED,
}
SHIPPING = (EventType.ORDER_SHIPPED, EventType.ORDER_PARTIALLY_SHIPPED)


def _order_subject(order: ErpOrder, event: ErpEvent, data: dict[str, Any], lines: list[ErpOrderLine]) -> str:
    ref = order.order_ref
    if event.type in SHIPPING:
        verb = "shipped" if event.type == EventType.ORDER_SHIPPED else "partially shipped"
        subject = f"Order {ref} {verb}"
        if lines:
            done = sum(1 for line in lines if line.shipped >= line.quantity)
            subject += f" ({done} of {len(lines)} lines)"
        if data.get("tracking_number"):
            subject += f", tracking {(data.get('carrier') or '').strip()} {data['tracking_number']}".replace(
                "  ", " "
            )
        return subject
    if event.type == EventType.ORDER_CONFIRMED:
        number = f" as {order.erp_order_number}" if order.erp_order_number else ""
        return f"Order {ref} confirmed by the ERP{number}"
    if event.type == EventType.ORDER_REJECTED:
        reason = f": {data['reason']}" if data.get("reason") else ""
        return f"Order {ref} rejected by the ERP{reason}"
    return f"Order {ref} {ORDER_STATUS[event.type].label.lower()}"


def _shipment_lines(data: dict[str, Any]) -> list[dict[str, Any]]:
    """What the shipment carried: as the event lists it, or else what the lines say shipped."""
    for key in ("shipped_lines", "shipment_lines"):
        if data.get(key):
            return data[key]
    return [
        {"sku": line["sku"], "quantity": line["shipped"]} for line in data.get("lines", []) if line["shipped"]
    ]


def _record_shipment(order: ErpOrder, event: ErpEvent, data: dict[str, Any]) -> tuple[Shipment | None, bool]:
    """Insert the shipment once (a fact that a later event cannot make untrue); returns
    it and whether this event recorded it."""
    number = data.get("shipment_number")
    if not number:
        return None, False
    shipment = Shipment.objects.filter(number=number).first()
    if shipment is not None:
        if shipment.order_id != order.pk:
            raise Rejected(f"Shipment {number} belongs to another order.")
        return shipment, False
    shipment = Shipment.objects.create(
        number=number,
        order=order,
        carrier=data.get("carrier") or "",
        tracking_number=data.get("tracking_number") or "",
        shipped_on=data.get("shipped_on") or event.occurred_at.date(),
        erp_version=event.version,
    )
    ShipmentLine.objects.bulk_create(
        ShipmentLine(shipment=shipment, line_no=n, sku=line["sku"], quantity=line["quantity"])
        for n, line in enumerate(_shipment_lines(data), start=1)
    )
    return shipment, True


def _record_delivery(order: ErpOrder, event: ErpEvent, data: dict[str, Any]) -> None:
    """order.delivered: the parcels shipped before it (lower versions) arrived on its day;
    without a shipment number the whole order did, which the order keeps for parcels
    whose shipping event comes later."""
    delivered_on = data.get("delivered_on") or event.occurred_at.date()
    shipments = order.shipments.filter(delivered_on__isnull=True, erp_version__lt=event.version)
    if data.get("shipment_number"):
        shipments = shipments.filter(number=data["shipment_number"])
    elif order.delivered_on != delivered_on:
        order.delivered_on = delivered_on
        order.save(update_fields=["delivered_on", "updated_at"])
    shipments.update(delivered_on=delivered_on)


def _deliver_late_parcel(order: ErpOrder, shipment: Shipment, event: ErpEvent) -> None:
    """A parcel whose shipping event arrived after the order's delivery (a newer version):
    it was delivered with the order."""
    delivered_later = ErpOrderStatusChange.objects.filter(
        order=order, status=ErpOrderStatus.DELIVERED, erp_version__gt=event.version
    ).exists()
    if delivered_later:
        shipment.delivered_on = order.delivered_on
        shipment.save(update_fields=["delivered_on", "updated_at"])


def apply_order(event: ErpEvent, *, stale: bool) -> Outcome:
    """order.confirmed / rejected / partially_shipped / shipped / delivered / cancelled.

    data: {order_ref, erp_order_number, customer_ref, status, currency?, requested_date?
    (the promised delivery date), lines: [{sku,
    quantity, shipped, unit_price?}]}; shipping events add {shipment_number, carrier,
    tracking_number, shipped_lines?: [{sku, quantity}], shipped_on?}; delivered may add
    delivered_on. An event without a currency keeps the one known; the lines'
    prices (net, in that currency) come with the lines.
    A stale event still records its status in the history, its shipment if unknown and
    its delivery date (facts, not state), but changes neither the current status nor the
    lines: whatever order the events arrive in, the mirror ends as the ERP has it.
    """
    data = valid_data(OrderData, event)
    if event.type in SHIPPING and not data.get("shipment_number"):
        raise Rejected("Invalid data: shipment_number: A shipping event needs the shipment number.")
    customer = live_customer(data["customer_ref"])
    status = ORDER_STATUS[event.type]
    number = data.get("erp_order_number") or None
    order = ErpOrder.objects.select_for_update().filter(order_ref=data["order_ref"]).first()
    if order is not None and order.customer_id != customer.pk:
        raise Rejected(f"Order {order.order_ref} belongs to customer {order.customer_id}, not {customer.pk}.")
    if (
        number
        and ErpOrder.objects.filter(erp_order_number=number).exclude(order_ref=data["order_ref"]).exists()
    ):
        raise Rejected(f"ERP order number {number} is already used by another order.")
    if order is None and stale:
        return STALE
    newer = order is None or (not stale and event.version > order.erp_version)
    if order is None:
        order = ErpOrder.objects.create(
            order_ref=data["order_ref"],
            erp_order_number=number,
            customer=customer,
            status=status,
            status_changed_at=event.occurred_at,
            currency=data.get("currency") or "",
            promised_on=data.get("requested_date"),
            erp_version=event.version,
        )
    elif newer:
        order.status = status
        order.erp_order_number = number or order.erp_order_number
        order.status_changed_at = event.occurred_at
        order.currency = data.get("currency") or order.currency
        if "requested_date" in data:  # an event that does not say keeps the date known
            order.promised_on = data["requested_date"]
        order.erp_version = event.version
        order.save(
            update_fields=[
                "status",
                "erp_order_number",
                "status_changed_at",
                "currency",
                "promised_on",
                "erp_version",
                "updated_at",
            ]
        )
    ErpOrderStatusChange.objects.get_or_create(
        order=order,
        erp_version=event.version,
        defaults={"status": status, "occurred_at": event.occurred_at},
    )
    shipment, recorded = _record_shipment(order, event, data)
    # Deliveries are facts too: kept whatever order the events come in (a delivery
    # overtaken by its own shipment must not leave the parcel undelivered for good).
    if event.type == EventType.ORDER_DELIVERED:
        _record_delivery(order, event, data)
    elif recorded and shipment is not None and order.delivered_on is not None:
        _deliver_late_parcel(order, shipment, event)
    # A parcel is news whenever it is first recorded, even from an event overtaken by a
    # newer one (the customer still wants its tracking number).
    facts: list[ErpFact] = []
    if recorded and shipment is not None and event.type in SHIPPING:
        facts.append(_shipped(order, shipment, event, customer_id=customer.pk))
    if not newer:
        return Outcome(stale=True, publish=facts)
    if "lines" in data:
        order.lines.all().delete()
        ErpOrderLine.objects.bulk_create(
            ErpOrderLine(
                order=order,
                line_no=n,
                sku=line["sku"],
                quantity=line["quantity"],
                shipped=line["shipped"],
                unit_price=line["unit_price"],
            )
            for n, line in enumerate(data["lines"], start=1)
        )
    lines = list(order.lines.all())
    kind = ErpActivityKind.SHIPMENT if shipment is not None else ErpActivityKind.ERP_ORDER
    record_on_timeline(
        customer.pk,
        kind,
        _order_subject(order, event, data, lines),
        event,
        shipment or order,
        order_ref=order.order_ref,
        status=status,
    )
    if event.type == EventType.ORDER_CONFIRMED:
        facts.append(
            OrderConfirmed(
                customer_id=customer.pk,
                order_ref=order.order_ref,
                erp_order_number=order.erp_order_number,
                occurred_at=event.occurred_at,
                erp_event_id=event.id,
            )
        )
    return Outcome(publish=facts)


def _shipped(order: ErpOrder, shipment: Shipment, event: ErpEvent, *, customer_id: int) -> OrderShipped:
    return OrderShipped(
        customer_id=customer_id,
        order_ref=order.order_ref,
        erp_order_number=order.erp_order_number,
        shipment_number=shipment.number,
        carrier=shipment.carrier,
        tracking_number=shipment.tracking_number,
        shipped_on=shipment.shipped_on,
        complete=event.type == EventType.ORDER_SHIPPED,
        occurred_at=event.occurred_at,
        erp_event_id=event.id,
    )
