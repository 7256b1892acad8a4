"""Domain errors and the one place that turns every error into a problem response.

Responses follow RFC 9457 in spirit: `{"type", "title", "status", "detail", "errors"}`
where `errors` maps a field name (or `non_field_errors`) to a list of messages.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler


class DomainError(Exception):
    """A business rule said no. Subclasses set `code` and `status_code`."""

    code = "domain_error"
    status_code = status.HTTP_400_BAD_REQUEST
    title = "The request breaks a business rule."

    def __init__(self, detail: str | None = None, *, errors: dict[str, list[str]] | None = None):
        self.detail = detail or self.title
        self.errors = errors or {}
        super().__init__(self.detail)


class Conflict(DomainError):
    code = "conflict"
    status_code = status.HTTP_409_CONFLICT
    title = "The request conflicts with the current state."


class StaleVersion(DomainError):
    code = "stale_version"
    status_code = status.HTTP_412_PRECONDITION_FAILED
    title = "The record was changed by someone else."

    def __init__(self, *, current: int) -> None:
        self.current = current
        super().__init__(f"The record is at version {current}; reload it and apply your change again.")


class PreconditionRequired(DomainError):
    code = "precondition_required"
    status_code = 428
    title = "This update needs an If-Match header."


def django_validation_errors(exc: DjangoValidationError) -> dict[str, list[str]]:
    if hasattr(exc, "error_dict"):
        return {
            ("non_field_errors" if field == "__all__" else field): [str(m) for m in messages]
            for field, messages in exc.message_dict.items()
        }
    return {"non_field_errors": [str(m) for m in exc.messages]}


def _flatten(detail: Any) -> dict[str, Any]:
    if isinstance(detail, dict):
        return {key: value for key, value in detail.items()}
    if isinstance(detail, list):
        return {"non_field_errors": detail}
    return {}


def problem(status_code: int, title: str, detail: str, code: str, errors: dict | None = None) -> Response:
    body = {
        "type": f"https://frontoffice.invalid/problems/{code}",
        "title": title,
        "status": status_code,
        "detail": detail,
        "errors": errors or {},
    }
    response = Response(body, status=status_code)
    response["Content-Type"] = "application/problem+json"
    return response


def api_exception_handler(exc: Exception, context: dict) -> Response | None:
    if isinstance(exc, DomainError):
        return problem(exc.status_code, exc.title, exc.detail, exc.code, exc.errors)
    if isinstance(exc, DjangoValidationError):
        return problem(
            400, "Invalid input.", "Some fields are invalid.", "invalid", django_validation_errors(exc)
        )
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    response = exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        result = problem(400, "Invalid input.", "Some fields are invalid.", "invalid", _flatten(exc.detail))
    else:
        detail = exc.detail if isinstance(exc, exceptions.APIException) else str(exc)
        code = getattr(exc, "default_code", "error")
        result = problem(response.status_code, str(detail), str(detail), code)
    for header in ("WWW-Authenticate", "Retry-After", "Allow"):
        if header in response:
            result[header] = response[header]
    return result
