"""The sync's FilterSets (the outbox monitor's API list)."""

from __future__ import annotations

import django_filters

from backoffice_sync.models import OutboxMessage, OutboxStatus
from backoffice_sync.models.outbox import OUTBOX_KIND_CHOICES


class OutboxMessageFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=OutboxStatus.choices)
    kind = django_filters.ChoiceFilter(choices=OUTBOX_KIND_CHOICES)
    aggregate = django_filters.CharFilter(max_length=200, help_text='e.g. "customer:42", "order:FO-12".')

    class Meta:
        model = OutboxMessage
        fields = ["status", "kind", "aggregate"]
