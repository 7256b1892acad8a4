"""GET /api/v1/search/?q=: the global search box's answer for API clients.

Every app's number lookups (orders, quotes, cases by their number, each with its
customer) and search providers (customers by name, e-mail or phone), as far as the
caller's roles reach: a group per lookup and provider the caller may use, empty when
nothing matches.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import permissions, serializers, viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from frontoffice import plugin
from frontoffice import search as global_search
from frontoffice.query_params import DeclaredQueryParameters
from frontoffice.schema import OneObjectSchema
from frontoffice.serializers import StrictSerializer


class SearchQuerySerializer(StrictSerializer):
    q = serializers.CharField(
        min_length=global_search.MIN_LENGTH,
        max_length=global_search.MAX_LENGTH,
        help_text="What was typed: a name, a phone fragment in any format, an e-mail address from "
        'its start ("ada.l@ex") or a domain after "@" ("@example"), or a record\'s number '
        '("SO-000123", "C-0001": every record whose number starts with it).',
    )


class SearchCustomerSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    name = serializers.CharField()


class SearchHitSerializer(serializers.Serializer[Any]):
    title = serializers.CharField()
    url = serializers.CharField(help_text="The record's page.")
    detail = serializers.CharField()
    number = serializers.CharField(allow_null=True, help_text="The record's number; null for a customer.")
    customer = SearchCustomerSerializer(
        allow_null=True, help_text="The customer the record belongs to (null for a customer itself)."
    )


class SearchGroupSerializer(serializers.Serializer[Any]):
    key = serializers.CharField(help_text='"customers", "orders", "quotes", "cases"...: one per app lookup.')
    title = serializers.CharField()
    by_number = serializers.BooleanField(help_text="Records found by their number.")
    hits = SearchHitSerializer(many=True)


class SearchResultSerializer(serializers.Serializer[Any]):
    q = serializers.CharField()
    limit = serializers.IntegerField(help_text="At most this many hits per group.")
    groups = SearchGroupSerializer(many=True)


def _hit(hit: plugin.SearchHit | plugin.NumberHit) -> dict[str, Any]:
    if isinstance(hit, plugin.NumberHit):
        customer = {"id": hit.customer_id, "name": hit.customer_name} if hit.customer_id else None
        return {
            "title": hit.title,
            "url": hit.url,
            "detail": hit.detail,
            "number": hit.number,
            "customer": customer,
        }
    return {"title": hit.title, "url": hit.url, "detail": hit.detail, "number": None, "customer": None}


class SearchesSomething(permissions.BasePermission):
    """Signed in (401 otherwise) and allowed at least one search (403 otherwise)."""

    message = "Your role searches nothing."

    def has_permission(self, request: Any, view: Any) -> bool:
        user = request.user
        if not (user and user.is_authenticated):
            return False
        return global_search.searches_anything(user)


class SearchViewSet(DeclaredQueryParameters, viewsets.ViewSet):
    schema = OneObjectSchema()
    permission_classes = [SearchesSomething]

    @extend_schema(
        operation_id="search",
        summary="Search as you type: customers, and records by their number",
        parameters=[SearchQuerySerializer],
        responses={200: SearchResultSerializer},
        tags=["search"],
    )
    def list(self, request: Request) -> Response:
        query = SearchQuerySerializer.validated(request.query_params.dict())
        groups = global_search.search_everything(q=query["q"], user=request.user)
        return Response(
            SearchResultSerializer(
                {
                    "q": query["q"],
                    "limit": global_search.LIMIT,
                    "groups": [
                        {
                            "key": group.key,
                            "title": group.title,
                            "by_number": group.by_number,
                            "hits": [_hit(hit) for hit in group.hits],
                        }
                        for group in groups
                    ],
                }
            ).data
        )
