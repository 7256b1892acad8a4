"""Reads of the quote pages and API: a fixed number of queries whatever the number of lines."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Prefetch, QuerySet
from django.http import Http404

from backoffice_sync.atp import AtpRequest, Promise, promise_many
from frontoffice.write_path import as_id
from sales.forecast.selectors_recommendations import recommended_for_quote
from sales.pipeline.models import Opportunity
from sales.pricing.models import PriceList
from sales.pricing.selectors import customer_tier, price_list_for
from sales.quotes.filters import QuoteFilter
from sales.quotes.models import Quote, QuoteLine
from sales.quotes.selectors_atp import QuoteDelivery, quote_delivery


@dataclass(frozen=True)
class Recommendation:
    """A product offered to add to a quote, priced from its list, with ATP for one unit."""

    sku: str
    name: str
    unit_price: Decimal
    confidence: Decimal
    customers: int
    promise: Promise | None

    @property
    def confidence_percent(self) -> str:
        return f"{self.confidence * 100:.0f}%"


@dataclass(frozen=True)
class QuoteBuilder:
    quote: Quote
    lines: list[QuoteLine]
    delivery: QuoteDelivery
    revisions: list[Quote]
    recommendations: list[Recommendation] = field(default_factory=list)


def quote_get(*, quote_id: Any) -> Quote:
    quote = (
        Quote.objects.select_related(
            "opportunity__customer", "opportunity__owner", "price_list", "approved_by"
        )
        .filter(pk=as_id(quote_id) or 0)
        .first()
    )
    if quote is None:
        raise Http404("No such quote.")
    return quote


def quote_api_queryset() -> QuerySet[Quote]:
    """Quotes as the API shows them: lines prefetched in position order, the owner for the
    ownership rule (two queries per page)."""
    return Quote.objects.select_related("opportunity__owner").prefetch_related(
        Prefetch("lines", queryset=QuoteLine.objects.order_by("position", "id"))
    )


def quote_builder(*, quote_id: int) -> QuoteBuilder:
    """The quote, its lines, ATP per line, its other revisions and, while it can still
    change, the products to offer (about 11 queries: the recommended products' ATP
    comes in the lines' one ATP call)."""
    quote = quote_get(quote_id=quote_id)
    lines = list(QuoteLine.objects.filter(quote=quote).order_by("position", "id"))
    revisions = list(
        Quote.objects.filter(reference=quote.reference).exclude(pk=quote.pk).order_by("-revision")
        if quote.reference
        else []
    )
    offered = []
    if quote.is_editable:
        offered = recommended_for_quote(
            skus=[ln.product_id for ln in lines],
            customer_id=quote.opportunity.customer_id,
            price_list_id=quote.price_list_id,
            opportunity_id=quote.opportunity_id,
        )
    delivery = quote_delivery(quote=quote, lines=lines, also=[r["sku"] for r in offered])
    return QuoteBuilder(quote, lines, delivery, revisions, _recommendations(offered, delivery.also))


def _recommendations(rows: list[dict[str, Any]], promises: dict[str, Promise]) -> list[Recommendation]:
    return [
        Recommendation(
            sku=r["sku"],
            name=r["name"],
            unit_price=r["unit_price"],
            confidence=r["confidence"],
            customers=r["customers"],
            promise=promises.get(r["sku"]),
        )
        for r in rows
    ]


def quote_start_recommendations(*, opportunity: Opportunity) -> tuple[PriceList | None, list[Recommendation]]:
    """For a quote about to be drafted: the price list it would get and the products to
    offer from the opportunity's products and the customer's past purchases, with ATP
    for one unit (8 queries, none of them per product)."""
    try:
        price_list = price_list_for(currency=opportunity.currency, tier=customer_tier(opportunity.customer))
    except ValidationError:
        return None, []
    rows = recommended_for_quote(
        skus=[],
        customer_id=opportunity.customer_id,
        price_list_id=price_list.pk,
        opportunity_id=opportunity.pk,
    )
    promises: dict[str, Promise] = {}
    if rows:
        try:
            found = promise_many([AtpRequest(r["sku"], 1) for r in rows])
            promises = {p.sku: p for p in found}
        except ValidationError:
            promises = {}
    return price_list, _recommendations(rows, promises)


def quotes_for_opportunity(*, opportunity_id: int) -> QuerySet[Quote]:
    return Quote.objects.filter(opportunity_id=opportunity_id).order_by("-created_at", "-id")


def quote_list(*, filters: Mapping[str, Any] | None = None) -> QuerySet[Quote]:
    quotes = Quote.objects.select_related("opportunity__customer").order_by("-created_at", "-id")
    filtered: QuerySet[Quote] = QuoteFilter(filters or {}, quotes).qs
    return filtered


def opportunity_for_quote(*, opportunity_id: Any) -> Opportunity:
    """The opportunity a new quote is for, with its customer and owner (Http404)."""
    opportunity = (
        Opportunity.objects.select_related("customer", "owner").filter(pk=as_id(opportunity_id) or 0).first()
    )
    if opportunity is None:
        raise Http404("No such opportunity.")
    return opportunity
