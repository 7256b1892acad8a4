"""One FilterSet per model, used by the API, the pages and the KPIs alike."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

import django_filters
from django.db.models import Q, QuerySet
from rest_framework.filters import OrderingFilter

from customers.choices import CustomerKind, FieldType, LifecycleStage
from customers.models import Activity, ContactPoint, Customer, CustomFieldDefinition
from customers.normalise import phone_search_key
from frontoffice.models import User

# What lists may be sorted by (API `ordering=` and the page's sort links).
CUSTOMER_ORDERINGS = ("display_name", "created_at", "updated_at", "lifecycle_stage")
ATTRIBUTE_PREFIX = "attr."


class StableOrderingFilter(OrderingFilter):
    """`?ordering=` with an id tiebreaker, so cursor pages never skip or repeat rows."""

    def get_ordering(self, request: Any, queryset: QuerySet, view: Any) -> list[str]:
        ordering = list(super().get_ordering(request, queryset, view) or [])
        if ordering and not any(o.lstrip("-") == "id" for o in ordering):
            ordering.append("-id" if ordering[0].startswith("-") else "id")
        return ordering


def search_customers(queryset: QuerySet, value: str) -> QuerySet:
    """Name (contains), e-mail (prefix) or phone (E.164 equality) match."""
    value = (value or "").strip()[:200]
    if not value:
        return queryset
    contact = ContactPoint.objects.filter(kind="email", value__startswith=value.lower())
    phone = phone_search_key(value)
    if phone:
        contact = ContactPoint.objects.filter(
            Q(kind="email", value__startswith=value.lower()) | Q(kind="phone", value=phone)
        )
    return queryset.filter(Q(display_name__icontains=value) | Q(pk__in=contact.values("customer_id")))


class CustomerFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(method="filter_q", max_length=200, label="Search")
    kind = django_filters.ChoiceFilter(choices=CustomerKind.choices)
    lifecycle_stage = django_filters.ChoiceFilter(choices=LifecycleStage.choices)
    tag = django_filters.CharFilter(method="filter_tag", max_length=50)
    owner = django_filters.ModelChoiceFilter(queryset=User.objects.all())
    created_after = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="lt")
    updated_after = django_filters.IsoDateTimeFilter(field_name="updated_at", lookup_expr="gte")
    updated_before = django_filters.IsoDateTimeFilter(field_name="updated_at", lookup_expr="lt")

    class Meta:
        model = Customer
        fields = ["q", "kind", "lifecycle_stage", "tag", "owner"]

    def filter_q(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return search_customers(queryset, value)

    def filter_tag(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(tags__name__iexact=value.strip())

    def filter_queryset(self, queryset: QuerySet) -> QuerySet:
        queryset = super().filter_queryset(queryset)
        wanted = {
            key[len(ATTRIBUTE_PREFIX) :]: value
            for key, value in self.data.items()
            if isinstance(key, str) and key.startswith(ATTRIBUTE_PREFIX)
        }
        if not wanted:
            return queryset
        definitions = {d.key: d for d in CustomFieldDefinition.objects.filter(key__in=list(wanted))}
        for key, raw in wanted.items():
            definition = definitions.get(key)
            if definition is None:
                return queryset.none()  # an unknown attribute matches nothing
            value = _attribute_value(definition.field_type, raw)
            if value is None:
                return queryset.none()
            queryset = queryset.filter(**{f"attributes__{key}": value})
        return queryset


def _attribute_value(field_type: str, raw: Any) -> Any:
    if isinstance(raw, list):  # QueryDict.items() gives the last value; be safe
        raw = raw[-1] if raw else ""
    raw = str(raw)[:200]
    if field_type == FieldType.NUMBER:
        try:
            number = Decimal(raw)
        except InvalidOperation:
            return None
        if not number.is_finite():
            return None
        return int(number) if number == number.to_integral_value() else float(number)
    if field_type == FieldType.BOOLEAN:
        return {"true": True, "false": False}.get(raw.lower())
    return raw


class ActivityFilter(django_filters.FilterSet):
    customer = django_filters.NumberFilter(field_name="customer_id")
    kind = django_filters.CharFilter(max_length=50)
    source_app = django_filters.CharFilter(max_length=30)
    occurred_after = django_filters.IsoDateTimeFilter(field_name="occurred_at", lookup_expr="gte")
    occurred_before = django_filters.IsoDateTimeFilter(field_name="occurred_at", lookup_expr="lt")

    class Meta:
        model = Activity
        fields = ["customer", "kind", "source_app"]
