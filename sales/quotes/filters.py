"""The quote list's filters, used by the API and the quotes page alike."""

from __future__ import annotations

import django_filters

from frontoffice.filters import IdFilter
from sales.quotes.models import Quote, QuoteStatus


class QuoteFilter(django_filters.FilterSet):
    opportunity = IdFilter(field_name="opportunity_id", label="Opportunity")
    customer = IdFilter(field_name="opportunity__customer_id", label="Customer")
    status = django_filters.ChoiceFilter(choices=QuoteStatus.choices)

    class Meta:
        model = Quote
        fields = ["opportunity", "customer", "status"]
