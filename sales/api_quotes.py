"""REST API for products (with prices), price lists, discount limits and quotes: thin
over sales.quotes."""

from __future__ import annotations

from typing import Any

from django.db.models import OuterRef, Prefetch, Subquery
from django.urls import reverse
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
)
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from backoffice_sync.models import Product
from frontoffice.api import ActionPermissions, CursorPagination, VersionedMixin, etag_for, expected_version
from frontoffice.errors import PROBLEM_CONTENT_TYPE
from frontoffice.roles import Role
from frontoffice.schema import ETAG, IF_MATCH, IF_MATCH_OPTIONAL
from frontoffice.serializers import IdField, ProblemSerializer, StrictSerializer, TextField
from sales import quotes as services
from sales.api_orders import PRECONDITIONS as ORDER_PRECONDITIONS
from sales.api_orders import SalesOrderDetailSerializer, accept_response
from sales.filters_quotes import QuoteFilter
from sales.models import CustomerTier, DiscountLimit, PriceList, PriceListItem, Quote, QuoteLine
from sales.models.quotes import MAX_LINE_QUANTITY
from sales.orders import quote_accept as accept_quote

PERCENT = {"max_digits": 5, "decimal_places": 2, "min_value": 0, "max_value": 100}
MONEY = {"max_digits": 14, "decimal_places": 2, "min_value": 0, "max_value": 10**12 - 1}


# --- products ----------------------------------------------------------------------------


class ProductPriceSerializer(serializers.ModelSerializer):
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
class ProductViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
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
            return IdField().run_validation(raw)
        except serializers.ValidationError as exc:
            raise serializers.ValidationError({"price_list": exc.detail}) from None

    def get_queryset(self):
        items = PriceListItem.objects.filter(price_list_id=self._price_list_id(), product_id=OuterRef("sku"))
        return Product.objects.filter(active=True).annotate(price=Subquery(items.values("unit_price")[:1]))


# --- price lists -------------------------------------------------------------------------


class PriceListItemSerializer(serializers.ModelSerializer):
    sku = serializers.CharField(source="product_id", read_only=True)

    class Meta:
        model = PriceListItem
        fields = ["sku", "unit_price"]
        read_only_fields = fields


class PriceListSerializer(serializers.ModelSerializer):
    items = PriceListItemSerializer(many=True, read_only=True)

    class Meta:
        model = PriceList
        fields = ["id", "name", "currency", "tier", "active", "items", "version", "created_at", "updated_at"]
        read_only_fields = fields


class PriceListItemInputSerializer(StrictSerializer):
    sku = TextField(max_length=64)
    unit_price = serializers.DecimalField(**MONEY)


class PriceListWriteSerializer(StrictSerializer):
    name = TextField(max_length=100)
    currency = serializers.RegexField(r"^[A-Z]{3}$", max_length=3)
    tier = serializers.ChoiceField(choices=CustomerTier.choices, default=CustomerTier.STANDARD)
    active = serializers.BooleanField(default=True)
    items = PriceListItemInputSerializer(many=True, required=False, max_length=5000)


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
class PriceListViewSet(
    VersionedMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """Price lists per currency and tier, with their items. Admins write (items replace
    the list's items; updates need If-Match, the ETag covers the items too); everyone in
    sales reads. Retire a list by making it inactive."""

    serializer_class = PriceListSerializer
    pagination_class = PriceListPagination
    permission_classes = [ActionPermissions]
    lookup_value_regex = r"[0-9]{1,18}"
    queryset = PriceList.objects.prefetch_related(
        Prefetch("items", queryset=PriceListItem.objects.order_by("product_id"))
    )

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = PriceListWriteSerializer.validated(request.data)
        price_list = services.price_list_create(actor=request.user, **data)
        response = self.versioned_response(self.get_queryset().get(pk=price_list.pk), status.HTTP_201_CREATED)
        response["Location"] = reverse("sales-price-list-detail", args=[price_list.pk])
        return response

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        price_list = self.get_object()
        version = expected_version(request, current=price_list.version)
        data = PriceListWriteSerializer.validated(request.data, partial=kwargs.pop("partial", False))
        services.price_list_update(
            actor=request.user, price_list_id=price_list.pk, expected_version=version, **data
        )
        return self.versioned_response(self.get_queryset().get(pk=price_list.pk))


# --- discount limits -----------------------------------------------------------------------


class DiscountLimitSerializer(serializers.ModelSerializer):
    class Meta:
        model = DiscountLimit
        fields = ["id", "role", "max_discount_percent", "version", "created_at", "updated_at"]
        read_only_fields = fields


class DiscountLimitWriteSerializer(StrictSerializer):
    role = serializers.ChoiceField(
        choices=Role.ALL,
        error_messages={"invalid_choice": f'Unknown role "{{input}}"; the roles are: {", ".join(Role.ALL)}.'},
    )
    max_discount_percent = serializers.DecimalField(
        **PERCENT, help_text="The largest line discount the role may give without approval, 0-100."
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
class DiscountLimitViewSet(
    VersionedMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """The largest line discount each role may give without a manager's approval (a
    user's limit is the largest over their roles; a role without a limit gives none).
    Everyone who works on quotes reads; admins write (one limit per role: 409 for a
    second). A change applies to quotes whose lines are set from then on."""

    serializer_class = DiscountLimitSerializer
    pagination_class = DiscountLimitPagination
    permission_classes = [ActionPermissions]
    lookup_value_regex = r"[0-9]{1,18}"
    queryset = DiscountLimit.objects.all()

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = DiscountLimitWriteSerializer.validated(request.data)
        limit = services.discount_limit_create(actor=request.user, **data)
        response = self.versioned_response(limit, status.HTTP_201_CREATED)
        response["Location"] = reverse("sales-discount-limit-detail", args=[limit.pk])
        return response

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        limit = self.get_object()
        version = expected_version(request, current=limit.version)
        data = DiscountLimitWriteSerializer.validated(request.data, partial=kwargs.pop("partial", False))
        limit = services.discount_limit_update(
            actor=request.user, discount_limit_id=limit.pk, expected_version=version, **data
        )
        return self.versioned_response(limit)

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        limit = self.get_object()
        version = expected_version(request, current=limit.version) if "If-Match" in request.headers else None
        services.discount_limit_delete(
            actor=request.user, discount_limit_id=limit.pk, expected_version=version
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- quotes ------------------------------------------------------------------------------


class QuoteLineSerializer(serializers.ModelSerializer):
    sku = serializers.CharField(source="product_id", read_only=True)
    needs_approval = serializers.SerializerMethodField()

    class Meta:
        model = QuoteLine
        fields = [
            "position",
            "sku",
            "description",
            "quantity",
            "unit_price",
            "discount_percent",
            "net_amount",
            "needs_approval",
        ]
        read_only_fields = fields

    def get_needs_approval(self, line: QuoteLine) -> bool:
        return line.discount_percent > self.context["limit"]


class QuoteSerializer(serializers.ModelSerializer):
    lines = serializers.SerializerMethodField()
    customer = serializers.IntegerField(source="opportunity.customer_id", read_only=True)
    sent_to = serializers.CharField(read_only=True, help_text="Empty until sent.")

    class Meta:
        model = Quote
        fields = [
            "id",
            "reference",
            "revision",
            "previous",
            "opportunity",
            "customer",
            "status",
            "currency",
            "tier",
            "price_list",
            "tax_rate",
            "valid_until",
            "requested_delivery_on",
            "accept_later_delivery",
            "promised_delivery_on",
            "discount_limit_percent",
            "priced_by",
            "subtotal",
            "discount_total",
            "tax_total",
            "total",
            "notes",
            "approved_by",
            "approved_at",
            "sent_at",
            "sent_to",
            "version",
            "lines",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    @extend_schema_field(QuoteLineSerializer(many=True))
    def get_lines(self, quote: Quote) -> Any:
        # Lines come prefetched in position order: no query per quote.
        context = {"limit": quote.discount_limit_percent}
        return QuoteLineSerializer(quote.lines.all(), many=True, context=context).data


class QuoteLineInputSerializer(StrictSerializer):
    sku = TextField(max_length=64)
    quantity = serializers.IntegerField(min_value=1, max_value=MAX_LINE_QUANTITY)
    discount_percent = serializers.DecimalField(**PERCENT, default=0)


class QuoteFieldsSerializer(StrictSerializer):
    tax_rate = serializers.DecimalField(**PERCENT, required=False)
    valid_until = serializers.DateField(required=False)
    requested_delivery_on = serializers.DateField(required=False, allow_null=True)
    accept_later_delivery = serializers.BooleanField(required=False)
    notes = TextField(max_length=5000, required=False, allow_blank=True)
    lines = QuoteLineInputSerializer(many=True, required=False, max_length=500)


class QuoteCreateSerializer(QuoteFieldsSerializer):
    opportunity = IdField()
    price_list = IdField(required=False)
    valid_until = serializers.DateField()


class QuoteSendSerializer(StrictSerializer):
    to = serializers.EmailField(required=False, max_length=254)
    accept_later_delivery = serializers.BooleanField(required=False)


class EmptySerializer(StrictSerializer):
    pass


class QuoteAcceptSerializer(StrictSerializer):
    accept_later_delivery = serializers.BooleanField(
        required=False,
        default=False,
        help_text="The customer accepts the back office's earliest date when it is later than the "
        "quote's promised date (the order then promises that date). Without it, such an accept "
        "is refused: 409 delivery_date_not_met.",
    )
    accepted_delivery_on = serializers.DateField(
        required=False,
        allow_null=True,
        default=None,
        help_text="The later date the customer was told and accepts: when the earliest date has "
        "slipped beyond it since, 409 again rather than a promise they did not agree to.",
    )


ACCEPT_RESPONSES = {
    201: SalesOrderDetailSerializer,
    **ORDER_PRECONDITIONS,
    (409, PROBLEM_CONTENT_TYPE): OpenApiResponse(
        ProblemSerializer,
        description="Not a sent, unexpired, latest revision, already accepted, or the back office "
        "can no longer deliver by the quote's promised date (`type` ends in delivery_date_not_met; "
        "`errors.promised_delivery_on` names the earliest possible date now): accept again with "
        "accept_later_delivery=true if the customer accepts it, or revise the quote. Nothing is written.",
    ),
}


def _lines_payload(data: dict[str, Any]) -> dict[str, Any]:
    if "lines" in data:
        data["lines"] = [dict(line) for line in data["lines"]]
    return data


class QuotePagination(CursorPagination):
    ordering = ("-created_at", "-id")


PRECONDITIONS = {
    (412, PROBLEM_CONTENT_TYPE): OpenApiResponse(
        ProblemSerializer, description="If-Match names an old version: reload and try again."
    ),
    (428, PROBLEM_CONTENT_TYPE): OpenApiResponse(ProblemSerializer, description="If-Match is missing."),
}


def _action_schema(request: Any, summary: str, *, code: int = 200) -> Any:
    return extend_schema(
        request=request,
        responses={code: QuoteSerializer, **PRECONDITIONS},
        parameters=[IF_MATCH, ETAG],
        summary=summary,
    )


@extend_schema_view(
    retrieve=extend_schema(parameters=[ETAG]),
    create=extend_schema(request=QuoteCreateSerializer, responses={201: QuoteSerializer}, parameters=[ETAG]),
    update=extend_schema(
        request=QuoteFieldsSerializer, responses=QuoteSerializer, parameters=[IF_MATCH, ETAG]
    ),
    partial_update=extend_schema(
        request=QuoteFieldsSerializer, responses=QuoteSerializer, parameters=[IF_MATCH, ETAG]
    ),
)
class QuoteViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """Quotes of opportunities: priced lines, totals with tax, approval, sending, revisions."""

    serializer_class = QuoteSerializer
    pagination_class = QuotePagination
    filter_backends = [DjangoFilterBackend]
    filterset_class = QuoteFilter
    permission_classes = [ActionPermissions]
    lookup_value_regex = r"[0-9]{1,18}"
    action_permissions = {
        "submit_for_approval": {"POST": ["sales.change_quote"]},
        "approve": {"POST": [services.APPROVE]},
        "send": {"POST": ["sales.change_quote"]},
        "revise": {"POST": ["sales.add_quote", "sales.change_quote"]},
        "accept": {"POST": ["sales.add_salesorder"]},
    }
    # The services apply the rule too; here it answers 403 before If-Match/body problems.
    owner_rule_actions = frozenset(
        {"update", "partial_update", "submit_for_approval", "send", "revise", "accept"}
    )
    owner_bypass_permission = services.ANY_QUOTE

    def get_queryset(self):
        return Quote.objects.select_related("opportunity__owner").prefetch_related(
            Prefetch("lines", queryset=QuoteLine.objects.order_by("position", "id"))
        )

    def _respond(self, quote_id: int, *, code: int = status.HTTP_200_OK) -> Response:
        quote = self.get_queryset().get(pk=quote_id)
        response = Response(QuoteSerializer(quote).data, status=code)
        response["ETag"] = etag_for(quote.version)
        return response

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self._respond(self.get_object().pk)

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = _lines_payload(QuoteCreateSerializer.validated(request.data))
        quote = services.quote_create(
            actor=request.user,
            opportunity_id=data.pop("opportunity"),
            price_list_id=data.pop("price_list", None),
            **data,
        )
        response = self._respond(quote.pk, code=status.HTTP_201_CREATED)
        response["Location"] = reverse("sales-quote-detail", args=[quote.pk])
        return response

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        quote = self.get_object()
        version = expected_version(request, current=quote.version)
        data = _lines_payload(
            QuoteFieldsSerializer.validated(request.data, partial=kwargs.pop("partial", False))
        )
        services.quote_update(actor=request.user, quote_id=quote.pk, expected_version=version, **data)
        return self._respond(quote.pk)

    def _transition(self, request: Request, service: Any, body: type[StrictSerializer]) -> Response:
        quote = self.get_object()
        version = expected_version(request, current=quote.version)
        data = body.validated(request.data if request.data else {})
        result = service(actor=request.user, quote_id=quote.pk, expected_version=version, **data)
        code = status.HTTP_201_CREATED if result.pk != quote.pk else status.HTTP_200_OK
        return self._respond(result.pk, code=code)

    @_action_schema(EmptySerializer, "Ask a manager to approve discounts above the limit")
    @action(detail=True, methods=["post"], url_path="submit-for-approval")
    def submit_for_approval(self, request: Request, pk: str | None = None) -> Response:
        return self._transition(request, services.quote_submit_for_approval, EmptySerializer)

    @_action_schema(
        EmptySerializer, "Approve the discounts (a sales manager or an admin, not whoever set them)"
    )
    @action(detail=True, methods=["post"])
    def approve(self, request: Request, pk: str | None = None) -> Response:
        return self._transition(request, services.quote_approve, EmptySerializer)

    @_action_schema(QuoteSendSerializer, "Send the quote by e-mail")
    @action(detail=True, methods=["post"])
    def send(self, request: Request, pk: str | None = None) -> Response:
        return self._transition(request, services.quote_send, QuoteSendSerializer)

    @_action_schema(
        EmptySerializer, "Make a new revision of a sent quote (the old one is superseded)", code=201
    )
    @action(detail=True, methods=["post"])
    def revise(self, request: Request, pk: str | None = None) -> Response:
        return self._transition(request, services.quote_revise, EmptySerializer)

    @extend_schema(
        request=QuoteAcceptSerializer,
        responses=ACCEPT_RESPONSES,
        parameters=[IF_MATCH, ETAG],
        summary="The customer accepted: place the order and submit it to the ERP",
        description="The quote's promised delivery date is checked against live available-to-promise "
        "first: the order keeps it when the back office still can, else 409 unless "
        "accept_later_delivery is true (the order then promises the earliest date now).",
    )
    @action(detail=True, methods=["post"])
    def accept(self, request: Request, pk: str | None = None) -> Response:
        quote = self.get_object()
        version = expected_version(request, current=quote.version)
        data = QuoteAcceptSerializer.validated(request.data if request.data else {})
        order = accept_quote(actor=request.user, quote_id=quote.pk, expected_version=version, **data)
        return accept_response(order.pk)
