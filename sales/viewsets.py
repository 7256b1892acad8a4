"""The service-backed viewset as sales' resources use it."""

from __future__ import annotations

from typing import Any

from django.db.models import Model

from frontoffice.viewsets import ServiceViewSet


class SalesViewSet(ServiceViewSet):
    """`ServiceViewSet`, answering a GET of one record with the row it has just read:
    re-reading it (what a write's answer needs, to show what a GET would) would double a
    retrieve's queries, prefetched lines included."""

    def reread(self, instance: Model) -> Any:
        if self.action == "retrieve":
            return instance
        return super().reread(instance)
