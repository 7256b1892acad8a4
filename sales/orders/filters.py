"""The order list's filters, used by the API and the orders page alike."""

from __future__ import annotations

from typing import Any

import django_filters
from django.db.models import QuerySet

from frontoffice.filters import IdFilter
from sales.orders.choices import CLOSED, OrderState
from sales.orders.models import SalesOrder


def filter_by_state(queryset: QuerySet[Any], state: str) -> QuerySet[Any]:
    """Filter a queryset annotated by `selectors.with_erp_state` (whose `erp_status` the
    type checker cannot see) by `order_state`."""
    if state == OrderState.SUBMITTED:
        return queryset.filter(erp_status__isnull=True, cancel_requested_at__isnull=True)
    if state == OrderState.CANCEL_REQUESTED:
        return queryset.filter(cancel_requested_at__isnull=False).exclude(erp_status__in=CLOSED)
    if state in (OrderState.CANCELLED, OrderState.REJECTED):
        return queryset.filter(erp_status=state)
    return queryset.filter(erp_status=state, cancel_requested_at__isnull=True)


class OrderFilter(django_filters.FilterSet):
    customer = IdFilter(field_name="customer_id", label="Customer")
    status = django_filters.ChoiceFilter(choices=OrderState.choices, method="filter_status", label="Status")

    class Meta:
        model = SalesOrder
        fields = ["customer", "status"]

    def filter_status(self, queryset: QuerySet[SalesOrder], name: str, value: str) -> QuerySet[SalesOrder]:
        return filter_by_state(queryset, value) if value else queryset
