"""The v1 router: each app registers its viewsets here."""

from __future__ import annotations

from rest_framework.routers import DefaultRouter

from customers.api import ActivityViewSet, CustomerViewSet

router = DefaultRouter()
router.register("customers", CustomerViewSet, basename="customer")
router.register("activities", ActivityViewSet, basename="activity")
