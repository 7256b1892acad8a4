"""The roles (Django groups) and the model permissions each one holds.

Roles are defined in code: each app declares what its models grant to which role (the
`roles` of its `hooks.py`, the grants themselves in `<app>/roles.py`), and `sync_roles()`
makes the groups match after every `migrate` and every flush (it is a `post_migrate`
receiver, like Django's own permission creation). A role's rights thus live next to the
models they are about, and a deployment cannot drift from the code.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Any

from django.apps import apps as global_apps
from django.contrib.auth.management import create_permissions
from django.db import DEFAULT_DB_ALIAS

from frontoffice.actors import Actor, user_of


class Role:
    MARKETING = "Marketing"
    SALES = "Sales"
    # Everything a rep does, on every team's records, plus approving discounts above
    # the limits; pipelines, price lists and discount limits stay with Admin.
    SALES_MANAGER = "Sales manager"
    SERVICE_AGENT = "Service agent"
    SERVICE_SUPERVISOR = "Service supervisor"
    BACK_OFFICE = "Back office"
    ADMIN = "Admin"

    ALL = (MARKETING, SALES, SALES_MANAGER, SERVICE_AGENT, SERVICE_SUPERVISOR, BACK_OFFICE, ADMIN)
    FRONT_OFFICE = (MARKETING, SALES, SALES_MANAGER, SERVICE_AGENT, SERVICE_SUPERVISOR, ADMIN)


# The project's own models: staff accounts and teams are managed by admins.
GRANTS = {
    Role.ADMIN: [
        "frontoffice.view_user",
        "frontoffice.add_user",
        "frontoffice.change_user",
        "frontoffice.view_team",
        "frontoffice.add_team",
        "frontoffice.change_team",
    ],
}


def merge_grants(*declarations: Mapping[str, Iterable[str]]) -> dict[str, frozenset[str]]:
    """{role: permissions} from several apps' declarations; an unknown role is an error."""
    merged: dict[str, set[str]] = defaultdict(set)
    for grants in declarations:
        for role, permissions in grants.items():
            if role not in Role.ALL:
                raise ValueError(f"Unknown role {role!r}; the roles are {', '.join(Role.ALL)}.")
            merged[role].update(permissions)
    return {role: frozenset(merged.get(role, ())) for role in Role.ALL}


def declared_grants() -> dict[str, frozenset[str]]:
    """Every installed app's grants (the `roles` of its hooks)."""
    from frontoffice import plugin

    return merge_grants(*(loaded.hooks.roles for loaded in plugin.load()))


def sync_roles(*, using: str = DEFAULT_DB_ALIAS, **_: Any) -> None:
    """Create every role's group and give it exactly the declared permissions.

    Idempotent. Raises when a declared permission does not exist, so that a typo fails
    the migration rather than silently withholding a right.
    """
    from django.contrib.auth.models import Group, Permission

    for app_config in global_apps.get_app_configs():
        create_permissions(app_config, verbosity=0, using=using, apps=global_apps)
    wanted = declared_grants()
    by_name = {
        f"{app_label}.{codename}": pk
        for pk, app_label, codename in Permission.objects.using(using).values_list(
            "pk", "content_type__app_label", "codename"
        )
    }
    missing = sorted({p for perms in wanted.values() for p in perms} - by_name.keys())
    if missing:
        raise LookupError(f"Roles grant permissions that do not exist: {', '.join(missing)}")
    for role, permissions in wanted.items():
        group, _created = Group.objects.using(using).get_or_create(name=role)
        group.permissions.set([by_name[p] for p in permissions])


def user_roles(user: Actor) -> set[str]:
    """The roles `user` holds: every one for a superuser, none for an anonymous
    visitor or a system actor (which has permissions, not roles)."""
    staff = user_of(user)
    if staff is None:
        return set()
    if staff.is_superuser:
        return set(Role.ALL)
    cached: set[str] | None = getattr(staff, "_role_names", None)
    if cached is None:
        cached = set(staff.groups.values_list("name", flat=True))
        # Cached on this instance, i.e. for one request: a role change shows on the next.
        staff._role_names = cached  # type: ignore[attr-defined]
    return cached
