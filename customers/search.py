"""The customer profile's part of the global search box."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.urls import reverse

from customers.selectors import global_search
from frontoffice.plugin import SearchHit


def customer_hits(*, q: str, actor: Any, limit: int) -> list[SearchHit]:
    """Customers by name, e-mail or phone (the list's `q`), with their primary contacts."""
    return [
        SearchHit(
            title=customer.display_name,
            url=reverse("customers:detail", args=[customer.pk]),
            detail=" · ".join(
                [customer.get_kind_display(), *(cp.value for cp in getattr(customer, "primary_contacts", ()))]
            ),
        )
        for customer in global_search(q=q, limit=limit)
    ]


def all_customers_url(q: str) -> str:
    return reverse("customers:list") + "?" + urlencode({"q": q})
