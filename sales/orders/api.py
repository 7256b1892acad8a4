"""REST API for sales orders: list (filters customer, status), retrieve (lines, the
ERP's status history, shipments, invoices) and cancel; accepting a quote lives on the
quote (`POST quotes/{id}/accept/`, `sales.quotes.api`). Thin over `sales.orders`."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.urls import reverse
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from frontoffice.api import ActionPermissions, CursorPagination, etag_for, expected_version
from frontoffice.errors import PROBLEM_CONTENT_TYPE
from frontoffice.query_params import DeclaredQueryParameters
from frontoffice.schema import ETAG, IF_MATCH
from frontoffice.serializers import ProblemSerializer, StrictSerializer, TextField
from sales.orders import selectors, services
from sales.orders.choices import OrderState, PromiseState
from sales.orders.filters import OrderFilter
from sales.orders.models import SalesOrder, SalesOrderLine
from sales.request_actor import actor_of

PRECONDITIONS = {
    (409, PROBLEM_CONTENT_TYPE): OpenApiResponse(
        ProblemSerializer, description="The order (or quote) cannot do that in its current state."
    ),
    (412, PROBLEM_CONTENT_TYPE): OpenApiResponse(
        ProblemSerializer, description="If-Match names an old version: reload and try again."
    ),
    (428, PROBLEM_CONTENT_TYPE): OpenApiResponse(ProblemSerializer, description="If-Match is missing."),
}


class SalesOrderLineSerializer(serializers.ModelSerializer):
    sku = serializers.CharField(source="product_id", read_only=True)

    class Meta:
        model = SalesOrderLine
        fields = ["line_no", "sku", "description", "quantity", "unit_price", "discount_percent", "net_amount"]
        read_only_fields = fields


class SalesOrderSerializer(serializers.ModelSerializer):
    """An order as listed: its own fields plus the state read from the ERP mirror."""

    status = serializers.CharField(
        source="state",
        read_only=True,
        help_text="One of: "
        + ", ".join(OrderState.values)
        + " (the ERP's status, or ours before it reports).",
    )
    erp_status = serializers.CharField(read_only=True, allow_null=True, help_text="The mirror's status.")
    actual_delivery_on = serializers.DateField(read_only=True, allow_null=True)
    promise = serializers.ChoiceField(choices=PromiseState.choices, read_only=True, allow_null=True)

    class Meta:
        model = SalesOrder
        fields = [
            "id",
            "order_ref",
            "quote",
            "opportunity",
            "customer",
            "status",
            "erp_status",
            "currency",
            "requested_delivery_on",
            "promised_delivery_on",
            "actual_delivery_on",
            "promise",
            "ship_to",
            "subtotal",
            "tax_total",
            "total",
            "placed_by",
            "cancel_requested_at",
            "cancel_reason",
            "version",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class HistorySerializer(serializers.Serializer):
    status = serializers.CharField()
    label = serializers.CharField()  # type: ignore[assignment]  # a field named like DRF's Field.label
    on = serializers.DateField(allow_null=True)
    detail = serializers.CharField()


class ShipmentLineOutSerializer(serializers.Serializer):
    line_no = serializers.IntegerField()
    sku = serializers.CharField()
    quantity = serializers.IntegerField()


class ShipmentOutSerializer(serializers.Serializer):
    number = serializers.CharField()
    carrier = serializers.CharField()
    tracking_number = serializers.CharField()
    shipped_on = serializers.DateField()
    delivered_on = serializers.DateField(allow_null=True)
    lines = ShipmentLineOutSerializer(many=True, source="lines.all")


class InvoiceOutSerializer(serializers.Serializer):
    number = serializers.CharField()
    amount = serializers.DecimalField(max_digits=14, decimal_places=2)
    currency = serializers.CharField()
    issued_on = serializers.DateField()
    due_on = serializers.DateField()
    status = serializers.CharField()
    amount_paid = serializers.DecimalField(max_digits=14, decimal_places=2)


class SalesOrderDetailSerializer(SalesOrderSerializer):
    lines = SalesOrderLineSerializer(many=True, read_only=True, source="line_rows")
    erp_order_number = serializers.CharField(read_only=True, allow_null=True)
    history = HistorySerializer(many=True, read_only=True, source="history_rows")
    shipments = ShipmentOutSerializer(many=True, read_only=True, source="shipment_rows")
    invoices = InvoiceOutSerializer(many=True, read_only=True, source="invoice_rows")

    class Meta(SalesOrderSerializer.Meta):
        fields = [
            *SalesOrderSerializer.Meta.fields,
            "erp_order_number",
            "lines",
            "history",
            "shipments",
            "invoices",
        ]
        read_only_fields = fields


def order_body(order_id: int) -> tuple[dict[str, Any], int]:
    page = selectors.order_page(order_id=order_id)
    order = page.order
    # What the detail serializer reads besides the order's own fields.
    vars(order).update(
        erp_order_number=page.erp.erp_order_number if page.erp else None,
        line_rows=page.lines,
        history_rows=page.history,
        shipment_rows=page.shipments,
        invoice_rows=page.invoices,
    )
    return SalesOrderDetailSerializer(order).data, order.version


def order_response(order_id: int, *, code: int = status.HTTP_200_OK) -> Response:
    data, version = order_body(order_id)
    response = Response(data, status=code)
    response["ETag"] = etag_for(version)
    return response


class OrderCancelSerializer(StrictSerializer):
    reason = TextField(allow_blank=True, help_text="Why (at most 500 characters).")


class OrderPagination(CursorPagination):
    ordering = ("-created_at", "-id")


@extend_schema_view(
    retrieve=extend_schema(responses=SalesOrderDetailSerializer, parameters=[ETAG]),
)
class SalesOrderViewSet(
    DeclaredQueryParameters,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet[SalesOrder],
):
    """Orders placed by accepting quotes, with what the ERP did with them (mirror).

    (Not a `ServiceViewSet`: nothing creates or updates an order here, and that base
    would offer both; the one write, cancel, goes through its service all the same.)"""

    serializer_class = SalesOrderSerializer
    pagination_class = OrderPagination
    filter_backends = [DjangoFilterBackend]
    filterset_class = OrderFilter
    permission_classes = [ActionPermissions]
    lookup_value_regex = r"[0-9]{1,18}"
    action_permissions = {"cancel": {"POST": ["sales.change_salesorder"]}}
    owner_rule_actions = frozenset({"cancel"})
    owner_bypass_permission = "sales.change_any_quote"

    def get_queryset(self) -> QuerySet[SalesOrder]:
        return selectors.order_queryset().select_related("opportunity__owner")

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        queryset = self.filter_queryset(self.get_queryset())
        page = self.paginate_queryset(queryset) or []
        rows = [selectors.decorate(order) for order in page]
        return self.get_paginated_response(SalesOrderSerializer(rows, many=True).data)

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return order_response(self.get_object().pk)

    @extend_schema(
        request=OrderCancelSerializer,
        responses={200: SalesOrderDetailSerializer, **PRECONDITIONS},
        parameters=[IF_MATCH, ETAG],
        summary="Ask the ERP to cancel the order (refused once it shipped)",
    )
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, pk: str | None = None) -> Response:
        order = self.get_object()
        version = expected_version(request, current=order.version)
        data = OrderCancelSerializer.validated(request.data if request.data else {})
        services.order_cancel(actor=actor_of(request), order_id=order.pk, expected_version=version, **data)
        return order_response(order.pk)


def accept_response(order_id: int) -> Response:
    response = order_response(order_id, code=status.HTTP_201_CREATED)
    response["Location"] = reverse("sales-order-detail", args=[order_id])
    return response


# --- the 360 panel ------------------------------------------------------------------------


class RecentOrderRowSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    order_ref = serializers.CharField()
    status = serializers.ChoiceField(choices=OrderState.choices)
    status_label = serializers.CharField()
    total = serializers.CharField(help_text='The total and its currency: "1200.00 EUR".')
    promised_on = serializers.DateField(allow_null=True)
    promise = serializers.ChoiceField(choices=PromiseState.choices, allow_null=True)
    promise_label = serializers.CharField(allow_blank=True)


class RecentOrdersPanelSerializer(serializers.ListSerializer[Any]):
    """The 360 panel "Recent orders" (`selectors.recent_orders_panel`): the last orders,
    newest first, with their state from the ERP mirror and whether the promise holds."""

    child = RecentOrderRowSerializer()
