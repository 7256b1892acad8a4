"""Writes a client may safely retry: the `Idempotency-Key` header of API POSTs and the
one-time token of page forms.

A client whose connection dropped after its POST was applied cannot tell whether it was;
it retries with the same key and gets the first answer (status, body, ETag, Location)
instead of a second record or a 412. The key is the client's (per user); the same key
with another method, path or body is a mistake: 422. Keys are kept
IDEMPOTENCY_KEY_TTL_HOURS (a periodic task purges older ones).

How duplicates stay out, even concurrent ones: the key's row is inserted in the write's
own transaction, before the write, and updated with the answer before commit. A second
request with the same key blocks on the unique index until the first commits (it then
finds the stored answer and replays it) or rolls back (it then does the write itself).
So a stored row always carries its answer, and a failed write (400, 409, 412) leaves no
key behind: the client may correct and retry.

Pages: `ServiceForm.submit(..., once_for=user)` runs the write under the form's hidden
one-time token; a double click's second post finds the record the first one wrote and
shows the same success.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections.abc import Callable
from typing import Any, TypeVar

from django.apps import apps
from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, models, transaction
from django.http import QueryDict
from django.utils import timezone
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from frontoffice.errors import Conflict, DomainError
from frontoffice.models import IdempotencyKey

T = TypeVar("T")

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
# Visible ASCII, as Stripe and the IETF draft allow (a UUID is typical).
KEY_PATTERN = re.compile(r"[\x21-\x7e]{1,200}")
KEPT_HEADERS = ("ETag", "Location")
FORM_PREFIX = "form:"


class IdempotencyKeyReused(DomainError):
    code = "idempotency_key_reused"
    status_code = 422
    title = "Idempotency-Key already used for another request"


class AlreadySubmitted(Conflict):
    code = "already_submitted"
    title = "This form was already sent"


def ttl() -> dt.timedelta:
    return dt.timedelta(hours=settings.IDEMPOTENCY_KEY_TTL_HOURS)


def fingerprint(method: str, path: str, body: Any) -> str:
    if isinstance(body, QueryDict):
        body = {key: body.getlist(key) for key in sorted(body)}
    text = json.dumps([method.upper(), path, body], sort_keys=True, cls=DjangoJSONEncoder, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def claim(*, user: Any, key: str, fingerprint: str) -> IdempotencyKey | None:
    """Inside the write's transaction: insert the key (None: go ahead and write), or the
    row of the request that used it first (after waiting for its transaction to end)."""
    now = timezone.now()
    IdempotencyKey.objects.filter(user=user, key=key, expires_at__lte=now).delete()
    try:
        with transaction.atomic():
            IdempotencyKey.objects.create(user=user, key=key, fingerprint=fingerprint, expires_at=now + ttl())
    except IntegrityError:
        return IdempotencyKey.objects.get(user=user, key=key)
    return None


def _plain(data: Any) -> Any:
    return json.loads(json.dumps(data, cls=DjangoJSONEncoder))


def idempotent_response(request: Request, run: Callable[[], Response]) -> Response:
    """`run()` once per (user, Idempotency-Key); without the header, just `run()`.

    Replays the stored answer for the same method, path and body; 422 for another. Only
    a success (2xx) is kept: a refused request leaves nothing, and its retry runs again."""
    key = request.headers.get(HEADER)
    if key is None:
        return run()
    if not KEY_PATTERN.fullmatch(key):
        raise ValidationError({HEADER: ["Expected 1 to 200 visible ASCII characters, e.g. a UUID."]})
    mark = fingerprint(request.method or "POST", request.path, request.data)
    user: Any = request.user  # signed in: the view's permissions ran first
    with transaction.atomic():
        stored = claim(user=user, key=key, fingerprint=mark)
        if stored is not None:
            if stored.fingerprint != mark:
                raise IdempotencyKeyReused(
                    f"This {HEADER} was used for another request (method, path or body differ); "
                    "use a new key for a new request."
                )
            replay = Response(stored.body, status=stored.status_code, headers=stored.headers)
            replay[REPLAYED_HEADER] = "true"
            return replay
        response = run()
        row = IdempotencyKey.objects.get(user=user, key=key)
        if not 200 <= response.status_code < 300:
            row.delete()
            return response
        row.status_code = response.status_code
        row.body = _plain(response.data)
        row.headers = {name: response[name] for name in KEPT_HEADERS if name in response}
        row.save(update_fields=["status_code", "body", "headers", "updated_at"])
    return response


def once(*, user: Any, token: str, call: Callable[[], T]) -> T:
    """A page's write, once per one-time form token: a second post of the same form
    returns the record the first one wrote (the caller shows the same success)."""
    if not token:
        return call()
    key = FORM_PREFIX + token
    with transaction.atomic():
        stored = claim(user=user, key=key, fingerprint="form")
        if stored is not None:
            found: T = _stored_result(stored)
            return found
        result = call()
        if isinstance(result, models.Model):
            IdempotencyKey.objects.filter(user=user, key=key).update(
                result_type=result._meta.label, result_id=str(result.pk), status_code=200
            )
        return result


def _stored_result(stored: IdempotencyKey) -> Any:
    if not stored.result_type:
        raise AlreadySubmitted("This form was already sent; reload the page to see the result.")
    model = apps.get_model(stored.result_type)
    found = model._default_manager.filter(pk=stored.result_id).first()
    if found is None:
        raise AlreadySubmitted("This form was already sent; what it created no longer exists.")
    return found


def purge_expired() -> int:
    """Delete keys past their time (one DELETE over the expiry index)."""
    deleted, _ = IdempotencyKey.objects.filter(expires_at__lte=timezone.now()).delete()
    return deleted
