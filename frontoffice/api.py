"""Shared API plumbing: pagination and optimistic concurrency (ETag / If-Match)."""

from __future__ import annotations

from typing import Any

from rest_framework import pagination
from rest_framework.request import Request
from rest_framework.response import Response

from frontoffice.errors import PreconditionRequired, StaleVersion


class CursorPagination(pagination.CursorPagination):
    page_size = 50
    max_page_size = 200
    page_size_query_param = "page_size"
    ordering = ("-created_at", "-id")


def etag_for(version: int) -> str:
    return f'"{int(version)}"'


def expected_version(request: Request, *, current: int) -> int:
    """The version the client last read, from `If-Match`.

    Missing header: 428. A value that is not one of ours, or an old one: 412.
    """
    header = request.headers.get("If-Match")
    if not header:
        raise PreconditionRequired(
            "Send If-Match with the ETag you read, so that nobody's change is overwritten."
        )
    candidates = [tag.strip().removeprefix("W/").strip('"') for tag in header.split(",")]
    if "*" in candidates:
        return current
    for candidate in candidates:
        if candidate.isdigit() and len(candidate) < 12 and int(candidate) == current:
            return current
    raise StaleVersion(current=current)


class VersionedMixin:
    """For viewsets over models with a `version`: ETag on reads, If-Match on writes."""

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        instance = self.get_object()
        response = Response(self.get_serializer(instance).data)
        response["ETag"] = etag_for(instance.version)
        return response
