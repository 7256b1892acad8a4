"""REST API of the knowledge base: `service/articles/` and `service/canned-responses/`
(`?q=` searches; `POST canned-responses/{id}/insert/` puts one into a case)."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from frontoffice.schema import ETAG
from frontoffice.serializers import IdField, StrictSerializer, TextField
from frontoffice.viewsets import ServiceViewSet
from service.choices import NoteVisibility
from service.loop import knowledge
from service.loop.choices import ProblemCategory
from service.loop.filters import ArticleFilter, CannedResponseFilter
from service.loop.models import Article, CannedResponse


class ArticleSerializer(serializers.ModelSerializer[Article]):
    # Blank when the article fits no one category: a string, not the category enum.
    category = serializers.CharField(read_only=True, help_text="A case category, or empty.")

    class Meta:
        model = Article
        fields = [
            "id",
            "title",
            "body",
            "category",
            "keywords",
            "is_published",
            "version",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class ArticleInput(StrictSerializer):
    title = TextField(max_length=200)
    body = TextField(max_length=50000)
    category = serializers.ChoiceField(choices=ProblemCategory.choices, required=False)
    keywords = TextField(max_length=300, required=False, allow_blank=True)
    is_published = serializers.BooleanField(required=False)


class ArticleUpdate(ArticleInput):
    title = TextField(max_length=200, required=False)
    body = TextField(max_length=50000, required=False)


@extend_schema_view(
    retrieve=extend_schema(parameters=[ETAG]),
    create=extend_schema(request=ArticleInput, responses={201: ArticleSerializer}, parameters=[ETAG]),
)
class ArticleViewSet(ServiceViewSet[Article]):
    """Knowledge-base articles agents search (`?q=`) and quote."""

    serializer_class = ArticleSerializer
    lookup_arg = "article_id"
    create_input = ArticleInput
    update_input = ArticleUpdate
    create_service = staticmethod(knowledge.article_create)
    update_service = staticmethod(knowledge.article_update)

    filter_backends = [DjangoFilterBackend]
    filterset_class = ArticleFilter

    def get_queryset(self) -> QuerySet[Article]:
        if self.action == "list":
            return Article.objects.filter(is_published=True).order_by("title", "id")
        return Article.objects.all()


class CannedSerializer(serializers.ModelSerializer[CannedResponse]):
    category = serializers.CharField(read_only=True, help_text="A case category, or empty.")

    class Meta:
        model = CannedResponse
        fields = ["id", "title", "body", "category", "is_active", "version", "created_at"]
        read_only_fields = fields


class CannedInput(StrictSerializer):
    title = TextField(max_length=120)
    body = TextField(
        max_length=10000, help_text="Placeholders: {{ customer.first_name }}, {{ case.reference }}..."
    )
    category = serializers.ChoiceField(choices=ProblemCategory.choices, required=False)
    is_active = serializers.BooleanField(required=False)


class CannedUpdate(CannedInput):
    title = TextField(max_length=120, required=False)
    body = TextField(max_length=10000, required=False)


class InsertInput(StrictSerializer):
    case = IdField()
    visibility = serializers.ChoiceField(choices=NoteVisibility.choices, required=False)


class InsertedSerializer(serializers.Serializer[Any]):
    case = serializers.IntegerField()
    body = serializers.CharField(help_text="The text as inserted.")


@extend_schema_view(
    retrieve=extend_schema(parameters=[ETAG]),
    create=extend_schema(request=CannedInput, responses={201: CannedSerializer}, parameters=[ETAG]),
)
class CannedResponseViewSet(ServiceViewSet[CannedResponse]):
    """Canned responses agents search and insert into a case."""

    serializer_class = CannedSerializer
    lookup_arg = "canned_id"
    create_input = CannedInput
    update_input = CannedUpdate
    create_service = staticmethod(knowledge.canned_create)
    update_service = staticmethod(knowledge.canned_update)
    action_permissions = {"insert": {"POST": ["service.view_cannedresponse", "service.change_case"]}}

    filter_backends = [DjangoFilterBackend]
    filterset_class = CannedResponseFilter

    def get_queryset(self) -> QuerySet[CannedResponse]:
        if self.action == "list":
            return CannedResponse.objects.filter(is_active=True).order_by("title", "id")
        return CannedResponse.objects.all()

    @extend_schema(request=InsertInput, responses={200: InsertedSerializer}, summary="Insert into a case")
    @action(detail=True, methods=["post"])
    def insert(self, request: Request, pk: str | None = None) -> Response:
        canned = self.get_object()
        data = InsertInput.validated(request.data)
        case = knowledge.canned_insert(
            actor=request.user,
            canned_id=canned.pk,
            case_id=data["case"],
            visibility=data.get("visibility", "public"),
        )
        body = case.notes.order_by("-id").values_list("body", flat=True).first() or ""
        return Response(InsertedSerializer({"case": case.pk, "body": body}).data)
