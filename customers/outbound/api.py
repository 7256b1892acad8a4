"""REST API of the outbound room: message templates (with a preview for a real
customer) and the message log (sending through `send_to_customer`, bounces)."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from customers.outbound import delivery, selectors, services
from customers.outbound.choices import MessageCategory, OutboundChannel
from customers.outbound.filters import MessageTemplateFilter, OutboundMessageFilter
from customers.outbound.models import DeliveryEvent, MessageTemplate, OutboundMessage
from frontoffice.filters import StableOrderingFilter
from frontoffice.schema import ETAG, Variant, variants_of
from frontoffice.serializers import IdField, KeyField, StrictSerializer, TextField
from frontoffice.viewsets import ServiceViewSet, service_action


class MessageTemplateSerializer(serializers.ModelSerializer[MessageTemplate]):
    class Meta:
        model = MessageTemplate
        fields = [
            "id",
            "key",
            "name",
            "category",
            "subject",
            "body",
            "is_active",
            "view_permission",
            "version",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class MessageTemplateCreateSerializer(StrictSerializer):
    key = KeyField(max_length=80, help_text='How apps name it: "order-shipped".')
    name = TextField(max_length=120)
    category = serializers.ChoiceField(choices=MessageCategory.choices, required=False)
    subject = TextField(
        max_length=200, help_text="Placeholders: {{ customer.first_name }}, {{ order.reference }}."
    )
    body = TextField(max_length=20000)
    is_active = serializers.BooleanField(required=False)


class MessageTemplateUpdateSerializer(MessageTemplateCreateSerializer):
    key = KeyField(max_length=80, required=False)
    name = TextField(max_length=120, required=False)
    subject = TextField(max_length=200, required=False)
    body = TextField(max_length=20000, required=False)


class TemplatePreviewInput(StrictSerializer):
    customer = IdField(help_text="The real customer to render the template for.")
    # The field is named as clients send it; DRF's metaclass pops declared fields off the
    # class, so `self.context` stays the serializer's own context.
    context = serializers.DictField(required=False, help_text="Values of the other placeholders.")  # type: ignore[assignment]


class TemplatePreviewSerializer(serializers.Serializer[Any]):
    customer = serializers.IntegerField()
    subject = serializers.CharField()
    body = serializers.CharField()
    missing = serializers.ListField(child=serializers.CharField(), help_text="Placeholders without a value.")
    problems = serializers.ListField(child=serializers.CharField())


@extend_schema_view(
    retrieve=extend_schema(parameters=[ETAG]),
    create=extend_schema(
        request=MessageTemplateCreateSerializer, responses={201: MessageTemplateSerializer}, parameters=[ETAG]
    ),
)
class MessageTemplateViewSet(ServiceViewSet[MessageTemplate]):
    """Templates of the messages we send customers."""

    serializer_class = MessageTemplateSerializer
    filter_backends = [DjangoFilterBackend, StableOrderingFilter]
    filterset_class = MessageTemplateFilter
    ordering_fields = ("name", "created_at")
    lookup_arg = "template_id"
    create_input = MessageTemplateCreateSerializer
    update_input = MessageTemplateUpdateSerializer
    create_service = staticmethod(services.message_template_create)
    update_service = staticmethod(services.message_template_update)
    action_permissions = {"preview": {"POST": ["customers.view_messagetemplate"]}}

    def get_queryset(self) -> QuerySet[MessageTemplate]:
        return MessageTemplate.objects.all()

    @extend_schema(
        request=TemplatePreviewInput,
        responses={200: TemplatePreviewSerializer},
        summary="Preview for a customer",
    )
    @action(detail=True, methods=["post"])
    def preview(self, request: Request, pk: str | None = None) -> Response:
        """The template as a real customer would read it (writes nothing)."""
        template = self.get_object()
        data = TemplatePreviewInput.validated(request.data)
        result = services.preview(customer=data["customer"], template=template, context=data.get("context"))
        return Response(TemplatePreviewSerializer(result).data)


class DeliveryEventSerializer(serializers.ModelSerializer[DeliveryEvent]):
    class Meta:
        model = DeliveryEvent
        fields = ["status", "detail", "occurred_at"]
        read_only_fields = fields


class OutboundMessageSerializer(serializers.ModelSerializer[OutboundMessage]):
    customer_name = serializers.CharField(source="customer.display_name", read_only=True)
    template_key = serializers.CharField(source="template.key", read_only=True, allow_null=True, default=None)
    deliveries = DeliveryEventSerializer(
        many=True, read_only=True, help_text="The delivery log, oldest first."
    )

    class Meta:
        model = OutboundMessage
        fields = [
            "id",
            "customer",
            "customer_name",
            "template",
            "template_key",
            "dedupe_key",
            "category",
            "channel",
            "recipient",
            "subject",
            "body",
            "headers",
            "message_id",
            "status",
            "status_reason",
            "tracked_only",
            "attempts",
            "sent_at",
            "view_permission",
            "created_at",
            "deliveries",
        ]
        read_only_fields = fields


class SendInput(StrictSerializer):
    customer = IdField()
    dedupe_key = TextField(max_length=200, help_text="Sending twice with one key sends once.")
    template = TextField(max_length=80, required=False, help_text="A template's key or id.")
    subject = TextField(max_length=200, required=False)
    body = TextField(max_length=20000, required=False)
    channel = serializers.ChoiceField(
        choices=OutboundChannel.choices,
        required=False,
        help_text="Default: the customer's preferred channel.",
    )
    context = serializers.DictField(required=False, help_text="Placeholder values.")  # type: ignore[assignment]  # see TemplatePreviewInput
    category = serializers.ChoiceField(choices=MessageCategory.choices, required=False)
    headers = serializers.DictField(child=TextField(max_length=2000), required=False)


# A message is a template's, or a subject and a body of its own.
SEND_INPUT = variants_of(
    SendInput,
    name="SendInput",
    variants={
        "template": Variant(required=("template",), excluded=("subject", "body")),
        "written": Variant(required=("subject", "body"), excluded=("template",)),
    },
)


class MessageBounceInput(StrictSerializer):
    reason = TextField(max_length=300, required=False, allow_blank=True)


@extend_schema_view(
    create=extend_schema(request=SEND_INPUT, responses={201: OutboundMessageSerializer}),
)
class OutboundMessageViewSet(ServiceViewSet[OutboundMessage]):
    """Every message sent (or not, and why) to customers, with its delivery log. POST
    sends one: at most once per (dedupe_key, customer)."""

    serializer_class = OutboundMessageSerializer
    filter_backends = [DjangoFilterBackend, StableOrderingFilter]
    filterset_class = OutboundMessageFilter
    ordering_fields = ("created_at",)
    lookup_arg = "message_id"
    versioned = False
    create_input = SendInput
    create_service = staticmethod(services.send_to_customer)
    bounce = service_action(delivery.outbound_bounce, input=MessageBounceInput, summary="Record a bounce")
    action_permissions = {"bounce": {"POST": ["customers.change_outboundmessage"]}}

    def get_queryset(self) -> QuerySet[OutboundMessage]:
        return selectors.message_base(reader=self.request.user)
