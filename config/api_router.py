"""The v1 router: each app registers its viewsets here."""

from __future__ import annotations

from typing import Any, NoReturn

from django.urls import URLPattern, re_path
from rest_framework import exceptions, permissions
from rest_framework.request import Request
from rest_framework.routers import DefaultRouter
from rest_framework.views import APIView

from backoffice_sync.api import ErpWebhookViewSet
from backoffice_sync.api_sync import AtpViewSet, OutboxViewSet, SyncStatusViewSet
from customers.api import ActivityViewSet, CustomerViewSet
from frontoffice.api_tokens import ApiTokenViewSet
from sales.api import LeadViewSet, OpportunityViewSet, PipelineViewSet
from sales.api_forecast import ForecastViewSet, RecommendationViewSet
from sales.api_orders import SalesOrderViewSet
from sales.api_quotes import DiscountLimitViewSet, PriceListViewSet, ProductViewSet, QuoteViewSet


class NotFoundView(APIView):
    """Any /api/v1/ path no viewset matched: a problem+json 404 like every other API
    error, instead of the HTML 404 page meant for people."""

    permission_classes = [permissions.AllowAny]
    authentication_classes: list[Any] = []
    schema = None  # not an endpoint

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> NoReturn:
        super().initial(request, *args, **kwargs)  # negotiates the error's format
        raise exceptions.NotFound()


class Router(DefaultRouter):
    def get_urls(self) -> list[URLPattern]:
        return [*super().get_urls(), re_path(r"^[\s\S]*$", NotFoundView.as_view(), name="api-not-found")]


router = Router()
router.register("auth/tokens", ApiTokenViewSet, basename="api-token")
router.register("customers", CustomerViewSet, basename="customer")
router.register("activities", ActivityViewSet, basename="activity")
router.register("erp/webhook", ErpWebhookViewSet, basename="erp-webhook")
router.register("sync/status", SyncStatusViewSet, basename="sync-status")
router.register("sync/atp", AtpViewSet, basename="sync-atp")
router.register("sync/outbox", OutboxViewSet, basename="sync-outbox")
router.register("sales/products", ProductViewSet, basename="sales-product")
router.register("sales/price-lists", PriceListViewSet, basename="sales-price-list")
router.register("sales/discount-limits", DiscountLimitViewSet, basename="sales-discount-limit")
router.register("sales/quotes", QuoteViewSet, basename="sales-quote")
router.register("sales/orders", SalesOrderViewSet, basename="sales-order")
router.register("sales/leads", LeadViewSet, basename="sales-lead")
router.register("sales/opportunities", OpportunityViewSet, basename="sales-opportunity")
router.register("sales/pipelines", PipelineViewSet, basename="sales-pipeline")
router.register("sales/forecast", ForecastViewSet, basename="sales-forecast")
router.register("sales/recommendations", RecommendationViewSet, basename="sales-recommendation")
