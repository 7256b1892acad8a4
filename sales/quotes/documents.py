"""The printable quote: the context shared by the print view, the e-mail and the PDF,
and the PDF itself (xhtml2pdf, pure Python, renders the same print template)."""

from __future__ import annotations

import io
import logging
from typing import Any

from django.conf import settings
from django.template.loader import render_to_string

from sales.quotes.models import Quote, QuoteLine
from sales.quotes.selectors_atp import quote_delivery

log = logging.getLogger(__name__)


def quote_document_context(quote: Quote) -> dict[str, Any]:
    """Everything the print template shows (a fixed number of queries)."""
    lines = list(QuoteLine.objects.filter(quote=quote).order_by("position", "id"))
    customer = quote.opportunity.customer
    return {
        "quote": quote,
        "customer": customer,
        "delivery": quote_delivery(quote=quote, lines=lines),
        "lines": lines,
        "company": getattr(settings, "QUOTE_COMPANY_NAME", "Frontoffice"),
    }


def quote_pdf(context: dict[str, Any]) -> bytes | None:
    """The quote as PDF bytes; None when xhtml2pdf is not installed or fails."""
    try:
        from xhtml2pdf import pisa
    except ImportError:  # an optional dependency in a slim deployment
        return None
    html = render_to_string("sales/quotes/print.html", {**context, "for_pdf": True})
    out = io.BytesIO()
    result = pisa.CreatePDF(html, dest=out, encoding="utf-8")
    if result.err:
        log.error("PDF rendering of quote %s failed", context["quote"].pk)
        return None
    return out.getvalue()
