"""Hand-built opportunities, lines and ERP orders for the forecast and recommendation tests."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.utils import timezone

from backoffice_sync.models import ErpOrder, ErpOrderLine, ErpOrderStatus
from customers.models import Customer
from sales.models import Opportunity, OpportunityLine, OpportunityStatus
from sales.tests import factories

_refs = iter(range(1, 10**6))


def opportunity(
    customer: Customer,
    *,
    stage: str,
    amount: str,
    close: dt.date | None,
    currency: str = "EUR",
    lines: list[tuple[str, str, str]] = (),
    status: str = OpportunityStatus.OPEN,
) -> Opportunity:
    """An opportunity at `stage` of the default pipeline, with (sku, quantity, unit_price) lines."""
    opp = Opportunity.objects.create(
        customer=customer,
        name=f"Deal {amount}",
        amount=Decimal(amount),
        currency=currency,
        pipeline=factories.default_pipeline(),
        stage=factories.stage(stage),
        expected_close_date=close,
        status=status,
        lost_reason="Price" if status == OpportunityStatus.LOST else "",
        closed_at=None if status == OpportunityStatus.OPEN else timezone.now(),
    )
    OpportunityLine.objects.bulk_create(
        OpportunityLine(opportunity=opp, sku=sku, quantity=Decimal(q), unit_price=Decimal(p))
        for sku, q, p in lines
    )
    return opp


def erp_order(
    customer: Customer,
    lines: list[tuple[str, int]] | list[tuple[str, int, str]],
    *,
    status: str = ErpOrderStatus.CONFIRMED,
    created_at: dt.datetime | None = None,
    currency: str = "",
    order_ref: str = "",
) -> ErpOrder:
    """An ERP order mirror row with (sku, quantity) or (sku, quantity, unit_price) lines;
    a blank currency and no prices stand for an ERP that did not report them."""
    order = ErpOrder.objects.create(
        order_ref=order_ref or f"SO-T{next(_refs):06d}",
        customer=customer,
        status=status,
        status_changed_at=timezone.now(),
        currency=currency,
    )
    if created_at is not None:
        ErpOrder.objects.filter(pk=order.pk).update(created_at=created_at)
    ErpOrderLine.objects.bulk_create(
        ErpOrderLine(
            order=order,
            line_no=n,
            sku=line[0],
            quantity=line[1],
            unit_price=Decimal(line[2]) if len(line) > 2 else None,
        )
        for n, line in enumerate(lines, start=1)
    )
    return order


def weighted(amount: str, probability: int) -> Decimal:
    return (Decimal(amount) * probability / 100).quantize(Decimal("0.01"))
