"""Reads of the ERP mirrors (stock, orders, invoices, balances), each with a fixed
query count. (The outbox's reads live in `backoffice_sync.selectors`.)"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import (
    CharField,
    Count,
    DateField,
    DecimalField,
    ExpressionWrapper,
    F,
    Prefetch,
    QuerySet,
    Sum,
    Value,
)
from django.utils import timezone

from backoffice_sync.models import (
    CustomerBalance,
    ErpOrder,
    ErpOrderStatus,
    InboxEvent,
    InboxStatus,
    IncomingStock,
    Invoice,
    InvoiceStatus,
    Product,
    StockLevel,
    SyncCursor,
)
from frontoffice.write_path import require_actor

PANEL_ROWS = 5
INVOICES_AND_BALANCE_QUERIES = 2  # the panel's query budget, whatever the data
MONEY: DecimalField[Decimal, Decimal] = DecimalField(max_digits=14, decimal_places=2)


# --- stock -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Availability:
    """What can be promised of one SKU: free now (on hand minus reserved, over all
    warehouses) and what arrives when (cumulative, by date)."""

    sku: str
    known: bool
    free_now: int = 0
    incoming: list[tuple[dt.date, int]] = field(default_factory=list)

    def available_on(self, day: dt.date) -> int:
        """Free stock plus everything expected on or before `day`."""
        return self.free_now + sum(quantity for expected_on, quantity in self.incoming if expected_on <= day)

    def earliest_date_for(self, quantity: int, *, today: dt.date) -> dt.date | None:
        """The first day `quantity` can be promised, or None if incoming stock never covers it."""
        if quantity <= self.free_now:
            return today
        running = self.free_now
        for expected_on, incoming in self.incoming:
            running += incoming
            if running >= quantity:
                return max(expected_on, today)
        return None


def stock_levels(*, skus: list[str]) -> QuerySet[StockLevel]:
    """Stock rows of the SKUs with their product and incoming rows (2 queries)."""
    return (
        StockLevel.objects.filter(product__sku__in=skus)
        .select_related("product")
        .prefetch_related(Prefetch("incoming", queryset=IncomingStock.objects.order_by("expected_on", "id")))
        .order_by("product__sku", "warehouse")
    )


def available_to_promise(*, skus: list[str]) -> dict[str, Availability]:
    """Availability per SKU over all warehouses (3 queries whatever the number of SKUs).
    A SKU without a product mirror comes back with `known=False`."""
    free: dict[str, int] = {}
    incoming: dict[str, dict[dt.date, int]] = {}
    known = set(Product.objects.filter(sku__in=skus).values_list("sku", flat=True))
    rows = IncomingStock.objects.filter(stock_level__product__sku__in=skus).values_list(
        "stock_level__product__sku", "expected_on", "quantity"
    )
    levels = StockLevel.objects.filter(product__sku__in=skus).values_list(
        "product__sku", "on_hand", "reserved"
    )
    for sku, on_hand, reserved in levels:
        free[sku] = free.get(sku, 0) + max(on_hand - reserved, 0)
    for sku, expected_on, quantity in rows:
        by_day = incoming.setdefault(sku, {})
        by_day[expected_on] = by_day.get(expected_on, 0) + quantity
    return {
        sku: Availability(
            sku=sku,
            known=sku in known,
            free_now=free.get(sku, 0),
            incoming=sorted(incoming.get(sku, {}).items()),
        )
        for sku in skus
    }


# --- orders, invoices, balance -------------------------------------------------------------


def customer_orders(*, customer_id: int) -> QuerySet[ErpOrder]:
    return ErpOrder.objects.filter(customer_id=customer_id).order_by("-status_changed_at", "-id")


def customer_invoices(*, customer_id: int) -> QuerySet[Invoice]:
    return Invoice.objects.filter(customer_id=customer_id).order_by("-issued_on", "-id")


def customer_balances(*, customer_id: int) -> list[dict[str, Any]]:
    """The customer's balance per currency (1 query). Rows are summed: see CustomerBalance."""
    rows = (
        CustomerBalance.objects.filter(customer_id=customer_id)
        .values("currency")
        .annotate(open_amount=Sum("open_amount"), overdue_amount=Sum("overdue_amount"))
        .order_by("currency")
    )
    return [
        {
            "currency": row["currency"],
            "open_amount": row["open_amount"] or Decimal(0),
            "overdue_amount": row["overdue_amount"] or Decimal(0),
        }
        for row in rows
    ]


def _money(amount: Any) -> str:
    return f"{Decimal(amount or 0):.2f}"


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def invoices_and_balance(*, customer: Any, actor: Any) -> dict[str, Any]:
    """The 360 panel "Invoices and balance" (2 queries whatever the data): the open and
    overdue balance per currency, the last invoices with status and due date, and the
    recent orders with their ERP status. JSON-able, for the page and the API alike.

    Balances and the last invoices come in one query (UNION ALL of two shapes that line
    up: currency, two amounts, number, status, two dates); the orders in the second.
    For an invoice the two amounts are its total and what was paid or credited.
    `actor` may see invoices (the hub checks the panel's permission before loading it).
    """
    require_actor(actor)
    latest = customer_invoices(customer_id=customer.pk).values("pk")[:PANEL_ROWS]
    balances = (
        CustomerBalance.objects.filter(customer_id=customer.pk)
        .values("currency")
        .annotate(
            row_kind=Value("balance", output_field=CharField()),
            first=Sum("open_amount", output_field=MONEY),
            second=Sum("overdue_amount", output_field=MONEY),
            number=Value("", output_field=CharField()),
            state=Value("", output_field=CharField()),
            issued=Value(None, output_field=DateField()),
            due=Value(None, output_field=DateField()),
        )
        .values_list("row_kind", "currency", "first", "second", "number", "state", "issued", "due")
        .order_by()
    )
    invoices = (
        Invoice.objects.filter(pk__in=latest)
        .annotate(
            row_kind=Value("invoice", output_field=CharField()),
            settled=ExpressionWrapper(F("amount_paid") + F("amount_credited"), output_field=MONEY),
        )
        .values_list("row_kind", "currency", "amount", "settled", "number", "status", "issued_on", "due_on")
        .order_by()
    )
    balance_rows: list[dict[str, Any]] = []
    invoice_rows: list[dict[str, Any]] = []
    today = timezone.localdate()
    for kind, currency, first, second, number, state, issued, due in balances.union(invoices, all=True):
        if kind == "balance":
            balance_rows.append(
                {
                    "currency": currency,
                    "open_amount": _money(first),
                    "overdue_amount": _money(second),
                    "overdue": Decimal(second or 0) > 0,
                }
            )
            continue
        due_on = due if isinstance(due, dt.date) else dt.date.fromisoformat(str(due)[:10])
        issued_on = issued if isinstance(issued, dt.date) else dt.date.fromisoformat(str(issued)[:10])
        open_amount = (
            Decimal(0) if state == InvoiceStatus.PAID else max(Decimal(first) - Decimal(second), Decimal(0))
        )
        invoice_rows.append(
            {
                "number": number,
                "status": state,
                "status_label": InvoiceStatus(state).label if state in InvoiceStatus.values else state,
                "amount": _money(first),
                "open_amount": _money(open_amount),
                "currency": currency,
                "issued_on": issued_on.isoformat(),
                "due_on": due_on.isoformat(),
                "past_due": state != InvoiceStatus.PAID and due_on < today,
            }
        )
    invoice_rows.sort(key=lambda row: row["issued_on"], reverse=True)
    balance_rows.sort(key=lambda row: row["currency"])
    orders = [
        {
            "order_ref": order.order_ref,
            "erp_order_number": order.erp_order_number or "",
            "status": order.status,
            "status_label": ErpOrderStatus(order.status).label,
            "updated_at": order.status_changed_at.isoformat(),
        }
        for order in customer_orders(customer_id=customer.pk).only(
            "order_ref", "erp_order_number", "status", "status_changed_at"
        )[:PANEL_ROWS]
    ]
    return {
        "balances": balance_rows,
        "overdue": any(row["overdue"] for row in balance_rows),
        "invoices": invoice_rows,
        "orders": orders,
    }


# --- sync health -----------------------------------------------------------------------------


def inbox_counts() -> dict[str, int]:
    """Inbox rows per status (1 query)."""
    counts = dict.fromkeys(InboxStatus.values, 0)
    for status, total in InboxEvent.objects.order_by().values_list("status").annotate(total=Count("id")):
        counts[status] = total
    return counts


def sync_cursor(*, name: str = "erp") -> SyncCursor | None:
    return SyncCursor.objects.filter(name=name).first()
