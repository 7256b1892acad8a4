"""/api/v1/auth/tokens/: list, create and revoke one's own API tokens."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema, extend_schema_view
from knox.models import AuthToken
from rest_framework import mixins, permissions, serializers, status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from frontoffice import tokens
from frontoffice.actors import signed_in_user
from frontoffice.query_params import DeclaredQueryParameters


class ApiTokenSerializer(serializers.Serializer[AuthToken]):
    id = serializers.CharField(
        source="token_key", read_only=True, help_text="Identifies the token; not the token."
    )
    name = serializers.SerializerMethodField()
    created = serializers.DateTimeField(read_only=True)
    expiry = serializers.DateTimeField(read_only=True, allow_null=True, help_text="Null: never expires.")

    def get_name(self, token: AuthToken) -> str:
        info = getattr(token, "info", None)
        return info.name if info else ""


class ApiTokenCreateSerializer(serializers.Serializer[Any]):
    name = serializers.CharField(max_length=tokens.MAX_NAME, help_text="What will use it, e.g. “ERP bridge”.")
    expires_in_days = serializers.IntegerField(
        min_value=1,
        max_value=tokens.MAX_EXPIRY_DAYS,
        required=False,
        allow_null=True,
        help_text="Default: API_TOKEN_TTL_DAYS.",
    )


class ApiTokenCreatedSerializer(ApiTokenSerializer):
    token = serializers.CharField(
        read_only=True, help_text="Shown in this answer only; send it as `Token <token>`."
    )


class CreateFromSessionOnly(permissions.BasePermission):
    """A token may list and revoke its owner's tokens, but not make new ones: a leaked
    token that could mint tokens would outlive its own revocation."""

    message = "Create API tokens while logged in (the “My API tokens” page), not with a token."

    def has_permission(self, request: Request, view: Any) -> bool:
        return view.action != "create" or request.auth is None


@extend_schema_view(
    list=extend_schema(summary="Your API tokens that still work, newest first"),
    create=extend_schema(
        summary="Make an API token (from a logged-in session)",
        request=ApiTokenCreateSerializer,
        responses={201: ApiTokenCreatedSerializer},
    ),
    destroy=extend_schema(summary="Revoke one of your API tokens", responses={204: None}),
)
class ApiTokenViewSet(
    DeclaredQueryParameters,
    mixins.ListModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet[AuthToken],
):
    """One's own tokens only: anyone else's token id answers 404."""

    serializer_class = ApiTokenSerializer
    permission_classes = [permissions.IsAuthenticated, CreateFromSessionOnly]
    lookup_field = "token_key"
    lookup_url_kwarg = "id"
    lookup_value_regex = r"[A-Za-z0-9_\-]{1,32}"
    pagination_class = None  # a handful per person
    filter_backends: list[Any] = []

    def get_queryset(self) -> Any:
        return tokens.token_list(actor=signed_in_user(self.request.user))

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        given = ApiTokenCreateSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        instance, token = tokens.token_create(actor=signed_in_user(request.user), **given.validated_data)
        instance.token = token
        return Response(ApiTokenCreatedSerializer(instance).data, status=status.HTTP_201_CREATED)

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        tokens.token_revoke(actor=signed_in_user(request.user), token_id=kwargs["id"])
        return Response(status=status.HTTP_204_NO_CONTENT)
