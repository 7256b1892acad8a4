"""Builders for the quote tests: products and stock in the ERP mirror, a price list,
discount limits and an opportunity (made directly with the model)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.utils import timezone

from backoffice_sync.tests.inbox_helpers import product_event, receive_and_apply, stock_event
from customers import services as customer_services
from frontoffice.actors import MAINTENANCE
from sales.models import DiscountLimit, Opportunity, Pipeline, PriceList, Quote, Stage
from sales.pricing import services as pricing
from sales.quotes import services as quote_services


def today() -> dt.date:
    return timezone.localdate()


def in_days(n: int) -> dt.date:
    return today() + dt.timedelta(days=n)


def promised_in(n: int) -> dt.date:
    """The delivery date available-to-promise gives goods available in `n` days: the ERP's
    dispatch and transit days later."""
    return in_days(n + settings.ERP_DISPATCH_DAYS + settings.ERP_TRANSIT_DAYS)


def a_product(sku: str = "SKU-1", *, on_hand: int = 100, lead_time_days: int = 20, **changes: Any) -> None:
    receive_and_apply(product_event(sku, lead_time_days=lead_time_days, **changes))
    receive_and_apply(stock_event(sku, on_hand=on_hand))


def a_price_list(
    prices: dict[str, str], *, currency: str = "EUR", tier: str = "standard", name: str = ""
) -> PriceList:
    return pricing.price_list_create(
        actor=MAINTENANCE,
        name=name or f"{currency} {tier}",
        currency=currency,
        tier=tier,
        items=[{"sku": sku, "unit_price": Decimal(price)} for sku, price in prices.items()],
    )


def discount_limits(**by_role: int) -> None:
    names = {"sales": "Sales", "manager": "Sales manager", "admin": "Admin"}
    for key, percent in by_role.items():
        DiscountLimit.objects.create(role=names[key], max_discount_percent=Decimal(percent))


def an_opportunity(owner: Any, *, currency: str = "EUR", attributes: dict | None = None) -> Opportunity:
    customer = customer_services.customer_create(
        actor=MAINTENANCE,
        kind="organisation",
        organisation_name=f"Acme {Opportunity.objects.count()}",
        contact_points=[{"kind": "email", "value": f"buyer{Opportunity.objects.count()}@acme.test"}],
    )
    if attributes:
        type(customer).objects.filter(pk=customer.pk).update(attributes=attributes)
    pipeline, _ = Pipeline.objects.get_or_create(is_default=True, defaults={"name": "Sales"})
    stage = Stage.objects.filter(pipeline=pipeline).order_by("order").first() or Stage.objects.create(
        pipeline=pipeline, name="New", order=10, probability=10
    )
    return Opportunity.objects.create(
        customer=customer, owner=owner, name="Big deal", currency=currency, pipeline=pipeline, stage=stage
    )


def a_catalogue(n_products: int = 2) -> PriceList:
    """SKU-1 (10.00) and SKU-2 (2.50) in stock, on the EUR standard list."""
    prices = {"SKU-1": "10.00", "SKU-2": "2.50"}
    for sku in list(prices)[:n_products]:
        a_product(sku)
    return a_price_list(dict(list(prices.items())[:n_products]))


def a_quote(actor: Any, opportunity: Opportunity, lines: list[dict] | None = None, **fields: Any) -> Quote:
    fields.setdefault("valid_until", in_days(30))
    return quote_services.quote_create(
        actor=actor,
        opportunity_id=opportunity.pk,
        lines=lines if lines is not None else [{"sku": "SKU-1", "quantity": 3}],
        **fields,
    )
