"""Reads of the quote pages: a fixed number of queries whatever the number of lines."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet
from django.http import Http404

from sales.filters_quotes import QuoteFilter
from sales.models import Quote, QuoteLine
from sales.quotes import QuoteDelivery, quote_delivery


@dataclass(frozen=True)
class QuoteBuilder:
    quote: Quote
    lines: list[QuoteLine]
    delivery: QuoteDelivery
    revisions: list[Quote]


def quote_get(*, quote_id: int) -> Quote:
    try:
        return Quote.objects.select_related(
            "opportunity__customer", "opportunity__owner", "price_list", "approved_by"
        ).get(pk=quote_id)
    except Quote.DoesNotExist:
        raise Http404("No such quote.") from None


def quote_builder(*, quote_id: int) -> QuoteBuilder:
    """The quote, its lines, ATP per line and its other revisions (about 10 queries)."""
    quote = quote_get(quote_id=quote_id)
    lines = list(QuoteLine.objects.filter(quote=quote).order_by("position", "id"))
    revisions = list(
        Quote.objects.filter(reference=quote.reference).exclude(pk=quote.pk).order_by("-revision")
        if quote.reference
        else []
    )
    return QuoteBuilder(quote, lines, quote_delivery(quote=quote, lines=lines), revisions)


def quotes_for_opportunity(*, opportunity_id: int) -> QuerySet[Quote]:
    return Quote.objects.filter(opportunity_id=opportunity_id).order_by("-created_at", "-id")


def quote_list(*, filters: Any = None) -> QuerySet[Quote]:
    quotes = Quote.objects.select_related("opportunity__customer").order_by("-created_at", "-id")
    return QuoteFilter(filters or {}, quotes).qs
