"""One FilterSet per model, used by the API and the pages alike."""

from __future__ import annotations

import django_filters
from django.db.models import Q, QuerySet

from frontoffice.filters import IdFilter, IsoDateTimeFilter
from service.choices import (
    OPEN_STATUSES,
    CallDirection,
    CallOutcome,
    CaseCategory,
    CaseChannel,
    CaseKind,
    CasePriority,
    CaseStatus,
    GoodwillStatus,
)
from service.models import Call, Case, GoodwillCredit


class CaseFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=CaseStatus.choices)
    open = django_filters.BooleanFilter(method="filter_open", label="Open (not resolved or closed)")
    kind = django_filters.ChoiceFilter(choices=CaseKind.choices)
    channel = django_filters.ChoiceFilter(choices=CaseChannel.choices)
    priority = django_filters.ChoiceFilter(choices=CasePriority.choices)
    category = django_filters.ChoiceFilter(choices=CaseCategory.choices)
    customer = IdFilter(field_name="customer_id")
    assignee = IdFilter(field_name="assignee_id")
    queue = IdFilter(field_name="queue_id")
    related_order = IdFilter(field_name="related_order_id")
    sla_breached = django_filters.BooleanFilter(field_name="sla_breached")
    escalated = django_filters.BooleanFilter(field_name="escalated_at", lookup_expr="isnull", exclude=True)
    created_after = IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = IsoDateTimeFilter(field_name="created_at", lookup_expr="lt")

    class Meta:
        model = Case
        fields = ["status", "kind", "channel", "priority", "category", "customer", "assignee", "queue"]

    def filter_open(self, queryset: QuerySet[Case], name: str, value: bool | None) -> QuerySet[Case]:
        if value is None:
            return queryset
        condition = Q(status__in=OPEN_STATUSES)
        return queryset.filter(condition) if value else queryset.exclude(condition)


class CallFilter(django_filters.FilterSet):
    customer = IdFilter(field_name="customer_id")
    case = IdFilter(field_name="case_id")
    agent = IdFilter(field_name="agent_id")
    direction = django_filters.ChoiceFilter(choices=CallDirection.choices)
    outcome = django_filters.ChoiceFilter(choices=CallOutcome.choices)
    occurred_after = IsoDateTimeFilter(field_name="occurred_at", lookup_expr="gte")
    occurred_before = IsoDateTimeFilter(field_name="occurred_at", lookup_expr="lt")

    class Meta:
        model = Call
        fields = ["customer", "case", "agent", "direction", "outcome"]


class GoodwillFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=GoodwillStatus.choices)
    case = IdFilter(field_name="case_id")
    customer = IdFilter(field_name="customer_id")
    requested_by = IdFilter(field_name="requested_by_id")

    class Meta:
        model = GoodwillCredit
        fields = ["status", "case", "customer", "requested_by"]
