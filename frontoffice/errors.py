"""Domain errors and the one place that turns every error into a problem response.

Responses follow RFC 9457 in spirit: `{"type", "title", "status", "detail", "errors"}`
where `errors` maps a field name (or `non_field_errors`) to a list of messages. Nested
fields are flattened to dotted paths (`contact_points.0.value`), the same keys the
services use, so a client finds one shape whatever layer refused the input.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views import defaults
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler

PROBLEM_CONTENT_TYPE = "application/problem+json"
# Error messages may echo the input ("'xxx…' is not a valid choice"): keep them short,
# so that a megabyte of bad input does not come back as a megabyte of error.
MAX_MESSAGE = 300
MAX_KEY = 120
MAX_ERRORS = 100


class DomainError(Exception):
    """A business rule said no. Subclasses set `code` and `status_code`."""

    code = "domain_error"
    status_code: int = status.HTTP_400_BAD_REQUEST
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


class MovedPermanently(exceptions.APIException):
    """The resource lives at `location` now (a merged customer's survivor).

    Safe methods get 301. Unsafe ones get 308, which tells a client to repeat the same
    method and body at the new address: after a 301, common clients turn a POST into a
    GET and would report the survivor's 200 as if the write had happened.
    """

    status_code: int = status.HTTP_301_MOVED_PERMANENTLY
    default_detail = "This resource moved; see Location."
    default_code = "moved_permanently"

    def __init__(self, location: str, *, detail: str | None = None, method: str = "GET") -> None:
        self.location = location
        if method.upper() not in ("GET", "HEAD", "OPTIONS"):
            self.status_code = status.HTTP_308_PERMANENT_REDIRECT
        super().__init__(detail)


def django_validation_errors(exc: DjangoValidationError) -> dict[str, list[str]]:
    if hasattr(exc, "error_dict"):
        return {
            ("non_field_errors" if field == "__all__" else field): [str(m) for m in messages]
            for field, messages in exc.message_dict.items()
        }
    return {"non_field_errors": [str(m) for m in exc.messages]}


def _safe_text(value: Any, limit: int) -> str:
    """Printable, encodable text: a lone surrogate from the input (valid in JSON,
    invalid in UTF-8) would otherwise crash the renderer and turn a 400 into a 500."""
    text = str(value)
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return text.encode("utf-8", "backslashreplace").decode("utf-8").replace("\x00", "\\x00")


def _flatten(detail: Any, prefix: str = "") -> dict[str, list[str]]:
    """DRF's nested error detail -> {"dotted.path": [messages]}."""
    out: dict[str, list[str]] = {}

    def walk(node: Any, path: str) -> None:
        if len(out) >= MAX_ERRORS:
            return
        if isinstance(node, dict):
            for key, value in node.items():
                walk(value, f"{path}.{key}" if path else str(key))
        elif isinstance(node, list) and node and all(not isinstance(i, dict | list) for i in node):
            out.setdefault(path or "non_field_errors", []).extend(str(m) for m in node)
        elif isinstance(node, list):
            # A list of per-item errors (many=True, ListField): `{}` marks a valid item.
            for index, value in enumerate(node):
                if value:
                    walk(value, f"{path}.{index}" if path else str(index))
        elif node is not None:
            out.setdefault(path or "non_field_errors", []).append(str(node))

    walk(detail, prefix)
    return out


def _sanitise_errors(errors: dict[str, Any]) -> dict[str, list[str]]:
    clean: dict[str, list[str]] = {}
    for key, messages in list(errors.items())[:MAX_ERRORS]:
        if not isinstance(messages, list | tuple):
            messages = [messages]
        clean[_safe_text(key, MAX_KEY)] = [_safe_text(m, MAX_MESSAGE) for m in messages[:10]]
    return clean


def _wants_problem_json(context: dict[str, Any]) -> bool:
    request = context.get("request")
    renderer = getattr(request, "accepted_renderer", None)
    # Before content negotiation ran, or for JSON clients: problem JSON. The browsable
    # API renders HTML and must keep its own content type.
    return renderer is None or getattr(renderer, "format", "json") == "json"


def problem_body(
    status_code: int, title: str, detail: str, code: str, errors: dict[str, Any] | None = None
) -> dict[str, Any]:
    return {
        "type": f"https://frontoffice.invalid/problems/{code}",
        "title": _safe_text(title, MAX_MESSAGE),
        "status": status_code,
        "detail": _safe_text(detail, MAX_MESSAGE),
        "errors": _sanitise_errors(errors or {}),
    }


def problem(
    status_code: int,
    title: str,
    detail: str,
    code: str,
    errors: dict[str, Any] | None = None,
    *,
    content_type: str | None = PROBLEM_CONTENT_TYPE,
) -> Response:
    body = problem_body(status_code, title, detail, code, errors)
    return Response(body, status=status_code, content_type=content_type)


# --- errors Django answers before (or outside) any API view ---------------------------
# A Host header this server does not answer to, a request Django refuses to parse, a
# permission refused or a crash in a middleware: Django's own pages, which an API client
# would get as HTML. Under /api/ they answer problem JSON like every other API error.


def _api_or_page(
    status_code: int, title: str, detail: str, code: str, page: Callable[..., HttpResponse]
) -> Callable[..., HttpResponse]:
    def handler(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        # The path only: the Host header may be the very thing refused (get_host raises).
        if request.path_info.startswith("/api/"):
            body = problem_body(status_code, title, detail, code)
            return JsonResponse(body, status=status_code, content_type=PROBLEM_CONTENT_TYPE)
        return page(request, *args, **kwargs)

    return handler


bad_request = _api_or_page(
    400,
    "Bad request.",
    "The request could not be served as sent (for example, its Host header names no site of this server).",
    "bad_request",
    defaults.bad_request,
)
permission_denied = _api_or_page(
    403, "Forbidden.", "You may not do this.", "permission_denied", defaults.permission_denied
)
page_not_found = _api_or_page(404, "Not found.", "No such resource.", "not_found", defaults.page_not_found)
server_error = _api_or_page(
    500,
    "Server error.",
    "The server failed to answer; the error is logged.",
    "server_error",
    defaults.server_error,
)


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    content_type = PROBLEM_CONTENT_TYPE if _wants_problem_json(context) else None
    if isinstance(exc, DomainError):
        return problem(
            exc.status_code, exc.title, exc.detail, exc.code, exc.errors, content_type=content_type
        )
    if isinstance(exc, DjangoValidationError):
        return problem(
            400,
            "Invalid input.",
            "Some fields are invalid.",
            "invalid",
            django_validation_errors(exc),
            content_type=content_type,
        )
    if isinstance(exc, RequestDataTooBig):
        return problem(
            413,
            "The request body is too large.",
            str(exc),
            "payload_too_large",
            content_type=content_type,
        )
    if isinstance(exc, Http404):
        exc = exceptions.NotFound(*exc.args)
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied(*exc.args)
    response = exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        result = problem(
            400,
            "Invalid input.",
            "Some fields are invalid.",
            "invalid",
            _flatten(exc.detail),
            content_type=content_type,
        )
    else:
        detail = exc.detail if isinstance(exc, exceptions.APIException) else str(exc)
        if isinstance(detail, dict | list):
            errors, detail = _flatten(detail), "The request was refused."
        else:
            errors = {}
        code = getattr(exc, "default_code", "error")
        result = problem(
            response.status_code, str(detail), str(detail), code, errors, content_type=content_type
        )
    for header in ("WWW-Authenticate", "Retry-After", "Allow"):
        if header in response:
            result[header] = response[header]
    location = getattr(exc, "location", None)
    if location:
        result["Location"] = location
    return result
