"""Roles are declared in code and the groups follow on every migrate and flush."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import AnonymousUser, Group, Permission

from frontoffice import roles
from frontoffice.actors import ERP_SYNC
from frontoffice.roles import Role
from frontoffice.tests.staff import staff


def group_permissions(name: str) -> set[str]:
    return {
        f"{app_label}.{codename}"
        for app_label, codename in Group.objects.get(name=name).permissions.values_list(
            "content_type__app_label", "codename"
        )
    }


@pytest.mark.django_db
def test_every_role_has_a_group_with_exactly_its_declared_permissions() -> None:
    declared = roles.declared_grants()
    assert set(Group.objects.values_list("name", flat=True)) >= set(Role.ALL)
    for role in Role.ALL:
        assert group_permissions(role) == declared[role], role


@pytest.mark.django_db
def test_sync_undoes_a_permission_given_by_hand_and_restores_a_removed_one() -> None:
    sales = Group.objects.get(name=Role.SALES)
    sales.permissions.add(Permission.objects.get(codename="delete_customer"))
    sales.permissions.remove(Permission.objects.get(codename="add_customer"))
    roles.sync_roles()
    assert group_permissions(Role.SALES) == roles.declared_grants()[Role.SALES]
    assert "customers.add_customer" in group_permissions(Role.SALES)
    assert "customers.delete_customer" not in group_permissions(Role.SALES)


@pytest.mark.django_db
def test_a_declared_permission_that_does_not_exist_stops_the_sync(monkeypatch: Any) -> None:
    grants = {**roles.declared_grants(), Role.SALES: frozenset({"customers.fly_customer"})}
    monkeypatch.setattr(roles, "declared_grants", lambda: grants)
    with pytest.raises(LookupError, match=r"customers\.fly_customer"):
        roles.sync_roles()


def test_an_unknown_role_is_refused() -> None:
    with pytest.raises(ValueError, match="Unknown role 'Janitor'"):
        roles.merge_grants(
            {Role.SALES: ["customers.view_customer"]}, {"Janitor": ["customers.view_customer"]}
        )


@pytest.mark.django_db(transaction=True)
def test_groups_survive_the_flush_after_a_transactional_test() -> None:
    # A transactional test flushes every table afterwards; post_migrate puts them back.
    assert group_permissions(Role.SERVICE_AGENT) == roles.declared_grants()[Role.SERVICE_AGENT]


@pytest.mark.django_db
def test_a_user_holds_the_roles_of_their_groups_and_the_system_and_visitors_hold_none() -> None:
    # given
    rep = staff("rep")
    rep.groups.set(Group.objects.filter(name__in=[Role.SALES, Role.MARKETING]))

    # when / then
    assert roles.user_roles(rep) == {Role.SALES, Role.MARKETING}
    assert roles.user_roles(staff("root", is_superuser=True)) == set(Role.ALL)
    assert roles.user_roles(ERP_SYNC) == set()
    assert roles.user_roles(AnonymousUser()) == set()
