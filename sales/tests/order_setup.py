"""Builders for the order tests: a sent quote (catalogue, opportunity, quote, send)."""

from __future__ import annotations

from typing import Any

from sales.models import Quote
from sales.quotes import services as quote_services
from sales.tests.quote_setup import a_catalogue, a_quote, an_opportunity


def a_sent_quote(
    rep: Any, *, catalogue: bool = True, lines: list[dict] | None = None, **fields: Any
) -> Quote:
    """A sent quote of an opportunity `rep` owns (SKU-1 x3 at 10.00 unless told)."""
    if catalogue:
        a_catalogue()
    quote = a_quote(rep, an_opportunity(rep), lines, **fields)
    return quote_services.quote_send(actor=rep, quote_id=quote.pk, expected_version=quote.version)
