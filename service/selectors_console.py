"""What the agent console reads, each in a fixed number of queries whatever the data:

- `console_lookup`: callers by phone (any common format, or a fragment of digits),
  e-mail or name, as the agent types (2 queries);
- `console_summary`: the caller's 360 beside it: open cases, recent orders with their
  ERP status, invoices and balance (4 queries, the panels' own loaders);
- `order_tracking`: "where is my order?" per line: ordered, shipped, outstanding, the
  stock and earliest date for what is outstanding, tracking, the invoice and what is
  open on it (8 queries for the customer's last orders).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import Count, OuterRef, Prefetch, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from backoffice_sync.models import ErpOrderLine, Invoice, InvoiceStatus, Shipment
from backoffice_sync.selectors_mirrors import available_to_promise, invoices_and_balance
from customers.choices import ContactKind
from customers.filters import phone_fragment, search_customers
from customers.models import ContactPoint, Customer
from sales.orders.choices import CLOSED
from sales.orders.models import SalesOrder, SalesOrderLine
from sales.orders.selectors import order_state, recent_orders_panel, with_erp_state
from service.choices import OPEN_STATUSES
from service.models import Case
from service.selectors import open_cases_panel

LOOKUP_LIMIT = 8
ORDERS_SHOWN = 5
_digits = re.compile(r"\D")


def console_lookup(*, q: str, limit: int = LOOKUP_LIMIT) -> list[Customer]:
    """Live customers matching what the agent typed, best names first, each with its
    primary contacts (`primary_contacts`) and `open_cases` count (2 queries).

    A full phone number in any common format finds the E.164 contact; a fragment of at
    least 4 digits ("7946 0000") finds numbers containing it (`search_customers` reads
    both as a phone). Digits among a few other characters ("tel 7946 0000") are
    looked for in the phones as well as in the names.

    Each kind of input is one semi-join on its index, and the open cases are counted
    for the rows shown only (a correlated count on the case's customer index): an OR
    of two IN subqueries, or a join and GROUP BY over every case, would read every
    customer (100,000 customers: 60 ms where this takes 1 ms; bench/service.py)."""
    q = (q or "").strip()[:200]
    if len(q) < 2:
        return []
    live = Customer.objects.filter(merged_into__isnull=True)
    customers = search_customers(live, q)
    digits = _digits.sub("", q)
    if phone_fragment(q) is None and len(digits) >= 4 and len(digits) >= len(q.replace(" ", "")) - 3:
        fragment = ContactPoint.objects.filter(kind=ContactKind.PHONE, value__contains=digits)
        customers = customers | live.filter(pk__in=fragment.values("customer_id"))
    open_cases = (
        Case.objects.filter(customer=OuterRef("pk"), status__in=OPEN_STATUSES)
        .order_by()
        .values("customer")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return list(
        customers.annotate(open_cases=Coalesce(Subquery(open_cases), 0))
        .prefetch_related(
            Prefetch(
                "contact_points",
                queryset=ContactPoint.objects.filter(is_primary=True).exclude(kind=ContactKind.ADDRESS),
                to_attr="primary_contacts",
            )
        )
        .order_by("display_name", "id")[:limit]
    )


def console_summary(*, customer: Customer, actor: Any) -> dict[str, Any]:
    """The caller's 360 beside the lookup (4 queries): open cases (1), recent orders
    with ERP status (1), invoices and balance (2)."""
    return {
        "cases": open_cases_panel(customer=customer, actor=actor),
        "orders": recent_orders_panel(customer=customer, actor=actor),
        "invoices": invoices_and_balance(customer=customer, actor=actor),
    }


@dataclass
class TrackedLine:
    line_no: int
    sku: str
    description: str
    ordered: int
    shipped: int
    outstanding: int
    free_now: int | None = None
    earliest_on: dt.date | None = None


@dataclass
class TrackedOrder:
    id: int
    order_ref: str
    placed_on: dt.date
    status: str
    promised_on: dt.date | None
    currency: str
    total: Decimal
    lines: list[TrackedLine] = field(default_factory=list)
    shipments: list[dict[str, Any]] = field(default_factory=list)
    invoices: list[dict[str, Any]] = field(default_factory=list)

    @property
    def open_amount(self) -> Decimal:
        return sum((Decimal(i["open_amount"]) for i in self.invoices), Decimal(0))


def _orders(customer_id: int, order_id: int | None) -> QuerySet[SalesOrder]:
    orders = with_erp_state(SalesOrder.objects.filter(customer_id=customer_id))
    if order_id is not None:
        orders = orders.filter(pk=order_id)
    return orders.prefetch_related(
        Prefetch("lines", queryset=SalesOrderLine.objects.select_related("product").order_by("line_no"))
    ).order_by("-created_at", "-id")


def order_tracking(
    *, customer_id: int, order_id: int | None = None, limit: int = ORDERS_SHOWN, today: dt.date | None = None
) -> list[TrackedOrder]:
    """The customer's last orders (or one), line by line (8 queries whatever the data)."""
    today = today or timezone.localdate()
    orders = list(_orders(customer_id, order_id)[:limit])  # 2 queries: orders, lines
    refs = [o.order_ref for o in orders if o.order_ref]
    shipped: dict[tuple[str, int], int] = {
        (ref, line_no): qty
        for ref, line_no, qty in ErpOrderLine.objects.filter(order__order_ref__in=refs).values_list(
            "order__order_ref", "line_no", "shipped"
        )
    }
    shipments: dict[str, list[dict[str, Any]]] = {}
    for ref, number, carrier, tracking, shipped_on, delivered_on in (
        Shipment.objects.filter(order__order_ref__in=refs)
        .order_by("shipped_on", "id")
        .values_list("order__order_ref", "number", "carrier", "tracking_number", "shipped_on", "delivered_on")
    ):
        shipments.setdefault(ref, []).append(
            {
                "number": number,
                "carrier": carrier,
                "tracking_number": tracking,
                "shipped_on": shipped_on,
                "delivered_on": delivered_on,
            }
        )
    invoices: dict[str, list[dict[str, Any]]] = {}
    for inv in Invoice.objects.filter(order_ref__in=refs).order_by("issued_on", "id"):
        settled = inv.amount_paid + inv.amount_credited
        open_amount = (
            Decimal(0) if inv.status == InvoiceStatus.PAID else max(inv.amount - settled, Decimal(0))
        )
        invoices.setdefault(inv.order_ref, []).append(
            {
                "number": inv.number,
                "status": inv.status,
                "amount": inv.amount,
                "open_amount": open_amount,
                "currency": inv.currency,
                "due_on": inv.due_on,
                "past_due": inv.status != InvoiceStatus.PAID and inv.due_on < today,
            }
        )
    tracked: list[TrackedOrder] = []
    for order in orders:
        status = order_state(order)
        closed = getattr(order, "erp_status", None) in CLOSED
        lines = []
        for placed in order.lines.all():
            done = shipped.get((order.order_ref, placed.line_no), 0)
            lines.append(
                TrackedLine(
                    line_no=placed.line_no,
                    sku=placed.product_id,
                    description=placed.description or placed.product.name,
                    ordered=placed.quantity,
                    shipped=done,
                    outstanding=0 if closed else max(placed.quantity - done, 0),
                )
            )
        tracked.append(
            TrackedOrder(
                id=order.pk,
                order_ref=order.order_ref,
                placed_on=timezone.localtime(order.created_at).date(),
                status=status,
                promised_on=order.promised_delivery_on,
                currency=order.currency,
                total=order.total,
                lines=lines,
                shipments=shipments.get(order.order_ref, []),
                invoices=invoices.get(order.order_ref, []),
            )
        )
    skus = sorted({line.sku for row in tracked for line in row.lines if line.outstanding})
    if skus:
        stock = available_to_promise(skus=skus)  # 3 queries
        for row in tracked:
            for line in row.lines:
                if line.outstanding and line.sku in stock:
                    availability = stock[line.sku]
                    line.free_now = availability.free_now
                    line.earliest_on = availability.earliest_date_for(line.outstanding, today=today)
    return tracked
