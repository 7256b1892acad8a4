"""The ERP's webhook: one signed event per request, stored in the inbox and applied.

Signed per Standard Webhooks (`webhook-id`, `webhook-timestamp`, `webhook-signature`,
HMAC-SHA256 with ERP_WEBHOOK_SECRET), verified by the `standardwebhooks` library, which
also refuses a timestamp more than five minutes away. The signature is the only
authentication: no session or token, hence no CSRF either.

    401  missing or bad signature, stale timestamp: nothing stored, nothing applied
    400  authentic but malformed (not JSON, not an ErpEvent, id != webhook-id):
         kept in the inbox as rejected, with the error, nothing applied
    200  stored (or recognised as a redelivery) and applied, stale or rejected;
         the body says which
"""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, permissions, serializers, viewsets
from rest_framework.request import Request
from rest_framework.response import Response
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from backoffice_sync.erp import ErpEvent, EventType
from backoffice_sync.inbox import event_problem, inbox_apply_or_defer, inbox_receive, inbox_reject
from backoffice_sync.models import InboxStatus, InboxVia
from frontoffice.query_params import DeclaredQueryParameters

SIGNATURE_HEADERS = ("webhook-id", "webhook-timestamp", "webhook-signature")


class ErpEventSerializer(serializers.Serializer):
    """The body: one event, as `ErpEvent.as_json()` writes it (documentation only: the
    view reads the raw body, because the signature covers its exact bytes)."""

    id = serializers.CharField(
        max_length=200, help_text="Unique and stable across redeliveries; equals webhook-id."
    )
    type = serializers.ChoiceField(choices=[(t.value, t.value) for t in EventType])
    aggregate = serializers.CharField(max_length=200, help_text='e.g. "order:FO-12", "stock:SKU-1:MAIN".')
    version = serializers.IntegerField(min_value=0, help_text="Grows per aggregate.")
    occurred_at = serializers.DateTimeField(help_text="With a time zone.")

    def get_fields(self) -> dict[str, serializers.Field]:
        # `data` is also the serializer's own attribute (its output): add the field here.
        fields = super().get_fields()
        fields["data"] = serializers.DictField(
            help_text="Depends on the type: backoffice_sync.contracts.EVENT_DATA."
        )
        return fields


class WebhookReceiptSerializer(serializers.Serializer):
    id = serializers.CharField(help_text="The event id.")
    status = serializers.ChoiceField(choices=InboxStatus.choices)
    duplicate = serializers.BooleanField(help_text="The event had been received before: nothing done again.")
    error = serializers.CharField(allow_blank=True, help_text="Why the event was rejected or is stale.")


def _header(name: str, description: str) -> OpenApiParameter:
    return OpenApiParameter(
        name, OpenApiTypes.STR, OpenApiParameter.HEADER, required=True, description=description
    )


class _NotConstant(ValueError):
    pass


def _refuse_constant(name: str) -> Any:
    raise _NotConstant(f"{name} is not valid JSON")


def _read_event(body: bytes, message_id: str) -> ErpEvent:
    """The event in an authentic body; ValueError, TypeError or KeyError if malformed."""
    try:
        raw = json.loads(body.decode("utf-8"), parse_constant=_refuse_constant)
    except RecursionError:
        raise ValueError("The body is nested too deeply.") from None
    if not isinstance(raw, dict):
        raise TypeError("The body must be a JSON object.")
    try:
        event = ErpEvent.from_json(raw)
    except KeyError as exc:
        raise KeyError(f"Missing field {exc.args[0]!r}.") from None
    if event.id != message_id:
        raise ValueError("The event id differs from the webhook-id header.")
    problem = event_problem(event)
    if problem:
        raise ValueError(f"The event cannot be stored: {problem}.")
    return event


class ErpWebhookViewSet(DeclaredQueryParameters, viewsets.ViewSet):
    """POST /api/v1/erp/webhook/: the ERP tells us what happened."""

    authentication_classes: list[Any] = []
    permission_classes = [permissions.AllowAny]
    # Signed by the ERP, and bursts are normal (a backlog drains after an outage): the
    # anonymous rate limit would turn them into retries, and the signature already keeps
    # strangers out.
    throttle_classes: list[Any] = []

    def get_authenticate_header(self, request: Request) -> str:
        # Without one, DRF would turn the 401 into a 403.
        return 'Webhook-Signature realm="erp"'

    @extend_schema(
        operation_id="erp_webhook_receive",
        summary="Receive one ERP event (Standard Webhooks signature)",
        description=(
            "Signed with the shared ERP_WEBHOOK_SECRET per the Standard Webhooks scheme. "
            "A redelivery (same id) is acknowledged and not applied again. An authentic "
            "but malformed body is kept as rejected for inspection and answered with 400."
        ),
        request=ErpEventSerializer,
        responses={200: WebhookReceiptSerializer},
        parameters=[
            _header("webhook-id", "The message id: the event id."),
            _header("webhook-timestamp", "Seconds since the epoch; refused when more than 5 minutes off."),
            _header("webhook-signature", 'Space-separated "v1,<base64 HMAC-SHA256>" signatures.'),
        ],
        auth=[],
        tags=["erp"],
    )
    def create(self, request: Request) -> Response:
        body: bytes = request.body
        headers = {name: request.headers[name] for name in SIGNATURE_HEADERS if name in request.headers}
        try:
            Webhook(settings.ERP_WEBHOOK_SECRET).verify(body, headers, json_parse=False)
        except (WebhookVerificationError, ValueError) as exc:
            # ValueError: a signature without "v1,", bad base64, a body that is not UTF-8.
            raise exceptions.AuthenticationFailed(
                "The webhook signature is missing or invalid, or its timestamp is too old or too new."
            ) from exc
        message_id = headers["webhook-id"]
        try:
            event = _read_event(body, message_id)
        except (ValueError, TypeError, KeyError) as exc:
            error = exc.args[0] if isinstance(exc, KeyError) else str(exc)
            inbox_reject(
                external_id=message_id,
                via=InboxVia.WEBHOOK,
                error=f"Malformed message: {error}",
                raw_body=body.decode("utf-8", "replace"),
            )
            raise exceptions.ValidationError({"body": [f"Not a valid ERP event: {error}"]}) from None
        row, created = inbox_receive(event=event, via=InboxVia.WEBHOOK)
        if row.status == InboxStatus.RECEIVED:
            row = inbox_apply_or_defer(inbox_event_id=row.pk) or row
        return Response(
            {"id": row.external_id, "status": row.status, "duplicate": not created, "error": row.error},
            status=200,
        )
