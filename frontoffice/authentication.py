"""API authentication: knox tokens, hardened against malformed headers and guessing."""

from __future__ import annotations

import binascii
import re
from hmac import compare_digest
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone
from knox.auth import TokenAuthentication as KnoxTokenAuthentication
from knox.crypto import hash_token
from knox.models import get_token_model
from knox.settings import CONSTANTS, knox_settings
from knox.signals import token_expired
from rest_framework import exceptions
from rest_framework.authentication import get_authorization_header

from frontoffice.auth_backends import PERMISSIONS_ANNOTATION, remember_permissions, with_permission_names
from frontoffice.prepared import prepared_rows
from frontoffice.throttling import AuthFailureThrottle

_token_shape = re.compile(r"[A-Za-z0-9_\-]{1,256}")


def _tokens_by_key(token_key: str) -> QuerySet[Any]:
    return with_permission_names(
        get_token_model().objects.filter(token_key=token_key).select_related("user").defer("user__password"),
        "user_id",
    )


class TokenAuthentication(KnoxTokenAuthentication):
    """knox tokens (`Authorization: Token <token>`, stored as a digest only).

    knox decodes the header as UTF-8 and queries with it; a header carrying Latin-1
    bytes or a NUL would crash that (a 500, and on PostgreSQL a refused query), so
    anything that cannot be one of our tokens is refused first with a 401.

    A client whose tokens keep failing is answered 429 with `Retry-After` once it has
    used up `API_THROTTLE_AUTH_FAILURES`, before its next token is even looked up.
    """

    def authenticate(self, request: Any) -> Any:
        if not get_authorization_header(request):
            return None  # a session or an anonymous request: nothing to guess
        throttle = AuthFailureThrottle()
        throttle.check_not_blocked(request)
        try:
            return super().authenticate(request)
        except exceptions.AuthenticationFailed:
            throttle.record_failure(request)
            raise

    def authenticate_credentials(self, token: bytes) -> Any:
        try:
            text = token.decode("ascii")
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed("Invalid token.") from None
        if not _token_shape.fullmatch(text):
            raise exceptions.AuthenticationFailed("Invalid token.")
        # knox's lookup, with the user's permissions read in the same statement (so that
        # the request's permission checks cost no query) and without the password hash;
        # the same statement on every request but for the key: compiled once per process.
        candidates = prepared_rows(_tokens_by_key, _tokens_by_key, text[: CONSTANTS.TOKEN_KEY_LENGTH])
        for auth_token in candidates:
            if self._cleanup_token(auth_token):
                continue
            try:
                digest = hash_token(text)
            except (TypeError, binascii.Error):
                raise exceptions.AuthenticationFailed("Invalid token.") from None
            if compare_digest(digest, auth_token.digest):
                if knox_settings.AUTO_REFRESH and auth_token.expiry:
                    self.renew_token(auth_token)
                remember_permissions(auth_token.user, getattr(auth_token, PERMISSIONS_ANNOTATION))
                return self.validate_user(auth_token)
        raise exceptions.AuthenticationFailed("Invalid token.")

    def _cleanup_token(self, auth_token: Any) -> bool:
        """This token expired: deleted and refused (True). knox also reads every other
        token of the user on each request to delete the expired ones (a query per API
        call); `frontoffice.tasks.purge_expired_api_tokens` does that hourly instead."""
        if auth_token.expiry is None or auth_token.expiry >= timezone.now():
            return False
        auth_token.delete()
        token_expired.send(
            sender=self.__class__, username=auth_token.user.get_username(), source="auth_token"
        )
        return True
