"""The order list's filters, used by the API and the orders page alike."""

from __future__ import annotations

from typing import Any

import django_filters

from frontoffice.filters import IdFilter
from sales.models import SalesOrder
from sales.selectors_orders import OrderState, filter_by_state


class OrderFilter(django_filters.FilterSet):
    customer = IdFilter(field_name="customer_id", label="Customer")
    status = django_filters.ChoiceFilter(choices=OrderState.choices, method="filter_status", label="Status")

    class Meta:
        model = SalesOrder
        fields = ["customer", "status"]

    def filter_status(self, queryset: Any, name: str, value: str) -> Any:
        return filter_by_state(queryset, value) if value else queryset
