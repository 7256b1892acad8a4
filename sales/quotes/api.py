"""REST API for quotes: drafts and their lines, approval, sending (the e-mail follows,
see `email_status`), revisions, and accepting (which places the order). Thin over
`sales.quotes` services and selectors; input serializers check types and shape, the
services own every rule about the values."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field, extend_schema_view
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from backoffice_sync.atp import SOURCES
from frontoffice.api import CursorPagination, expected_version
from frontoffice.errors import PROBLEM_CONTENT_TYPE
from frontoffice.schema import ETAG, IF_MATCH
from frontoffice.serializers import DateField, IdField, ProblemSerializer, StrictSerializer, TextField
from frontoffice.viewsets import action_body, service_action
from sales.orders.api import PRECONDITIONS as ORDER_PRECONDITIONS
from sales.orders.api import SalesOrderDetailSerializer, accept_response
from sales.orders.services import quote_accept
from sales.quotes import selectors, services
from sales.quotes.filters import QuoteFilter
from sales.quotes.models import Quote, QuoteEmailStatus, QuoteLine
from sales.quotes.selectors_atp import quote_delivery
from sales.request_actor import actor_of
from sales.viewsets import SalesViewSet

# --- quotes ------------------------------------------------------------------------------


class QuoteLineSerializer(serializers.ModelSerializer[QuoteLine]):
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


class QuoteSerializer(serializers.ModelSerializer[Quote]):
    lines = serializers.SerializerMethodField()
    customer = serializers.IntegerField(source="opportunity.customer_id", read_only=True)
    sent_to = serializers.CharField(read_only=True, help_text="Empty until sent.")
    email_status = serializers.ChoiceField(
        choices=QuoteEmailStatus.choices,
        read_only=True,
        help_text="The sent quote's e-mail: queued (sending marks the quote sent at once; a "
        "worker e-mails it right after), sending, sent (the mail server accepted it), failed "
        "(see email_error: revise the quote to send it again); empty when no e-mail was asked for.",
    )
    email_sent_at = serializers.DateTimeField(
        read_only=True, allow_null=True, help_text="When the mail server accepted the e-mail."
    )
    email_error = serializers.CharField(read_only=True, help_text="Why the last attempt failed.")

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
            "email_status",
            "email_sent_at",
            "email_error",
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


class LineDeliverySerializer(serializers.Serializer[Any]):
    position = serializers.IntegerField()
    sku = serializers.CharField()
    quantity = serializers.IntegerField()
    available_on = serializers.DateField(
        allow_null=True, help_text="The earliest date the back office can deliver this line by (live)."
    )
    supply = serializers.ChoiceField(
        choices=SOURCES,
        allow_null=True,
        help_text="Where the goods come from: stock now, an incoming delivery, or the supplier's lead time.",
    )
    meets_request = serializers.BooleanField(
        allow_null=True, help_text="By the requested date; null when none was requested."
    )


class QuoteDeliverySerializer(serializers.Serializer[Any]):
    promised_on = serializers.DateField(
        allow_null=True,
        help_text="The date sending the quote now would promise (the latest line date); "
        "null without lines or when the back office cannot promise.",
    )
    requested_on = serializers.DateField(allow_null=True)
    meets_request = serializers.BooleanField(
        allow_null=True, help_text="Whether promised_on is by requested_on; null when either is missing."
    )
    error = serializers.CharField(help_text="Why the back office could not promise (empty when it could).")
    lines = LineDeliverySerializer(many=True)


class QuoteDetailSerializer(QuoteSerializer):
    """One quote, with the live available-to-promise of its lines (as the quote page shows)."""

    delivery = serializers.SerializerMethodField()

    class Meta(QuoteSerializer.Meta):
        fields = [*QuoteSerializer.Meta.fields, "delivery"]
        read_only_fields = fields

    @extend_schema_field(QuoteDeliverySerializer)
    def get_delivery(self, quote: Quote) -> dict[str, Any]:
        delivery = quote_delivery(quote=quote, lines=list(quote.lines.all()))
        return {
            "promised_on": delivery.promised_on,
            "requested_on": delivery.requested_on,
            "meets_request": delivery.meets_request,
            "error": delivery.error,
            "lines": [
                {
                    "position": row.line.position,
                    "sku": row.line.product_id,
                    "quantity": row.line.quantity,
                    "available_on": row.promise.earliest_on if row.promise else None,
                    "supply": row.promise.source if row.promise else None,
                    "meets_request": row.promise.meets_request if row.promise else None,
                }
                for row in delivery.lines
            ],
        }


class QuoteLineInputSerializer(StrictSerializer):
    sku = TextField()
    quantity = serializers.IntegerField(help_text="Whole units, 1 to 1,000,000.")
    discount_percent = serializers.DecimalField(
        max_digits=None, decimal_places=None, required=False, help_text="0 to 100; default 0."
    )


class QuoteFieldsSerializer(StrictSerializer):
    tax_rate = serializers.DecimalField(
        max_digits=None, decimal_places=None, required=False, help_text="Percent, 0 to 100."
    )
    valid_until = DateField(required=False, help_text="Today or later.")
    requested_delivery_on = DateField(required=False, allow_null=True)
    accept_later_delivery = serializers.BooleanField(required=False)
    notes = TextField(required=False, allow_blank=True, help_text="At most 5000 characters.")
    lines = QuoteLineInputSerializer(
        many=True, required=False, help_text="At most 500; they replace the lines."
    )


class QuoteCreateSerializer(QuoteFieldsSerializer):
    opportunity = IdField()
    price_list = IdField(required=False)
    valid_until = DateField(help_text="Today or later.")


class QuoteSendSerializer(StrictSerializer):
    to = serializers.EmailField(required=False, max_length=254)
    accept_later_delivery = serializers.BooleanField(required=False)


class QuoteAcceptSerializer(StrictSerializer):
    accept_later_delivery = serializers.BooleanField(
        required=False,
        default=False,
        help_text="The customer accepts the back office's earliest date when it is later than the "
        "quote's promised date (the order then promises that date). Without it, such an accept "
        "is refused: 409 delivery_date_not_met.",
    )
    accepted_delivery_on = DateField(
        required=False,
        allow_null=True,
        default=None,
        help_text="The later date the customer was told and accepts: when the earliest date has "
        "slipped beyond it since, 409 again rather than a promise they did not agree to.",
    )


ACCEPT_RESPONSES: dict[Any, Any] = {
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


class QuotePagination(CursorPagination):
    ordering = ("-created_at", "-id")


@extend_schema_view(
    retrieve=extend_schema(responses=QuoteDetailSerializer, parameters=[ETAG]),
    create=extend_schema(
        request=QuoteCreateSerializer, responses={201: QuoteDetailSerializer}, parameters=[ETAG]
    ),
    update=extend_schema(
        request=QuoteFieldsSerializer, responses=QuoteDetailSerializer, parameters=[IF_MATCH, ETAG]
    ),
    partial_update=extend_schema(
        request=QuoteFieldsSerializer, responses=QuoteDetailSerializer, parameters=[IF_MATCH, ETAG]
    ),
)
class QuoteViewSet(SalesViewSet):
    """Quotes of opportunities: priced lines, totals with tax, approval, sending, revisions."""

    serializer_class = QuoteSerializer
    # One quote answers with its lines' live ATP (a few queries); the list does not.
    detail_serializer_class = QuoteDetailSerializer
    pagination_class = QuotePagination
    filter_backends = [DjangoFilterBackend]
    filterset_class = QuoteFilter
    action_permissions = {
        "submit_for_approval": {"POST": [services.CHANGE_QUOTE]},
        "approve": {"POST": [services.APPROVE]},
        "send": {"POST": [services.CHANGE_QUOTE]},
        "revise": {"POST": ["sales.add_quote", services.CHANGE_QUOTE]},
        "accept": {"POST": ["sales.add_salesorder"]},
    }
    # The services apply the rule too; here it answers 403 before If-Match/body problems.
    owner_rule_actions = frozenset(
        {"update", "partial_update", "submit_for_approval", "send", "revise", "accept"}
    )
    owner_bypass_permission = services.ANY_QUOTE
    lookup_arg = "quote_id"
    create_input = QuoteCreateSerializer
    update_input = QuoteFieldsSerializer
    create_service = staticmethod(services.quote_create)
    update_service = staticmethod(services.quote_update)

    submit_for_approval = service_action(
        services.quote_submit_for_approval,
        if_match="required",
        url_path="submit-for-approval",
        summary="Ask a manager to approve discounts above the limit",
    )
    approve = service_action(
        services.quote_approve,
        if_match="required",
        summary="Approve the discounts (a sales manager or an admin, not whoever set them)",
    )
    send = service_action(
        services.quote_send,
        input=QuoteSendSerializer,
        if_match="required",
        summary="Send the quote: marked sent now, e-mailed right after (see email_status)",
    )
    revise = service_action(
        services.quote_revise,
        if_match="required",
        created=True,
        summary="Make a new revision of a sent quote (the old one is superseded)",
    )

    def get_queryset(self) -> QuerySet[Quote]:
        return selectors.quote_api_queryset()

    def service_arguments(self, data: dict[str, Any]) -> dict[str, Any]:
        if self.action == "create":
            data["opportunity_id"] = data.pop("opportunity")
            data["price_list_id"] = data.pop("price_list", None)
        return data

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
        data = QuoteAcceptSerializer.validated(action_body(request))
        order = quote_accept(actor=actor_of(request), quote_id=quote.pk, expected_version=version, **data)
        return accept_response(order.pk)
