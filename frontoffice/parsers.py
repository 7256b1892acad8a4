"""Request body parsing for the API: JSON only, and never a 500 for a bad body.

Kept apart from frontoffice.api: DRF imports its default parser and authentication
classes while `rest_framework.views` is still loading, so these modules import no
view or schema machinery.
"""

from __future__ import annotations

import codecs
from typing import Any

from django.conf import settings
from rest_framework import exceptions, parsers, status
from rest_framework.utils import json


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request body is too large."
    default_code = "payload_too_large"


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser, with every failure mode a 400 (or 413), never a 500.

    DRF catches only `ValueError`: a deeply nested body raises `RecursionError`, and a
    charset naming a non-text codec (`rot13`) raises `LookupError`/`TypeError`. The body
    size is bounded by DATA_UPLOAD_MAX_MEMORY_SIZE, which Django applies to forms but
    not to a parser reading the stream.
    """

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        parser_context = parser_context or {}
        encoding = parser_context.get("encoding", settings.DEFAULT_CHARSET)
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        raw = stream.read(limit + 1) if limit is not None else stream.read()
        if limit is not None and len(raw) > limit:
            raise PayloadTooLarge()
        try:
            if not codecs.lookup(encoding)._is_text_encoding:
                raise exceptions.ParseError(f"Unsupported charset {encoding[:40]!r}.")
            text = raw.decode(encoding)
            parse_constant = json.strict_constant if self.strict else None
            return json.loads(text, parse_constant=parse_constant)
        except (ValueError, LookupError, TypeError) as exc:
            raise exceptions.ParseError(f"JSON parse error - {str(exc)[:200]}") from None
        except RecursionError:
            raise exceptions.ParseError("JSON parse error - the document is nested too deeply.") from None
