"""Reads of sales orders: the list (one query per page, whatever the rows), the order
page (a fixed number of queries), and the 360 panel (one query).

What the ERP did with an order comes from the mirrors, matched by `order_ref`: the
status and its history (`ErpOrder`), shipments with tracking, invoices (`Invoice`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.db import connection, models
from django.db.models import OuterRef, Prefetch, QuerySet, Subquery
from django.http import Http404
from django.utils import timezone

from backoffice_sync.models import ErpOrder, ErpOrderStatus, Invoice, InvoiceStatus, Shipment
from sales.models import SalesOrder, SalesOrderLine

PANEL_LIMIT = 5
SHIPPED = (ErpOrderStatus.SHIPPED, ErpOrderStatus.DELIVERED)
CLOSED = (ErpOrderStatus.CANCELLED, ErpOrderStatus.REJECTED)


class OrderState(models.TextChoices):
    """What an order page shows: the ERP's status, or ours before / beside it."""

    SUBMITTED = "submitted", "Submitted"
    CONFIRMED = "confirmed", "Confirmed"
    REJECTED = "rejected", "Rejected"
    PARTIALLY_SHIPPED = "partially_shipped", "Partially shipped"
    SHIPPED = "shipped", "Shipped"
    DELIVERED = "delivered", "Delivered"
    CANCEL_REQUESTED = "cancel_requested", "Cancel requested"
    CANCELLED = "cancelled", "Cancelled"


class PromiseState(models.TextChoices):
    KEPT = "kept", "Promise kept"
    MISSED = "missed", "Promise missed"
    OPEN = "open", "On track"


def with_erp_state(queryset: QuerySet[SalesOrder]) -> QuerySet[SalesOrder]:
    """Annotate the mirror's status, the delivered date and the last shipment date
    (subqueries: no extra query)."""
    erp = ErpOrder.objects.filter(order_ref=OuterRef("order_ref"))
    shipments = Shipment.objects.filter(order__order_ref=OuterRef("order_ref"))
    return queryset.annotate(
        erp_status=Subquery(erp.values("status")[:1]),
        erp_delivered_on=Subquery(
            shipments.filter(delivered_on__isnull=False).order_by("-delivered_on").values("delivered_on")[:1]
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
    """The delivered date, else the last shipment date once everything shipped."""
    delivered = getattr(order, "erp_delivered_on", None)
    if delivered is not None:
        return delivered
    if getattr(order, "erp_status", None) in SHIPPED:
        return getattr(order, "erp_last_shipped_on", None)
    return None


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
    """Set the display fields (state, labels, actual date, promise) on an annotated order."""
    state = order_state(order)
    promise = promise_state(order, today=today)
    order.state = state
    order.state_label = OrderState(state).label
    order.actual_delivery_on = actual_delivery_on(order)
    order.promise = promise
    order.promise_label = PromiseState(promise).label if promise else ""
    return order


def filter_by_state(queryset: QuerySet[SalesOrder], state: str) -> QuerySet[SalesOrder]:
    """Filter an annotated queryset by `order_state`."""
    if state == OrderState.SUBMITTED:
        return queryset.filter(erp_status__isnull=True, cancel_requested_at__isnull=True)
    if state == OrderState.CANCEL_REQUESTED:
        return queryset.filter(cancel_requested_at__isnull=False).exclude(erp_status__in=CLOSED)
    if state in (OrderState.CANCELLED, OrderState.REJECTED):
        return queryset.filter(erp_status=state)
    return queryset.filter(erp_status=state, cancel_requested_at__isnull=True)


def order_queryset() -> QuerySet[SalesOrder]:
    return with_erp_state(SalesOrder.objects.select_related("customer"))


def order_list(*, filters: Mapping[str, Any] | None = None) -> QuerySet[SalesOrder]:
    """Orders, newest first, filtered (customer, status): one query per page."""
    from sales.filters_orders import OrderFilter

    return OrderFilter(filters or {}, queryset=order_queryset()).qs


@dataclass
class OrderPage:
    order: SalesOrder
    lines: list[SalesOrderLine]
    erp: ErpOrder | None
    history: list[dict[str, Any]] = field(default_factory=list)
    shipments: list[Shipment] = field(default_factory=list)
    invoices: list[Invoice] = field(default_factory=list)


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
    """The order page: 7 queries whatever the number of lines, shipments or invoices."""
    try:
        order = (
            with_erp_state(SalesOrder.objects.select_related("customer", "quote", "opportunity__owner"))
            .filter(pk=int(order_id))
            .get()
        )
    except (SalesOrder.DoesNotExist, TypeError, ValueError, OverflowError):
        raise Http404("No such order.") from None
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
    return OrderPage(
        order=order,
        lines=lines,
        erp=erp,
        history=order_history(erp, invoices),
        shipments=list(erp.shipments.all()) if erp else [],
        invoices=invoices,
    )


# --- the 360 panels: "Open opportunities" and "Recent orders" in one query ---------------

# The 360 page has a 15-query budget, used up by the customer's own sections. The two
# sales panels therefore share one UNION query: whichever loader runs first fetches both
# lists and leaves them on the customer instance (one page view), the other reads them.
MEMO = "_sales_360_panel_rows"
COLUMNS = [
    "row_kind",
    "row_id",
    "c_text",
    "c_stage",
    "c_int",
    "c_amount",
    "c_currency",
    "c_date",
    "c_created",
    "c_erp",
    "c_delivered",
    "c_shipped",
    "c_cancel",
]


def _none(field: models.Field) -> models.Value:
    return models.Value(None, output_field=field)


def _sales_360_rows(customer: Any) -> tuple[list[dict[str, Any]], list[SalesOrder]]:
    memo = customer.__dict__.get(MEMO)
    if memo is not None:
        return memo
    from sales.models import Opportunity, OpportunityStatus
    from sales.selectors import PANEL_LIMIT as OPPORTUNITY_LIMIT

    opportunity_ids = (
        Opportunity.objects.filter(customer_id=customer.pk, status=OpportunityStatus.OPEN)
        .order_by("expected_close_date", "id")
        .values("pk")[:OPPORTUNITY_LIMIT]
    )
    order_ids = (
        SalesOrder.objects.filter(customer_id=customer.pk)
        .order_by("-created_at", "-id")
        .values("pk")[:PANEL_LIMIT]
    )
    opportunities = (
        Opportunity.objects.filter(pk__in=opportunity_ids)
        .annotate(
            row_kind=models.Value("opportunity", output_field=models.CharField()),
            row_id=models.F("pk"),
            c_text=models.F("name"),
            c_stage=models.F("stage__name"),
            c_int=models.F("stage__probability"),
            c_amount=models.F("amount"),
            c_currency=models.F("currency"),
            c_date=models.F("expected_close_date"),
            c_created=models.F("created_at"),
            c_erp=_none(models.CharField()),
            c_delivered=_none(models.DateField()),
            c_shipped=_none(models.DateField()),
            c_cancel=_none(models.DateTimeField()),
        )
        .values(*COLUMNS)
        .order_by()
    )
    orders = (
        with_erp_state(SalesOrder.objects.filter(pk__in=order_ids))
        .annotate(
            row_kind=models.Value("order", output_field=models.CharField()),
            row_id=models.F("pk"),
            c_text=models.F("order_ref"),
            c_stage=_none(models.CharField()),
            c_int=_none(models.IntegerField()),
            c_amount=models.F("total"),
            c_currency=models.F("currency"),
            c_date=models.F("promised_delivery_on"),
            c_created=models.F("created_at"),
            c_erp=models.F("erp_status"),
            c_delivered=models.F("erp_delivered_on"),
            c_shipped=models.F("erp_last_shipped_on"),
            c_cancel=models.F("cancel_requested_at"),
        )
        .values(*COLUMNS)
        .order_by()
    )
    rows = list(opportunities.union(orders, all=True))
    opportunity_rows = [r for r in rows if r["row_kind"] == "opportunity"]
    # As `open_opportunities_for_customer` orders them (the database's NULL placement).
    nulls_first = connection.vendor == "sqlite"
    opportunity_rows.sort(
        key=lambda r: (
            (r["c_date"] is not None) if nulls_first else (r["c_date"] is None),
            r["c_date"] or dt.date.min,
            r["row_id"],
        )
    )
    order_rows = sorted(
        (r for r in rows if r["row_kind"] == "order"),
        key=lambda r: (r["c_created"], r["row_id"]),
        reverse=True,
    )
    opportunity_data = [
        {
            "id": r["row_id"],
            "name": r["c_text"],
            "stage": f"{r['c_stage']} ({r['c_int']}%)",
            "amount": f"{r['c_amount']} {r['c_currency']}",
            "expected_close": r["c_date"].isoformat() if r["c_date"] else None,
        }
        for r in opportunity_rows
    ]
    orders_data = []
    for r in order_rows:
        order = SalesOrder(
            pk=r["row_id"],
            order_ref=r["c_text"],
            total=r["c_amount"],
            currency=r["c_currency"],
            promised_delivery_on=r["c_date"],
            created_at=r["c_created"],
            cancel_requested_at=r["c_cancel"],
        )
        order.erp_status, order.erp_delivered_on, order.erp_last_shipped_on = (
            r["c_erp"],
            r["c_delivered"],
            r["c_shipped"],
        )
        orders_data.append(decorate(order))
    memo = (opportunity_data, orders_data)
    customer.__dict__[MEMO] = memo
    return memo


def open_opportunities_panel(*, customer: Any, actor: Any = None) -> list[dict[str, Any]]:
    """The "Open opportunities" panel (the rows `open_opportunities_for_customer` gives),
    sharing its one query with "Recent orders"."""
    return _sales_360_rows(customer)[0]


def recent_orders_for_customer(*, customer: Any, actor: Any = None) -> list[dict[str, Any]]:
    """The "Recent orders" panel of the 360 view: one query, shared with "Open opportunities"."""
    return [
        {
            "id": order.pk,
            "order_ref": order.order_ref,
            "status": order.state,
            "status_label": order.state_label,
            "total": f"{order.total} {order.currency}",
            "promised_on": order.promised_delivery_on.isoformat() if order.promised_delivery_on else None,
            "promise": order.promise,
            "promise_label": order.promise_label,
        }
        for order in _sales_360_rows(customer)[1]
    ]
