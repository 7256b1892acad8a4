"""Orders and quotes found by their number in the global search (`NumberLookup`s, see
`frontoffice.numbers`): each hit names the record's customer.

- Orders: our number ("SO-000123", the `order_ref` the ERP keys on), exact or by
  prefix, and the ERP's own order number where the mirror holds one
  (`backoffice_sync.ErpOrder.erp_order_number`): both through their unique indexes.
- Quotes: the reference every revision shares ("Q-000045"), exact or by prefix, through
  the (reference, revision) index; a quote appears once, as its latest revision found.

At most 3 queries for orders and 2 for quotes, whatever the data.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Q
from django.urls import reverse
from django.utils.formats import date_format

from backoffice_sync.models import ErpOrder
from frontoffice.numbers import TypedNumber, text_prefix_q
from frontoffice.plugin import NumberHit
from sales.models import Quote, SalesOrder

ORDER_PREFIX = "SO"
QUOTE_PREFIX = "Q"
_ORDER_FIELDS = (
    "id",
    "order_ref",
    "total",
    "currency",
    "created_at",
    "customer__id",
    "customer__display_name",
)


def _orders(condition: Q, limit: int, exclude: set[int]) -> list[SalesOrder]:
    if limit <= 0:
        return []
    queryset = (
        SalesOrder.objects.filter(condition)
        .exclude(order_ref="")  # the unique index is partial: its condition, spelled out
        .select_related("customer")
        .only(*_ORDER_FIELDS)
        .order_by("order_ref")
    )
    if exclude:
        queryset = queryset.exclude(pk__in=exclude)
    return list(queryset[:limit])


def order_hits(*, number: TypedNumber, actor: Any, limit: int) -> list[NumberHit]:
    """Orders whose number, or ERP order number, is or starts with the one typed."""
    found: list[SalesOrder] = []
    if number.names(ORDER_PREFIX):
        exact = number.exact(ORDER_PREFIX)
        found += _orders(Q(order_ref=exact), 1, set())
        prefix = number.prefix_text(ORDER_PREFIX)
        if prefix is not None and prefix != exact:
            found += _orders(text_prefix_q("order_ref", prefix), limit - len(found), {o.pk for o in found})
    # The ERP's number, whatever its format: as typed, exactly or (with letters) as a prefix.
    erp = ErpOrder.objects.filter(
        text_prefix_q("erp_order_number", number.text) if number.letters else Q(erp_order_number=number.text)
    ).order_by("erp_order_number")
    refs = erp.values("order_ref")[:limit]
    found += _orders(Q(order_ref__in=refs), limit - len(found), {o.pk for o in found})
    return [
        NumberHit(
            number=order.order_ref,
            title=f"Order {order.order_ref}",
            url=reverse("sales:order_detail", args=[order.pk]),
            customer_id=order.customer_id,
            customer_name=order.customer.display_name,
            detail=f"{order.customer.display_name} · {order.total} {order.currency}"
            f" · {date_format(order.created_at, 'SHORT_DATE_FORMAT')}",
        )
        for order in found[:limit]
    ]


def _quotes(condition: Q, rows: int) -> list[Quote]:
    return list(
        Quote.objects.filter(condition)
        .exclude(reference="")  # the (reference, revision) unique index is partial
        .select_related("opportunity__customer")
        .only(
            "id",
            "reference",
            "revision",
            "status",
            "total",
            "currency",
            "opportunity__id",
            "opportunity__customer__id",
            "opportunity__customer__display_name",
        )
        .order_by("reference", "revision")[:rows]
    )


def quote_hits(*, number: TypedNumber, actor: Any, limit: int) -> list[NumberHit]:
    """Quotes whose reference is or starts with the one typed, each at its latest revision found."""
    if not number.names(QUOTE_PREFIX):
        return []
    exact = number.exact(QUOTE_PREFIX)
    rows = _quotes(Q(reference=exact), 50)
    prefix = number.prefix_text(QUOTE_PREFIX)
    if prefix is not None and prefix != exact:
        # A few revisions each: enough rows for `limit` quotes in all but odd cases.
        rows += _quotes(text_prefix_q("reference", prefix) & ~Q(reference=exact), limit * 3)
    latest: dict[str, Quote] = {}
    for quote in rows:
        latest[quote.reference] = quote  # rows come revision after revision
    return [
        NumberHit(
            number=quote.reference,
            title=f"Quote {quote.reference} rev. {quote.revision}",
            url=reverse("sales:quote_detail", args=[quote.pk]),
            customer_id=quote.opportunity.customer_id,
            customer_name=quote.opportunity.customer.display_name,
            detail=f"{quote.opportunity.customer.display_name} · {quote.get_status_display()}"
            f" · {quote.total} {quote.currency}",
        )
        for quote in list(latest.values())[:limit]
    ]
