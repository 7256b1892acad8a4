"""Reads of sales orders: the list (one query per page, whatever the rows), the order
page (a fixed number of queries), and the 360 panel "Recent orders" (one query).

What the ERP did with an order comes from the mirrors, matched by `order_ref`: the
status and its history (`ErpOrder`), shipments with tracking, invoices (`Invoice`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.db.models import OuterRef, Prefetch, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.http import Http404
from django.utils import timezone

from backoffice_sync.models import ErpOrder, ErpOrderStatus, Invoice, InvoiceStatus, Shipment
from customers.models import Customer
from frontoffice.write_path import as_id
from sales.orders.choices import CLOSED, OrderState, PromiseState
from sales.orders.filters import OrderFilter
from sales.orders.models import SalesOrder, SalesOrderLine
from sales.orders.selectors_fulfilment import (
    InvoicingState,
    LineFulfilment,
    invoicing_state,
    order_lines_fulfilment,
)

PANEL_LIMIT = 5


def with_erp_state(queryset: QuerySet[SalesOrder]) -> QuerySet[SalesOrder]:
    """Annotate the mirror's status, the delivered date (the latest parcel's, else the
    order's) and the last ship date (subqueries: no extra query)."""
    erp = ErpOrder.objects.filter(order_ref=OuterRef("order_ref"))
    shipments = Shipment.objects.filter(order__order_ref=OuterRef("order_ref"))
    return queryset.annotate(
        erp_status=Subquery(erp.values("status")[:1]),
        erp_delivered_on=Coalesce(
            Subquery(
                shipments.filter(delivered_on__isnull=False)
                .order_by("-delivered_on")
                .values("delivered_on")[:1]
            ),
            Subquery(erp.values("delivered_on")[:1]),
        ),
        erp_last_shipped_on=Subquery(shipments.order_by("-shipped_on").values("shipped_on")[:1]),
    )


def order_state(order: SalesOrder) -> str:
    erp_status = getattr(order, "erp_status", None)
    if erp_status == ErpOrderStatus.CANCELLED:
        return OrderState.CANCELLED
    if order.cancel_requested_at is not None and erp_status not in CLOSED:
        return OrderState.CANCEL_REQUESTED
    return erp_status or OrderState.SUBMITTED


def actual_delivery_on(order: SalesOrder) -> dt.date | None:
    """The day the ERP reported the order delivered; None until then (a ship date is
    never shown as the delivery date)."""
    delivered: dt.date | None = getattr(order, "erp_delivered_on", None)
    return delivered


def promise_state(order: SalesOrder, *, today: dt.date | None = None) -> str | None:
    """Kept or missed against the promised date; open while it can still be kept."""
    promised = order.promised_delivery_on
    if promised is None or getattr(order, "erp_status", None) in CLOSED:
        return None
    actual = actual_delivery_on(order)
    if actual is not None:
        return PromiseState.KEPT if actual <= promised else PromiseState.MISSED
    today = today or timezone.localdate()
    return PromiseState.MISSED if today > promised else PromiseState.OPEN


def decorate(order: SalesOrder, *, today: dt.date | None = None) -> SalesOrder:
    """Set the display fields on an annotated order, for pages and serializers: `state`,
    `state_label`, `actual_delivery_on`, `promise`, `promise_label`."""
    state = order_state(order)
    promise = promise_state(order, today=today)
    vars(order).update(
        state=state,
        state_label=OrderState(state).label,
        actual_delivery_on=actual_delivery_on(order),
        promise=promise,
        promise_label=PromiseState(promise).label if promise else "",
    )
    return order


def order_queryset() -> QuerySet[SalesOrder]:
    return with_erp_state(SalesOrder.objects.select_related("customer"))


def order_list(*, filters: Mapping[str, Any] | None = None) -> QuerySet[SalesOrder]:
    """Orders, newest first, filtered (customer, status): one query per page."""
    orders: QuerySet[SalesOrder] = OrderFilter(filters or {}, queryset=order_queryset()).qs
    return orders


@dataclass
class OrderPage:
    order: SalesOrder
    lines: list[SalesOrderLine]
    erp: ErpOrder | None
    history: list[dict[str, Any]] = field(default_factory=list)
    shipments: list[Shipment] = field(default_factory=list)
    invoices: list[Invoice] = field(default_factory=list)
    fulfilment: list[LineFulfilment] = field(default_factory=list)
    invoicing: InvoicingState | None = None


def order_id_for_quote(*, quote_id: int) -> int | None:
    """The order an accepted quote placed (one query)."""
    return SalesOrder.objects.filter(quote_id=quote_id).values_list("pk", flat=True).first()


def order_history(erp: ErpOrder | None, invoices: list[Invoice]) -> list[dict[str, Any]]:
    """The ERP's statuses, then invoiced and paid from the invoice mirror, by date."""
    rows: list[dict[str, Any]] = []
    if erp is not None:
        for change in erp.status_history.all():
            rows.append(
                {
                    "status": change.status,
                    "label": ErpOrderStatus(change.status).label,
                    "on": timezone.localdate(change.occurred_at),
                    "detail": f"ERP version {change.erp_version}",
                }
            )
    for invoice in invoices:
        rows.append(
            {"status": "invoiced", "label": "Invoiced", "on": invoice.issued_on, "detail": invoice.number}
        )
        if invoice.status == InvoiceStatus.PAID:
            paid_on = max((p.received_on for p in invoice.payments.all()), default=None)
            rows.append({"status": "paid", "label": "Paid", "on": paid_on, "detail": invoice.number})
    return sorted(rows, key=lambda row: row["on"] or dt.date.max)


def order_page(*, order_id: Any) -> OrderPage:
    """The order page: 7 queries whatever the number of lines, shipments or invoices,
    and the 4 of available-to-promise when a line is outstanding."""
    order = (
        with_erp_state(SalesOrder.objects.select_related("customer", "quote", "opportunity__owner"))
        .filter(pk=as_id(order_id) or 0)
        .first()
    )
    if order is None:
        raise Http404("No such order.")
    decorate(order)
    lines = list(order.lines.order_by("line_no", "id"))
    erp = (
        ErpOrder.objects.filter(order_ref=order.order_ref)
        .prefetch_related(
            "status_history",
            Prefetch(
                "shipments", queryset=Shipment.objects.prefetch_related("lines").order_by("shipped_on", "id")
            ),
        )
        .first()
    )
    invoices = list(
        Invoice.objects.filter(order_ref=order.order_ref, customer_id=order.customer_id)
        .prefetch_related("payments")
        .order_by("issued_on", "id")
    )
    shipments = list(erp.shipments.all()) if erp else []
    return OrderPage(
        order=order,
        lines=lines,
        erp=erp,
        history=order_history(erp, invoices),
        shipments=shipments,
        invoices=invoices,
        fulfilment=order_lines_fulfilment(lines=lines, shipments=shipments),
        invoicing=invoicing_state(order=order, invoices=invoices),
    )


# --- the 360 panel --------------------------------------------------------------------------


def recent_orders_panel(*, customer: Customer, actor: Any) -> list[dict[str, Any]]:
    """The 360 panel "Recent orders": the last ones, with their state from the ERP mirror
    (one query: the mirror's status and dates are subqueries)."""
    orders = with_erp_state(SalesOrder.objects.filter(customer=customer)).order_by("-created_at", "-id")[
        :PANEL_LIMIT
    ]
    rows = []
    for order in orders:
        state, promise = order_state(order), promise_state(order)
        rows.append(
            {
                "id": order.pk,
                "order_ref": order.order_ref,
                "status": state,
                "status_label": OrderState(state).label,
                "total": f"{order.total} {order.currency}",
                "promised_on": order.promised_delivery_on.isoformat() if order.promised_delivery_on else None,
                "promise": promise,
                "promise_label": PromiseState(promise).label if promise else "",
            }
        )
    return rows
