"""REST API for products (with a price list's prices), price lists and discount limits:
thin over `sales.pricing` services and selectors. Input serializers check types and
shape; the services own every rule about the values."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from backoffice_sync.models import Product
from frontoffice.api import ActionPermissions, CursorPagination
from frontoffice.query_params import DeclaredQueryParameters
from frontoffice.roles import Role
from frontoffice.schema import ETAG, IF_MATCH, IF_MATCH_OPTIONAL
from frontoffice.serializers import IdField, StrictSerializer, TextField
from frontoffice.viewsets import version_from
from sales.pricing import selectors, services
from sales.pricing.models import CustomerTier, DiscountLimit, PriceList, PriceListItem
from sales.request_actor import actor_of
from sales.viewsets import SalesViewSet

# --- products ----------------------------------------------------------------------------


class ProductPriceSerializer(serializers.ModelSerializer[Product]):
    price = serializers.DecimalField(max_digits=14, decimal_places=2, allow_null=True, read_only=True)

    class Meta:
        model = Product
        fields = ["sku", "name", "unit_price", "currency", "lead_time_days", "active", "price"]
        read_only_fields = fields


class ProductPagination(CursorPagination):
    ordering = ("sku",)


@extend_schema_view(
    list=extend_schema(
        parameters=[
            OpenApiParameter(
                "price_list",
                OpenApiTypes.INT,
                description="Show each product's price on this list (null when not on it).",
            )
        ]
    )
)
# A list and nothing else (no record of its own to retrieve or write): not a ServiceViewSet.
class ProductViewSet(DeclaredQueryParameters, mixins.ListModelMixin, viewsets.GenericViewSet[Product]):
    """Active products of the ERP catalogue (read-only mirror), with a price list's price."""

    serializer_class = ProductPriceSerializer
    pagination_class = ProductPagination
    permission_classes = [ActionPermissions]
    action_permissions = {"list": {"GET": ["sales.view_pricelist"]}}

    def _price_list_id(self) -> int | None:
        raw = self.request.query_params.get("price_list", "")
        if not raw:
            return None
        try:
            return int(IdField().run_validation(raw))
        except serializers.ValidationError as exc:
            raise serializers.ValidationError({"price_list": exc.detail}) from None

    def get_queryset(self) -> QuerySet[Product]:
        return selectors.products_priced(price_list_id=self._price_list_id())


# --- price lists -------------------------------------------------------------------------


class PriceListItemSerializer(serializers.ModelSerializer[PriceListItem]):
    sku = serializers.CharField(source="product_id", read_only=True)

    class Meta:
        model = PriceListItem
        fields = ["sku", "unit_price"]
        read_only_fields = fields


class PriceListSerializer(serializers.ModelSerializer[PriceList]):
    items = PriceListItemSerializer(many=True, read_only=True)

    class Meta:
        model = PriceList
        fields = ["id", "name", "currency", "tier", "active", "items", "version", "created_at", "updated_at"]
        read_only_fields = fields


class PriceListItemInputSerializer(StrictSerializer):
    sku = TextField()
    unit_price = serializers.DecimalField(
        max_digits=None, decimal_places=None, help_text="0 or more, at most 2 decimal places."
    )


class PriceListWriteSerializer(StrictSerializer):
    name = TextField(allow_blank=True, help_text="At most 100 characters.")
    currency = TextField(help_text="A 3-letter ISO code in capitals, e.g. EUR.")
    tier = TextField(
        required=False, help_text=f"One of: {', '.join(CustomerTier.values)} (default: standard)."
    )
    active = serializers.BooleanField(required=False, help_text="Default: true.")
    items = PriceListItemInputSerializer(many=True, required=False, help_text="At most 5000.")


class PriceListPagination(CursorPagination):
    ordering = ("currency", "tier", "name", "id")


@extend_schema_view(
    retrieve=extend_schema(parameters=[ETAG]),
    create=extend_schema(
        request=PriceListWriteSerializer, responses={201: PriceListSerializer}, parameters=[ETAG]
    ),
    update=extend_schema(
        request=PriceListWriteSerializer,
        responses=PriceListSerializer,
        parameters=[IF_MATCH, ETAG],
    ),
    partial_update=extend_schema(
        request=PriceListWriteSerializer,
        responses=PriceListSerializer,
        parameters=[IF_MATCH, ETAG],
    ),
)
class PriceListViewSet(SalesViewSet):
    """Price lists per currency and tier, with their items. Admins write (items replace
    the list's items; updates need If-Match, the ETag covers the items too); everyone in
    sales reads. Retire a list by making it inactive."""

    serializer_class = PriceListSerializer
    pagination_class = PriceListPagination
    lookup_arg = "price_list_id"
    create_input = PriceListWriteSerializer
    update_input = PriceListWriteSerializer
    create_service = staticmethod(services.price_list_create)
    update_service = staticmethod(services.price_list_update)

    def get_queryset(self) -> QuerySet[PriceList]:
        return selectors.price_list_queryset()


# --- discount limits -----------------------------------------------------------------------


class DiscountLimitSerializer(serializers.ModelSerializer[DiscountLimit]):
    class Meta:
        model = DiscountLimit
        fields = ["id", "role", "max_discount_percent", "version", "created_at", "updated_at"]
        read_only_fields = fields


class DiscountLimitWriteSerializer(StrictSerializer):
    role = TextField(help_text=f"One of the roles: {', '.join(Role.ALL)}.")
    max_discount_percent = serializers.DecimalField(
        max_digits=None,
        decimal_places=None,
        help_text="The largest line discount the role may give without approval, 0-100.",
    )


class DiscountLimitPagination(CursorPagination):
    ordering = ("role", "id")


@extend_schema_view(
    retrieve=extend_schema(parameters=[ETAG]),
    create=extend_schema(
        request=DiscountLimitWriteSerializer, responses={201: DiscountLimitSerializer}, parameters=[ETAG]
    ),
    update=extend_schema(
        request=DiscountLimitWriteSerializer, responses=DiscountLimitSerializer, parameters=[IF_MATCH, ETAG]
    ),
    partial_update=extend_schema(
        request=DiscountLimitWriteSerializer, responses=DiscountLimitSerializer, parameters=[IF_MATCH, ETAG]
    ),
    destroy=extend_schema(parameters=[IF_MATCH_OPTIONAL]),
)
class DiscountLimitViewSet(mixins.DestroyModelMixin, SalesViewSet):
    """The largest line discount each role may give without a manager's approval (a
    user's limit is the largest over their roles; a role without a limit gives none).
    Everyone who works on quotes reads; admins write (one limit per role: 409 for a
    second). A change applies to quotes whose lines are set from then on."""

    serializer_class = DiscountLimitSerializer
    pagination_class = DiscountLimitPagination
    lookup_arg = "discount_limit_id"
    create_input = DiscountLimitWriteSerializer
    update_input = DiscountLimitWriteSerializer
    create_service = staticmethod(services.discount_limit_create)
    update_service = staticmethod(services.discount_limit_update)

    def get_queryset(self) -> QuerySet[DiscountLimit]:
        return DiscountLimit.objects.all()

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        limit = self.get_object()
        version = version_from(request, limit.version, required=False)
        services.discount_limit_delete(
            actor=actor_of(request), discount_limit_id=limit.pk, expected_version=version
        )
        return Response(status=status.HTTP_204_NO_CONTENT)
