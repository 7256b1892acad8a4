"""Who a page or API request acts as, for the services (which take an actor)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied

from frontoffice.models import User


def actor_of(request: Any) -> User:
    """The signed-in user behind `request`. The views' permission checks let nobody else
    in, so an anonymous request here is refused rather than passed on as no one."""
    user = request.user
    if not isinstance(user, User) or not user.is_authenticated:
        raise PermissionDenied("Sign in first.")
    return user
