"""Staff users for the kernel's own tests, with exactly the permissions a test names
(the kernel's tests use no app's roles or fixtures)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType

from frontoffice.models import Team, User


def permission(name: str) -> Permission:
    """The permission "app_label.codename"; a made-up codename on Team is created (a
    test-only "may edit anyone's records" right, say)."""
    app_label, codename = name.split(".")
    found = Permission.objects.filter(content_type__app_label=app_label, codename=codename).first()
    if found is not None:
        return found
    return Permission.objects.create(
        codename=codename, name=codename, content_type=ContentType.objects.get_for_model(Team)
    )


def staff(username: str, *permissions: str, team: Team | None = None, **extra: Any) -> User:
    user = User.objects.create_user(username=username, password="pw-" + username, team=team, **extra)
    user.user_permissions.set([permission(p) for p in permissions])
    # A fresh instance: Django caches permissions on the one it has asked.
    return User.objects.get(pk=user.pk)
