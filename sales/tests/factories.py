"""Test data for sales, created through the services where invariants matter."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from backoffice_sync.models import Product
from customers import services as customer_services
from customers.models import Customer
from sales.leads import services as lead_services
from sales.models import Lead, Opportunity, Pipeline, Stage
from sales.pipeline import services as opportunity_services


def customer(actor: Any, name: str = "Acme Widgets", **extra: Any) -> Customer:
    return customer_services.customer_create(
        actor=actor, kind="organisation", organisation_name=name, **extra
    )


def default_pipeline() -> Pipeline:
    return Pipeline.objects.get(is_default=True)


def stage(name: str, pipeline: Pipeline | None = None) -> Stage:
    return (pipeline or default_pipeline()).stages.get(name=name)


def lead(actor: Any, **fields: Any) -> Lead:
    fields.setdefault("first_name", "Grace")
    fields.setdefault("last_name", "Hopper")
    fields.setdefault("title", "100 licences")
    return lead_services.lead_create(actor=actor, **fields)


def opportunity(actor: Any, for_customer: Customer | None = None, **fields: Any) -> Opportunity:
    fields.setdefault("name", "Big deal")
    fields.setdefault("amount", Decimal("1000.00"))
    fields.setdefault("currency", "EUR")
    return opportunity_services.opportunity_create(
        actor=actor, customer=for_customer or customer(actor), **fields
    )


def product(sku: str = "W-100", price: str = "12.50", currency: str = "EUR") -> Product:
    return Product.objects.create(
        sku=sku, name=f"Widget {sku}", unit_price=Decimal(price), currency=currency, erp_version=1
    )
