"""The v1 router: every app's API routes, from its hooks."""

from __future__ import annotations

from typing import Any, NoReturn

from django.urls import URLPattern, URLResolver, re_path
from rest_framework import exceptions, permissions
from rest_framework.request import Request
from rest_framework.routers import DefaultRouter
from rest_framework.views import APIView

from frontoffice import plugin


class NotFoundView(APIView):
    """Any /api/v1/ path no viewset matched: a problem+json 404 like every other API
    error, instead of the HTML 404 page meant for people."""

    permission_classes = [permissions.AllowAny]
    authentication_classes: list[Any] = []
    schema = None  # not an endpoint

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> NoReturn:
        super().initial(request, *args, **kwargs)  # negotiates the error's format
        raise exceptions.NotFound()


class Router(DefaultRouter):
    def get_urls(self) -> list[URLPattern | URLResolver]:
        return [*super().get_urls(), re_path(r"^[\s\S]*$", NotFoundView.as_view(), name="api-not-found")]


router = Router()
for route in plugin.api_routes():
    router.register(route.prefix, route.viewset, basename=route.basename)
