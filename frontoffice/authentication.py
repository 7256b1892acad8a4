"""API authentication: knox tokens, hardened against malformed headers."""

from __future__ import annotations

import re
from typing import Any

from knox.auth import TokenAuthentication as KnoxTokenAuthentication
from rest_framework import exceptions

_token_shape = re.compile(r"[A-Za-z0-9_\-]{1,256}")


class TokenAuthentication(KnoxTokenAuthentication):
    """knox tokens (`Authorization: Token <token>`, stored as a digest only).

    knox decodes the header as UTF-8 and queries with it; a header carrying Latin-1
    bytes or a NUL would crash that (a 500, and on PostgreSQL a refused query), so
    anything that cannot be one of our tokens is refused first with a 401.
    """

    def authenticate_credentials(self, token: bytes) -> Any:
        try:
            text = token.decode("ascii")
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed("Invalid token.") from None
        if not _token_shape.fullmatch(text):
            raise exceptions.AuthenticationFailed("Invalid token.")
        return super().authenticate_credentials(token)
