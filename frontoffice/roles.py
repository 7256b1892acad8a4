"""The roles (Django groups) and the model permissions each one holds.

Apps add their own grants in a data migration through `grant()`, so that a role's
rights live next to the models they are about.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from django.contrib.auth.management import create_permissions


class Role:
    MARKETING = "Marketing"
    SALES = "Sales"
    SERVICE_AGENT = "Service agent"
    SERVICE_SUPERVISOR = "Service supervisor"
    BACK_OFFICE = "Back office"
    ADMIN = "Admin"

    ALL = (MARKETING, SALES, SERVICE_AGENT, SERVICE_SUPERVISOR, BACK_OFFICE, ADMIN)
    FRONT_OFFICE = (MARKETING, SALES, SERVICE_AGENT, SERVICE_SUPERVISOR, ADMIN)


def grant(apps, grants: Mapping[str, Iterable[str]]) -> None:
    """Give each role (group name) the listed permissions, "app_label.codename".

    Used from data migrations with the historical `apps`; permissions are created
    first because Django creates them only after all migrations ran.
    """
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, verbosity=0, apps=apps)
        app_config.models_module = None
    group_model = apps.get_model("auth", "Group")
    permission_model = apps.get_model("auth", "Permission")
    for role, permissions in grants.items():
        group, _ = group_model.objects.get_or_create(name=role)
        for dotted in permissions:
            app_label, codename = dotted.split(".", 1)
            group.permissions.add(
                permission_model.objects.get(content_type__app_label=app_label, codename=codename)
            )


def revoke(apps, grants: Mapping[str, Iterable[str]]) -> None:
    group_model = apps.get_model("auth", "Group")
    permission_model = apps.get_model("auth", "Permission")
    for role, permissions in grants.items():
        group = group_model.objects.filter(name=role).first()
        if group is None:
            continue
        for dotted in permissions:
            app_label, codename = dotted.split(".", 1)
            group.permissions.remove(
                *permission_model.objects.filter(content_type__app_label=app_label, codename=codename)
            )


def user_roles(user) -> set[str]:
    if not user.is_authenticated:
        return set()
    if user.is_superuser:
        return set(Role.ALL)
    cached = getattr(user, "_role_names", None)
    if cached is None:
        cached = set(user.groups.values_list("name", flat=True))
        user._role_names = cached
    return cached
