"""The model permission backend: a request's user and its permissions in one query.

Django's `ModelBackend` loads a session's user in one query, then reads the user's own
permissions and their groups' in two more on the first permission check of the
request (every API call and page checks one). Here `get_user` loads the user with
the names of its permissions (own and groups') in the same statement, and
`with_permission_names` lets the API's token lookup do the same, so that permission
checks cost no query. The rest (authentication, superusers, inactive users) is Django's.
"""

from __future__ import annotations

from functools import cache
from typing import Any, TypeVar

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Group, Permission
from django.core.exceptions import ValidationError
from django.db.models import Aggregate, Model, OuterRef, Q, QuerySet, Subquery, TextField, Value
from django.db.models.functions import Concat

from frontoffice.prepared import prepared_rows

M = TypeVar("M", bound=Model)

PERMISSIONS_ANNOTATION = "_permission_names"
_SEPARATOR = " "  # never in an app label or a codename


class _JoinedText(Aggregate):
    """The texts of a group of rows joined by a space (STRING_AGG, or SQLite's GROUP_CONCAT)."""

    function = "STRING_AGG"
    template = f"%(function)s(%(expressions)s, '{_SEPARATOR}')"
    output_field = TextField()

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return self.as_sql(compiler, connection, function="GROUP_CONCAT", **extra)


def permission_names(user_id: Any) -> Subquery:
    """One value: the user's permissions (own and groups') as "app.codename" joined by
    spaces, or NULL when there are none. `user_id` is an id or an OuterRef."""
    own = get_user_model().user_permissions.through.objects.filter(user_id=user_id).values("permission_id")
    grouped = Group.permissions.through.objects.filter(group__user=user_id).values("permission_id")
    names = (
        Permission.objects.filter(Q(pk__in=own) | Q(pk__in=grouped))
        .order_by()
        .annotate(one=Value(1))  # a constant: no GROUP BY, so one row for all of them
        .values("one")
        .annotate(names=_JoinedText(Concat("content_type__app_label", Value("."), "codename")))
        .values("names")
    )
    return Subquery(names, output_field=TextField())


@cache
def _outer_permission_names(user_field: str) -> Subquery:
    """`permission_names` of the outer row's `user_field`, built once per process: the
    same expression on every request (annotating resolves a copy of it, never it)."""
    return permission_names(OuterRef(OuterRef(user_field)))


def with_permission_names(queryset: QuerySet[M], user_field: str = "pk") -> QuerySet[M]:
    """`queryset` with its user's permission names read in the same statement (for
    `remember_permissions`); `user_field` is the row's user id ("pk" for users)."""
    annotated: QuerySet[M] = queryset.annotate(
        **{PERMISSIONS_ANNOTATION: _outer_permission_names(user_field)}
    )
    return annotated


def remember_permissions(user: Any, names: str | None) -> None:
    """Caches `names` (read by `with_permission_names`) as the user's permissions, as
    `get_all_permissions` would have; a superuser's stay Django's (every permission)."""
    if user is not None and not user.is_superuser:
        user._perm_cache = {
            *(name for name in (names or "").split(_SEPARATOR) if name),
        }


def _user_with_permissions(user_id: int) -> QuerySet[Any]:
    """The user (by the session's id) with its permission names: what `get(pk=)` reads."""
    return with_permission_names(get_user_model()._default_manager.filter(pk=user_id))[:2]


class OneQueryModelBackend(ModelBackend):
    def get_user(self, user_id: Any) -> Any:
        try:
            user_id = get_user_model()._meta.pk.to_python(user_id)
        except ValidationError:
            return None
        # The same statement on every request but for the id: compiled once per process.
        found = prepared_rows(_user_with_permissions, _user_with_permissions, user_id)
        if not found:
            return None
        user = found[0]
        remember_permissions(user, getattr(user, PERMISSIONS_ANNOTATION))
        return user if self.user_can_authenticate(user) else None

    def get_all_permissions(self, user_obj: Any, obj: Any = None) -> set[str]:
        if not user_obj.is_active or user_obj.is_anonymous or obj is not None:
            return set()
        if not hasattr(user_obj, "_perm_cache"):
            permissions = Permission.objects.all()
            if not user_obj.is_superuser:
                permissions = permissions.filter(Q(user=user_obj) | Q(group__user=user_obj))
            user_obj._perm_cache = {
                f"{app_label}.{codename}"
                for app_label, codename in permissions.values_list(
                    "content_type__app_label", "codename"
                ).distinct()
            }
        cached: set[str] = user_obj._perm_cache
        return cached
