"""Query parameters a read declares, and nothing else: `?customer=` on a list that has no
such filter would otherwise be ignored silently, and the client would take every row
for the rows it asked for.

What an operation declares is what its OpenAPI operation lists (filters, ordering,
pagination, the format suffix and `extend_schema(parameters=...)`), computed from the
same schema class that writes the document, so the check and the schema cannot
disagree. A declared name with a `<placeholder>` (`attr.<key>`) accepts any value
for the placeholder.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from typing import Any

from drf_spectacular.drainage import GENERATOR_STATS
from drf_spectacular.generators import SchemaGenerator
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request

_placeholder = re.compile(r"<[^<>]+>")
_lock = threading.Lock()


@dataclass(frozen=True)
class Declared:
    """The query parameters of one operation."""

    names: frozenset[str]  # as documented, `attr.<key>` included
    patterns: tuple[re.Pattern[str], ...]  # one per name with a placeholder

    def accepts(self, name: str) -> bool:
        return name in self.names or any(p.fullmatch(name) for p in self.patterns)


_declared: dict[tuple[type, str | None, str], Declared] = {}
# Read methods whose query string is checked; writes take their input in the body.
READ_METHODS = ("GET", "HEAD")


def declared_query_parameters(view: Any, request: Request, method: str = "GET") -> Declared:
    """The query parameters the view's current action documents (computed once per action)."""
    key = (type(view), getattr(view, "action", None), method)
    with _lock:
        if key not in _declared:
            _declared[key] = _inspect(view, request, method)
        return _declared[key]


def _inspect(view: Any, request: Request, method: str) -> Declared:
    # The view as the schema generator makes it from the URL's callback: with the
    # inspector of its action (`extend_schema` on a method or an action).
    callback = request._request.resolver_match.func  # type: ignore[union-attr]
    generator = SchemaGenerator()
    generated = generator.create_view(callback, method)
    generated.request = request
    generated.kwargs = view.kwargs
    inspector = generated.schema
    inspector.registry = generator.registry
    inspector.method = method
    inspector.path = inspector.path_regex = inspector.path_prefix = ""
    with GENERATOR_STATS.silence():  # the document's generation reports its own warnings
        parameters = inspector._get_parameters()
    names = {p["name"] for p in parameters if p["in"] == "query"}
    patterns = tuple(
        re.compile(
            "".join(".+" if _placeholder.fullmatch(part) else re.escape(part) for part in _split(name))
        )
        for name in sorted(names)
        if _placeholder.search(name)
    )
    return Declared(frozenset(names), patterns)


def _split(name: str) -> list[str]:
    return [part for part in re.split(r"(<[^<>]+>)", name) if part]


def refuse_undeclared_query_parameters(view: Any, request: Request) -> None:
    """400 naming each query parameter the operation does not declare."""
    if request.method not in READ_METHODS or not request.query_params:
        return
    declared = declared_query_parameters(view, request, "GET")
    unknown = sorted(name for name in request.query_params if not declared.accepts(name))
    if unknown:
        allowed = ", ".join(sorted(declared.names)) or "none"
        raise ValidationError(
            {name[:100]: [f"Unknown query parameter. This operation takes: {allowed}."] for name in unknown}
        )


class DeclaredQueryParameters:
    """Viewset mixin: a read with a query parameter its operation does not declare is a
    400 naming it (after authentication and permissions, like any other bad input)."""

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)  # type: ignore[misc]
        refuse_undeclared_query_parameters(self, request)
