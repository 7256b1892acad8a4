"""Filters of the message log and the templates (API and pages alike)."""

from __future__ import annotations

import django_filters

from customers.outbound.choices import MessageCategory, MessageStatus, OutboundChannel
from customers.outbound.models import MessageTemplate, OutboundMessage
from frontoffice.filters import IdFilter, IsoDateTimeFilter


class OutboundMessageFilter(django_filters.FilterSet):
    customer = IdFilter(field_name="customer_id", label="Customer (id)")
    template = IdFilter(field_name="template_id", label="Template (id)")
    status = django_filters.ChoiceFilter(choices=MessageStatus.choices)
    channel = django_filters.ChoiceFilter(choices=OutboundChannel.choices)
    category = django_filters.ChoiceFilter(choices=MessageCategory.choices)
    dedupe_key = django_filters.CharFilter(field_name="dedupe_key", max_length=200)
    created_after = IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = IsoDateTimeFilter(field_name="created_at", lookup_expr="lt")

    class Meta:
        model = OutboundMessage
        fields: list[str] = []


class MessageTemplateFilter(django_filters.FilterSet):
    category = django_filters.ChoiceFilter(choices=MessageCategory.choices)
    is_active = django_filters.BooleanFilter()
    key = django_filters.CharFilter(field_name="key", max_length=80)

    class Meta:
        model = MessageTemplate
        fields: list[str] = []
