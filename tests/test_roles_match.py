from __future__ import annotations

from frontoffice.roles import Role as AppRole
from tests.fixtures import Role as FixtureRole


def test_the_fixture_role_names_are_the_roles_the_app_declares():
    names = {k: v for k, v in vars(FixtureRole).items() if k.isupper()}
    assert names == {k: getattr(AppRole, k) for k in names}
    assert set(names.values()) == set(AppRole.ALL)
