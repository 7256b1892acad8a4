"""API tokens of one's own: made with a name and an expiry, listed, revoked.

knox stores a token as a digest, with its owner and expiry; the token itself is shown
once, when it is made. Everyone manages only their own tokens: every function here
takes the actor and touches nothing of anyone else's.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils import timezone
from knox.models import AuthToken
from knox.settings import knox_settings

from frontoffice.models import ApiTokenInfo

if TYPE_CHECKING:
    from frontoffice.models import User

MAX_EXPIRY_DAYS = 3650
MAX_NAME = 100


def default_expiry_days() -> int:
    return int(knox_settings.TOKEN_TTL.days)


@transaction.atomic
def token_create(*, actor: User, name: str, expires_in_days: int | None = None) -> tuple[AuthToken, str]:
    """A new token for `actor`, expiring after `expires_in_days` (default API_TOKEN_TTL_DAYS).

    Returns the stored row and the token, which exists nowhere else: show it once.
    """
    name = " ".join((name or "").split())
    errors: dict[str, list[str]] = {}
    if not name:
        errors["name"] = ["Name the token after what will use it, e.g. “ERP bridge”."]
    elif len(name) > MAX_NAME:
        errors["name"] = [f"Use at most {MAX_NAME} characters."]
    if expires_in_days is not None and not 1 <= expires_in_days <= MAX_EXPIRY_DAYS:
        errors["expires_in_days"] = [f"Choose between 1 and {MAX_EXPIRY_DAYS} days."]
    if errors:
        raise ValidationError(errors)
    days = expires_in_days or default_expiry_days()
    instance, token = AuthToken.objects.create(user=actor, expiry=dt.timedelta(days=days))
    ApiTokenInfo.objects.create(token=instance, name=name)
    return instance, token


@transaction.atomic
def token_revoke(*, actor: User, token_id: str) -> None:
    """Delete one of `actor`'s tokens; anyone else's is "not found", as if it did not exist."""
    deleted, _ = AuthToken.objects.filter(user=actor, token_key=token_id).delete()
    if not deleted:
        raise Http404("No such token of yours.")


def token_list(*, actor: User) -> QuerySet[AuthToken]:
    """`actor`'s tokens that still work, newest first (expired ones are gone at next use)."""
    alive: QuerySet[AuthToken] = (
        AuthToken.objects.filter(user=actor)
        .filter(Q(expiry__isnull=True) | Q(expiry__gt=timezone.now()))
        .select_related("info")
        .order_by("-created")
    )
    return alive
