"""The public survey API (no login): `GET /api/v1/service/csat/{token}/` says what the
survey is about, `PUT` answers it once."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, viewsets
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response

from frontoffice.query_params import DeclaredQueryParameters
from frontoffice.serializers import StrictSerializer, TextField
from service.loop import csat, inbound
from service.loop.models import CsatSurvey


class SurveySerializer(serializers.Serializer[Any]):
    case = serializers.CharField(help_text="The case's reference.")
    subject = serializers.CharField()
    answered = serializers.BooleanField()
    score = serializers.IntegerField(allow_null=True)


class AnswerInput(StrictSerializer):
    score = serializers.IntegerField(min_value=1, max_value=5)
    comment = TextField(max_length=2000, required=False, allow_blank=True)


def _shown(survey: CsatSurvey) -> dict[str, Any]:
    return {
        "case": survey.case.reference,
        "subject": survey.case.subject,
        "answered": survey.answered_at is not None,
        "score": survey.score,
    }


class CsatSurveyViewSet(DeclaredQueryParameters, viewsets.ViewSet):
    """A customer's satisfaction survey, reached by the signed link we e-mailed."""

    permission_classes = [AllowAny]
    authentication_classes: list[Any] = []
    lookup_field = "token"
    lookup_value_regex = r"[A-Za-z0-9_:.\-]{1,400}"

    @extend_schema(responses={200: SurveySerializer}, summary="The survey a link names")
    def retrieve(self, request: Request, token: str | None = None) -> Response:
        return Response(SurveySerializer(_shown(csat.survey_read(token or ""))).data)

    @extend_schema(request=AnswerInput, responses={200: SurveySerializer}, summary="Answer the survey (once)")
    def update(self, request: Request, token: str | None = None) -> Response:
        data = AnswerInput.validated(request.data)
        survey = csat.csat_answer(token=token or "", score=data["score"], comment=data.get("comment", ""))
        return Response(SurveySerializer(_shown(survey)).data)


class InboundResultSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    case = serializers.IntegerField(source="case_id")
    customer = serializers.IntegerField(source="customer_id")
    threaded = serializers.BooleanField(help_text="Added to an existing case (else a new case).")
    message_id = serializers.CharField()


class InboundEmailViewSet(DeclaredQueryParameters, viewsets.ViewSet):
    """The mail provider's inbound hook. Authenticated by the shared secret
    SERVICE_INBOUND_EMAIL_SECRET in the `X-Inbound-Secret` header; takes Mailgun,
    Postmark, SendGrid or plain JSON fields (from, subject, text, Message-ID,
    In-Reply-To, References)."""

    permission_classes = [AllowAny]
    authentication_classes: list[Any] = []

    @extend_schema(
        request={"application/json": dict},
        responses={201: InboundResultSerializer},
        summary="Receive an e-mail",
    )
    def create(self, request: Request) -> Response:
        inbound.check_secret(request.headers.get("X-Inbound-Secret"))
        received = inbound.inbound_email_receive(data=request.data)
        return Response(InboundResultSerializer(received).data, status=201)
