"""Who may do what: model permissions from roles, and the record-ownership rule."""

from __future__ import annotations

import re
from typing import Any, TypeVar

from django.db.models import Model, Q, QuerySet
from rest_framework import permissions

M = TypeVar("M", bound=Model)
# How Django names a permission: "app_label.codename".
PERMISSION_PATTERN = r"^[a-z_][a-z0-9_]*\.[a-z_][a-z0-9_]*$"
PERMISSION_NAME = re.compile(PERMISSION_PATTERN)


class ModelPermissions(permissions.DjangoModelPermissions):
    """Django model permissions, with reads requiring the `view_` permission."""

    perms_map = {
        "GET": ["%(app_label)s.view_%(model_name)s"],
        "OPTIONS": ["%(app_label)s.view_%(model_name)s"],
        "HEAD": ["%(app_label)s.view_%(model_name)s"],
        "POST": ["%(app_label)s.add_%(model_name)s"],
        "PUT": ["%(app_label)s.change_%(model_name)s"],
        "PATCH": ["%(app_label)s.change_%(model_name)s"],
        "DELETE": ["%(app_label)s.delete_%(model_name)s"],
    }


def owns_or_team(user: Any, owner: Any) -> bool:
    """True when `owner` is the user, or a member of the user's team."""
    if owner is None:
        return False
    if owner.pk == user.pk:
        return True
    return user.team_id is not None and owner.team_id == user.team_id


def can_edit_owned(user: Any, obj: Any, *, any_permission: str) -> bool:
    """The object rule: holders of `any_permission` edit every record; others only
    the records they own or their team owns."""
    if user.is_superuser or user.has_perm(any_permission):
        return True
    return owns_or_team(user, getattr(obj, "owner", None))


class OwnedObjectPermission(permissions.BasePermission):
    """Unsafe methods on an owned object follow `can_edit_owned`.

    The view names the bypass permission in `owner_bypass_permission`.
    """

    def has_object_permission(self, request: Any, view: Any, obj: Any) -> bool:
        if request.method in permissions.SAFE_METHODS:
            return True
        return can_edit_owned(request.user, obj, any_permission=view.owner_bypass_permission)


class HasPermission(permissions.BasePermission):
    """The user holds the view's `required_permission` (401 when anonymous, else 403)."""

    def has_permission(self, request: Any, view: Any) -> bool:
        user = request.user
        return bool(user and user.is_authenticated and user.has_perm(view.required_permission))


def readable_grant(user: Any) -> frozenset[str] | None:
    """The permissions whose rows `user` may read by `readable_by` (beside those that
    need none), or None for every row."""
    if getattr(user, "is_active", False) and getattr(user, "is_superuser", False):
        return None
    if getattr(user, "is_system", False):
        granted: frozenset[str] | None = getattr(user, "permissions", None)
        return None if granted is None else frozenset(granted)
    return frozenset(user.get_all_permissions()) if user is not None else frozenset()


def readable_by(user: Any, rows: QuerySet[M], *, field: str = "view_permission") -> QuerySet[M]:
    """`rows` less those whose `field` names a permission `user` lacks ("" for none
    needed): a row that carries the permission needed to read it (a message about an
    invoice) is filtered in SQL, so lists, counts and pages agree. As `has_perm` decides:
    an active superuser or an unrestricted system actor reads everything, an inactive
    user nothing that needs a permission."""
    granted = readable_grant(user)
    if granted is None:
        return rows
    return rows.filter(Q(**{field: ""}) | Q(**{f"{field}__in": sorted(granted)}))
