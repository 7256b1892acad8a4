"""REST API for the forecast and recommendations: thin over `sales.forecast` services
and selectors. (Neither is a record with an id: a read of computed figures and one
action, so a plain ViewSet rather than the service-backed one.)

GET  /api/v1/sales/forecast/?currency=&month_from=&month_to=&month=   weighted pipeline
GET  /api/v1/sales/forecast/accuracy/?currency=&months=               forecast vs actual orders
POST /api/v1/sales/forecast/publish/                                  publish this week (Admin)
GET  /api/v1/sales/recommendations/?sku=A,B | ?customer=ID&limit=     also bought
"""

from __future__ import annotations

import re
from typing import Any

from django.core.exceptions import PermissionDenied
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from customers.models import Customer
from frontoffice.permissions import HasPermission
from frontoffice.query_params import DeclaredQueryParameters
from frontoffice.schema import OneObjectSchema
from frontoffice.serializers import CurrencyField, IdField, StrictSerializer, TextField
from frontoffice.viewsets import EmptyInput, action_body
from sales.forecast import selectors, services
from sales.forecast import selectors_recommendations as recommendations
from sales.request_actor import actor_of

VIEW_FORECAST = "sales.view_forecastsnapshot"
# Years 1900-2099, the business range of every date (frontoffice.dates).
MONTH_RE = re.compile(r"^(19|20)[0-9]{2}-(0[1-9]|1[0-2])$")


class MonthField(serializers.RegexField):
    """A calendar month as YYYY-MM, validated as text and returned as its first day."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("help_text", "A month as YYYY-MM (1900-01 to 2099-12).")
        super().__init__(MONTH_RE.pattern, max_length=7, **kwargs)

    def run_validation(self, data: Any = serializers.empty) -> Any:
        value = super().run_validation(data)
        return selectors.month_start(value) if isinstance(value, str) else value


class ForecastQuerySerializer(StrictSerializer):
    currency = CurrencyField(required=False)
    month_from = MonthField(required=False)
    month_to = MonthField(required=False)
    month = MonthField(required=False, help_text="Only this month's product rows (YYYY-MM).")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs.get("month_from") and attrs.get("month_to") and attrs["month_from"] > attrs["month_to"]:
            raise serializers.ValidationError({"month_to": ["Must not be before month_from."]})
        return attrs


class AccuracyQuerySerializer(StrictSerializer):
    currency = CurrencyField(required=False)
    months = serializers.IntegerField(min_value=1, max_value=24, default=6)


class MonthRowSerializer(serializers.Serializer):
    currency = serializers.CharField()
    month = serializers.CharField()
    opportunities = serializers.IntegerField()
    amount = serializers.DecimalField(max_digits=20, decimal_places=2)
    weighted_amount = serializers.DecimalField(max_digits=20, decimal_places=2)


class ProductRowSerializer(serializers.Serializer):
    currency = serializers.CharField()
    month = serializers.CharField()
    sku = serializers.CharField()
    quantity = serializers.DecimalField(max_digits=20, decimal_places=3)
    weighted_quantity = serializers.DecimalField(max_digits=20, decimal_places=3)
    amount = serializers.DecimalField(max_digits=20, decimal_places=2)
    weighted_amount = serializers.DecimalField(max_digits=20, decimal_places=2)


class ForecastSerializer(serializers.Serializer):
    months = MonthRowSerializer(many=True)
    products = ProductRowSerializer(many=True)


class AccuracyRowSerializer(serializers.Serializer):
    month = serializers.CharField()
    currency = serializers.CharField()
    forecast = serializers.DecimalField(max_digits=20, decimal_places=2, allow_null=True)
    actual = serializers.DecimalField(max_digits=20, decimal_places=2)
    accuracy = serializers.DecimalField(
        max_digits=5,
        decimal_places=4,
        allow_null=True,
        help_text="1 - |actual - forecast| / max(forecast, actual); null without a snapshot before the month.",
    )


class AccuracySerializer(serializers.Serializer):
    months = AccuracyRowSerializer(many=True)


class SnapshotSerializer(serializers.Serializer):
    forecast_ref = serializers.CharField()
    week = serializers.CharField()
    currency = serializers.CharField()
    total_amount = serializers.DecimalField(max_digits=16, decimal_places=2)
    lines = serializers.IntegerField(source="line_count")


class PublishSerializer(serializers.Serializer):
    week = serializers.CharField()
    published = SnapshotSerializer(many=True)
    already_published = SnapshotSerializer(many=True)


def _snapshots(rows: list[Any]) -> list[dict[str, Any]]:
    return [
        {
            "forecast_ref": s.forecast_ref,
            "week": s.week,
            "currency": s.currency,
            "total_amount": s.total_amount,
            "line_count": len(s.lines),
        }
        for s in rows
    ]


class ForecastViewSet(DeclaredQueryParameters, viewsets.ViewSet):
    schema = OneObjectSchema()
    permission_classes = [HasPermission]

    @property
    def required_permission(self) -> str:
        return services.PUBLISH_PERMISSION if self.action == "publish" else VIEW_FORECAST

    @extend_schema(
        operation_id="sales_forecast",
        summary="Weighted pipeline by month and by product",
        parameters=[ForecastQuerySerializer],
        responses={200: ForecastSerializer},
        tags=["sales"],
    )
    def list(self, request: Request) -> Response:
        query = ForecastQuerySerializer.validated(request.query_params.dict())
        return Response(ForecastSerializer(selectors.weighted_pipeline(**query)).data)

    @extend_schema(
        operation_id="sales_forecast_accuracy",
        summary="Forecast accuracy per past month",
        parameters=[AccuracyQuerySerializer],
        responses={200: AccuracySerializer},
        tags=["sales"],
    )
    @action(detail=False, methods=["get"])
    def accuracy(self, request: Request) -> Response:
        query = AccuracyQuerySerializer.validated(request.query_params.dict())
        return Response(AccuracySerializer({"months": selectors.forecast_accuracy(**query)}).data)

    @extend_schema(
        operation_id="sales_forecast_publish",
        summary="Publish this week's forecast to the ERP now (idempotent per week)",
        request=None,
        responses={200: PublishSerializer},
        tags=["sales"],
    )
    @action(detail=False, methods=["post"])
    def publish(self, request: Request) -> Response:
        EmptyInput.validated(action_body(request))  # no body, or an empty object
        result = services.forecast_publish(actor=actor_of(request))
        return Response(
            PublishSerializer(
                {
                    "week": result.week,
                    "published": _snapshots(result.published),
                    "already_published": _snapshots(result.already_published),
                }
            ).data
        )


class RecommendationQuerySerializer(StrictSerializer):
    sku = TextField(max_length=700, required=False, help_text="One SKU or several, comma-separated.")
    customer = IdField(required=False)
    limit = serializers.IntegerField(min_value=1, max_value=50, default=recommendations.DEFAULT_LIMIT)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if ("sku" in attrs) == ("customer" in attrs):
            raise serializers.ValidationError({"sku": ["Give either sku or customer."]})
        if "customer" in attrs:
            customer = Customer.objects.filter(pk=attrs["customer"]).first()
            if customer is None:
                raise serializers.ValidationError({"customer": ["No such customer."]})
            attrs["customer"] = customer
        else:
            attrs["sku"] = [s.strip() for s in attrs["sku"].split(",") if s.strip()][:20]
        return attrs


class RecommendationSerializer(serializers.Serializer):
    sku = serializers.CharField()
    name = serializers.CharField()
    confidence = serializers.DecimalField(
        max_digits=5, decimal_places=4, help_text="Share of the buyers of the given SKUs who bought this."
    )
    customers = serializers.IntegerField(help_text="Customers who bought both.")


class RecommendationListSerializer(serializers.Serializer):
    results = RecommendationSerializer(many=True)


class RecommendationViewSet(DeclaredQueryParameters, viewsets.ViewSet):
    schema = OneObjectSchema()
    permission_classes = [HasPermission]
    required_permission = "sales.view_productaffinity"

    @extend_schema(
        operation_id="sales_recommendations",
        summary="Customers who bought these products (or this customer's products) also bought",
        parameters=[RecommendationQuerySerializer],
        responses={200: RecommendationListSerializer},
        tags=["sales"],
    )
    def list(self, request: Request) -> Response:
        query = RecommendationQuerySerializer.validated(request.query_params.dict())
        if "customer" in query:
            if not request.user.has_perm("customers.view_customer"):
                raise PermissionDenied
            rows = recommendations.recommended_for_customer(query["customer"], limit=query["limit"])
        else:
            rows = recommendations.also_bought(query["sku"], limit=query["limit"])
        return Response(RecommendationListSerializer({"results": rows}).data)


# --- the 360 panel ------------------------------------------------------------------------


class RecommendedProductRowSerializer(serializers.Serializer[Any]):
    sku = serializers.CharField()
    name = serializers.CharField(allow_blank=True)
    confidence = serializers.CharField(
        help_text='Share of the buyers of this customer\'s products who bought it: "40%".'
    )
    customers = serializers.IntegerField(help_text="Customers who bought both.")


class RecommendedProductsPanelSerializer(serializers.ListSerializer[Any]):
    """The 360 panel "Recommended products" (`selectors_recommendations.recommended_panel`)."""

    child = RecommendedProductRowSerializer()
