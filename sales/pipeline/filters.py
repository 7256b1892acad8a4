"""The opportunity list's and the board's filters, used by the API and the pages alike."""

from __future__ import annotations

import re
from typing import Any

import django_filters
from django import forms
from django.db.models import Q, QuerySet

from frontoffice.filters import IdFilter, IsoDateTimeFilter
from sales.pipeline.models import Opportunity, OpportunityStatus

OPPORTUNITY_ORDERINGS = ("created_at", "updated_at", "amount", "name")
MONTH = re.compile(r"([0-9]{4})-(0[1-9]|1[0-2])")
MAX_AMOUNT = 10**12


class AmountFilter(django_filters.NumberFilter):
    """A non-negative amount with at most 2 decimals and within the column's range (a
    Decimal like 1e400 would otherwise reach the query)."""

    field_class = forms.DecimalField

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("min_value", 0)
        kwargs.setdefault("max_value", MAX_AMOUNT)
        kwargs.setdefault("max_digits", 14)
        kwargs.setdefault("decimal_places", 2)
        super().__init__(*args, **kwargs)


def filter_close_month(queryset: QuerySet[Opportunity], name: str, value: str) -> QuerySet[Opportunity]:
    match = MONTH.fullmatch((value or "").strip())
    if not match:
        return queryset
    return queryset.filter(expected_close_date__year=int(match[1]), expected_close_date__month=int(match[2]))


class CloseMonthFilter(django_filters.CharFilter):
    """`YYYY-MM`: opportunities expected to close that month; anything else is a 400."""

    field_class = forms.RegexField

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("method", filter_close_month)
        kwargs.setdefault("label", "Expected close month (YYYY-MM)")
        kwargs.setdefault("regex", MONTH)
        kwargs.setdefault("max_length", 7)
        kwargs.setdefault("error_messages", {"invalid": "Use YYYY-MM, e.g. 2026-03."})
        super().__init__(*args, **kwargs)


class OpportunityFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(method="filter_q", max_length=200, label="Search")
    stage = IdFilter(field_name="stage_id")
    pipeline = IdFilter(field_name="pipeline_id")
    owner = IdFilter(field_name="owner_id", label="Owner (user id)")
    customer = IdFilter(field_name="customer_id")
    status = django_filters.ChoiceFilter(choices=OpportunityStatus.choices)
    close_after = django_filters.DateFilter(field_name="expected_close_date", lookup_expr="gte")
    close_before = django_filters.DateFilter(field_name="expected_close_date", lookup_expr="lte")
    close_month = CloseMonthFilter()
    amount_min = AmountFilter(field_name="amount", lookup_expr="gte")
    amount_max = AmountFilter(field_name="amount", lookup_expr="lte")
    created_after = IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = IsoDateTimeFilter(field_name="created_at", lookup_expr="lt")

    class Meta:
        model = Opportunity
        fields = ["q", "stage", "pipeline", "owner", "customer", "status"]

    def filter_q(self, queryset: QuerySet[Opportunity], name: str, value: str) -> QuerySet[Opportunity]:
        value = (value or "").strip()[:200]
        if not value:
            return queryset
        return queryset.filter(Q(name__icontains=value) | Q(customer__display_name__icontains=value))


class BoardFilter(django_filters.FilterSet):
    """The board's filters: owner and expected close month."""

    owner = IdFilter(field_name="owner_id", label="Owner")
    close_month = CloseMonthFilter()

    class Meta:
        model = Opportunity
        fields = ["owner"]
