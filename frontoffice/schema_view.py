"""The views serving the OpenAPI document and its two docs pages (frontoffice.schema builds
the document's parts; drf-spectacular imports that module while it loads its views, so
these cannot live there)."""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from pathlib import Path
from typing import Any, ClassVar

from csp.constants import SELF, UNSAFE_INLINE
from csp.decorators import csp_replace
from django.conf import settings
from django.contrib.staticfiles import finders
from django.http import HttpResponse
from django.utils.cache import get_conditional_response
from django.utils.decorators import method_decorator
from drf_spectacular.utils import extend_schema
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerSplitView
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request

from frontoffice import plugin

logger = logging.getLogger(__name__)


class SchemaView(SpectacularAPIView):
    """/api/schema/: the OpenAPI document, built once per process and then served from
    memory with an ETag (a client that sends it back gets 304).

    Building it takes seconds of CPU (about 260 KB); built per request, a few anonymous
    clients slowed every other request down. With `API_SCHEMA_FILE` (the image sets it,
    and writes the file at build time with `manage.py spectacular`) it is read from that
    file instead, so it is built once per deploy.

    The lock is also what stops the 500s of the first concurrent requests after a start:
    drf-spectacular resolves each extension's `target_class` lazily, on first use, by
    rebinding a class attribute from an import string to the class, or to None when the
    import fails (`OpenApiGeneratorExtension._load_class`). A second thread that saw the
    string before the first rebound it then calls `None.startswith` (AttributeError).
    Generating under one lock means no two threads ever run that first use together.

    Anonymous clients may read it (integrators read it before they have a token; it holds
    no data), within the anonymous rate limit. `?lang=` is ignored: the schema is English
    only, and a cached copy per language would be memory an anonymous client could fill.
    """

    _lock = threading.Lock()
    _document: ClassVar[dict[str, Any] | None] = None
    _rendered: ClassVar[dict[type, tuple[bytes, str]]] = {}
    _built_for: ClassVar[int] = 0

    @extend_schema(exclude=True)  # not an endpoint of the API it describes
    def get(self, request: Request, *args: Any, **kwargs: Any) -> HttpResponse:
        renderer = request.accepted_renderer
        body, etag = self._render(request, renderer)
        media_type = renderer.media_type
        response = HttpResponse(
            body, content_type=f"{media_type}; charset={renderer.charset}" if renderer.charset else media_type
        )
        response["ETag"] = etag
        response["Cache-Control"] = "public, no-cache"  # keep it, but ask whether it changed
        response["Content-Disposition"] = f'inline; filename="{self._get_filename(request, None)}"'
        conditional = get_conditional_response(request._request, etag=etag, response=response)
        return conditional if conditional is not None else response

    def handle_exception(self, exc: Exception) -> Any:
        # A refusal (429 past the anonymous rate) is a problem+json answer, not a YAML one.
        self.request.accepted_renderer = JSONRenderer()
        self.request.accepted_media_type = JSONRenderer.media_type
        return super().handle_exception(exc)

    def _render(self, request: Request, renderer: Any) -> tuple[bytes, str]:
        if SchemaView._built_for != plugin.generation():  # the apps' hooks changed (tests)
            SchemaView.forget()
        cached = self._rendered.get(type(renderer))
        if cached is not None:
            return cached
        with self._lock:
            cached = self._rendered.get(type(renderer))
            if cached is None:
                if SchemaView._document is None:
                    SchemaView._document = self._load_or_generate(request)
                    SchemaView._built_for = plugin.generation()
                body = renderer.render(SchemaView._document, renderer_context=self.get_renderer_context())
                etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
                cached = self._rendered[type(renderer)] = (body, etag)
        return cached

    def _load_or_generate(self, request: Request) -> dict[str, Any]:
        if settings.API_SCHEMA_FILE:
            try:
                document: dict[str, Any] = json.loads(Path(settings.API_SCHEMA_FILE).read_text())
                return document
            except (OSError, ValueError) as exc:
                logger.warning("API_SCHEMA_FILE unreadable (%s); generating the schema instead.", exc)
        generator = self.generator_class(urlconf=self.urlconf, api_version=None, patterns=self.patterns)
        generated: dict[str, Any] = generator.get_schema(request=request, public=self.serve_public)
        return generated

    @classmethod
    def forget(cls) -> None:
        """Drop the cached document (tests that change what it is built from)."""
        with cls._lock:
            cls._document = None
            cls._rendered.clear()


class SwaggerView(SpectacularSwaggerSplitView):
    """/api/docs/: Swagger UI, whose start-up script comes from its own URL (`?script`)
    rather than inline, so the page keeps the strict Content-Security-Policy."""


@method_decorator(csp_replace({"style-src": [SELF, UNSAFE_INLINE]}), name="dispatch")
class RedocView(SpectacularRedocView):
    """/api/redoc/: ReDoc, the one page whose policy allows inline style.

    ReDoc styles itself with styled-components, which writes <style> elements from
    script and takes its nonce from a webpack variable the bundle never lets us set:
    under `style-src 'self'` the browser refuses them and ReDoc stops with an error.
    Script stays `'self'` only; the page shows our own API description, no user data.

    Its script is served from `?script`: the sidecar's bundle with one change. ReDoc
    shows a logo fetched from its vendor's CDN in its sidebar (no option turns it off);
    offline that is a broken image, online a request to a third party, and either way a
    policy violation. Without its address, ReDoc drops the image (its onError).
    """

    BUNDLE = "drf_spectacular_sidecar/redoc/bundles/redoc.standalone.js"
    CDN_LOGO = b"https://cdn.redoc.ly/redoc/logo-mini.svg"
    _script: ClassVar[tuple[bytes, str] | None] = None

    @extend_schema(exclude=True)
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Any:
        if request.GET.get("script") is None:
            return super().get(request, *args, **kwargs)
        body, etag = self._bundle()
        response = HttpResponse(body, content_type="application/javascript; charset=utf-8")
        response["ETag"] = etag
        response["Cache-Control"] = "public, no-cache"
        return get_conditional_response(request._request, etag=etag, response=response)

    def _redoc_standalone(self) -> str:  # type: ignore[override]  # drf-spectacular calls it on self
        return self.request.path + "?script"

    @classmethod
    def _bundle(cls) -> tuple[bytes, str]:
        if cls._script is None:
            found = finders.find(cls.BUNDLE)
            if not isinstance(found, str):
                raise FileNotFoundError(cls.BUNDLE)
            body = Path(found).read_bytes().replace(cls.CDN_LOGO, b"")
            cls._script = (body, '"' + hashlib.sha256(body).hexdigest()[:32] + '"')
        return cls._script
