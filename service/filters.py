"""One FilterSet per model, used by the API and the pages alike."""

from __future__ import annotations

import django_filters

from frontoffice.filters import IdFilter, IsoDateTimeFilter
from service.choices import CaseChannel, CaseKind, CasePriority, CaseStatus
from service.models import Case


class CaseFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=CaseStatus.choices)
    kind = django_filters.ChoiceFilter(choices=CaseKind.choices)
    channel = django_filters.ChoiceFilter(choices=CaseChannel.choices)
    priority = django_filters.ChoiceFilter(choices=CasePriority.choices)
    customer = IdFilter(field_name="customer_id")
    assignee = IdFilter(field_name="assignee_id")
    created_after = IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = IsoDateTimeFilter(field_name="created_at", lookup_expr="lt")

    class Meta:
        model = Case
        fields = ["status", "kind", "channel", "priority", "customer", "assignee"]
