"""The lead list's filters, used by the API and the leads page alike."""

from __future__ import annotations

import django_filters
from django.db.models import Q, QuerySet

from frontoffice.filters import IdFilter, IsoDateTimeFilter
from sales.leads.models import Lead, LeadSource, LeadStatus

LEAD_ORDERINGS = ("created_at", "updated_at")


class LeadFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(method="filter_q", max_length=200, label="Search")
    status = django_filters.ChoiceFilter(choices=LeadStatus.choices)
    source = django_filters.ChoiceFilter(choices=LeadSource.choices)
    owner = IdFilter(field_name="owner_id", label="Owner (user id)")
    campaign_id = IdFilter(field_name="campaign_id", max_value=2**31 - 1)
    created_after = IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = IsoDateTimeFilter(field_name="created_at", lookup_expr="lt")

    class Meta:
        model = Lead
        fields = ["q", "status", "source", "owner", "campaign_id"]

    def filter_q(self, queryset: QuerySet[Lead], name: str, value: str) -> QuerySet[Lead]:
        value = (value or "").strip()[:200]
        if not value:
            return queryset
        return queryset.filter(
            Q(first_name__icontains=value)
            | Q(last_name__icontains=value)
            | Q(organisation_name__icontains=value)
            | Q(email__startswith=value.lower())
            | Q(title__icontains=value)
        )
