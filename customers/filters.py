"""One FilterSet per model, used by the API, the pages and the KPIs alike."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any

import django_filters
from django.db.models import Q, QuerySet
from django.utils.choices import CallableChoiceIterator

from customers.choices import CustomerKind, FieldType, LifecycleStage
from customers.models import Activity, ContactPoint, Customer, CustomFieldDefinition
from customers.normalise import phone_search_key
from customers.timeline_kinds import kind_choices
from frontoffice.filters import IdFilter, IsoDateTimeFilter

# What lists may be sorted by (API `ordering=` and the page's sort links).
CUSTOMER_ORDERINGS = ("display_name", "created_at", "updated_at", "lifecycle_stage")
ATTRIBUTE_PREFIX = "attr."
# Custom attribute keys are slugs (see CustomFieldDefinition.key); anything else in
# `attr.<key>` cannot name one, and must not reach a query (a NUL would on PostgreSQL).
_attribute_key = re.compile(r"[a-z][a-z0-9_]{0,49}")


def search_customers(queryset: QuerySet, value: str) -> QuerySet:
    """Name, e-mail (prefix) or phone match.

    A name matches when it holds every word typed, in any order ("Wells Lynda" finds
    Lynda Wells); a phone number by its E.164 form or by its last digits (at least
    four: "0123", "79 46 0123"), which is what a caller reads out."""
    value = (value or "").strip()[:200]
    if not value:
        return queryset
    contact = Q(kind="email", value__startswith=value.lower())
    phone = phone_search_key(value)
    if phone:
        contact |= Q(kind="phone", value=phone)
    digits = _digits_only(value)
    if digits and len(digits) >= MIN_PHONE_TAIL:
        contact |= Q(kind="phone", value__endswith=digits)
    words = value.split()[:MAX_NAME_WORDS]
    name = Q(display_name__icontains=value)
    if len(words) > 1:
        every_word = Q()
        for word in words:
            every_word &= Q(display_name__icontains=word)
        name |= every_word
    matching_contacts = ContactPoint.objects.filter(contact).values("customer_id")
    return queryset.filter(name | Q(pk__in=matching_contacts))


# The last digits of a phone number find it from this many on (fewer match too many).
MIN_PHONE_TAIL = 4
MAX_NAME_WORDS = 6
_phone_punctuation = re.compile(r"[\s\-./()]")


def _digits_only(value: str) -> str:
    """The digits of `value` when it is a phone number's digits with the usual
    separators (spaces, dashes, dots, brackets), else ""."""
    bare = _phone_punctuation.sub("", value)
    return bare if bare.isascii() and bare.isdigit() else ""


class CustomerFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(method="filter_q", max_length=200, label="Search")
    kind = django_filters.ChoiceFilter(choices=CustomerKind.choices)
    lifecycle_stage = django_filters.ChoiceFilter(choices=LifecycleStage.choices)
    tag = django_filters.CharFilter(method="filter_tag", max_length=50)
    owner = IdFilter(field_name="owner_id", label="Owner (user id)")
    created_after = IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = IsoDateTimeFilter(field_name="created_at", lookup_expr="lt")
    updated_after = IsoDateTimeFilter(field_name="updated_at", lookup_expr="gte")
    updated_before = IsoDateTimeFilter(field_name="updated_at", lookup_expr="lt")

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
        if not all(_attribute_key.fullmatch(key) for key in wanted):
            return queryset.none()  # no definition can have such a key
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
    if "\x00" in raw:
        return None  # stored values never hold one (attributes.py refuses it)
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


class TimelineFilter(django_filters.FilterSet):
    """One customer's timeline (the 360 page, the customer's timeline endpoints): by kind,
    one of the kinds the apps declare in their hooks; anything else is refused.

    The choices are read when the filter is used (the hooks load after this module),
    and spelled out in the OpenAPI schema.
    """

    kind = django_filters.ChoiceFilter(
        choices=CallableChoiceIterator(kind_choices),
        label="Show",
        empty_label="All kinds",
        help_text="A kind of timeline entry, as the apps declare them.",
    )


class ActivityFilter(TimelineFilter):
    """The timeline across customers (/api/v1/activities/)."""

    customer = IdFilter(field_name="customer_id")
    source_app = django_filters.CharFilter(max_length=30)
    occurred_after = IsoDateTimeFilter(field_name="occurred_at", lookup_expr="gte")
    occurred_before = IsoDateTimeFilter(field_name="occurred_at", lookup_expr="lt")

    class Meta:
        model = Activity
        fields = ["customer", "kind", "source_app"]
