"""Actors: who a write is done by, as a foreign key and as audit trails name it."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import AnonymousUser

from frontoffice.actors import ERP_SYNC, SystemActor, describe, is_system, user_of
from frontoffice.tests.staff import staff

pytestmark = pytest.mark.django_db


def test_user_of_gives_the_staff_user_for_a_foreign_key() -> None:
    # given
    rita = staff("rita")

    # when / then
    assert user_of(rita) is rita


@pytest.mark.parametrize("actor", [ERP_SYNC, SystemActor("public form"), AnonymousUser(), None])
def test_user_of_gives_no_user_for_the_system_an_anonymous_visitor_or_nobody(actor: Any) -> None:
    assert user_of(actor) is None


def test_user_of_still_names_a_deactivated_user_who_acted() -> None:
    # given: history keeps pointing at people who have left
    gone = staff("gone", is_active=False)

    # when / then
    assert user_of(gone) is gone


def test_describe_names_a_user_by_username_and_the_system_by_its_part() -> None:
    # given
    rita = staff("rita", first_name="Rita", last_name="Rep")

    # when / then
    assert describe(rita) == "rita"
    assert describe(ERP_SYNC) == "System (ERP sync)"
    assert describe(AnonymousUser()) == "anonymous"
    assert describe(None) == "anonymous"


def test_is_system_tells_the_system_from_people() -> None:
    assert is_system(ERP_SYNC)
    assert not is_system(staff("rita"))
    assert not is_system(None)


def test_a_system_actor_without_an_allow_list_holds_every_permission() -> None:
    assert ERP_SYNC.has_perm("anything.at_all")
    assert ERP_SYNC.has_perms(["a.b", "c.d"])


def test_a_system_actor_with_an_allow_list_holds_only_what_it_lists() -> None:
    # given
    form = SystemActor("public form", permissions=frozenset({"sales.add_lead"}))

    # when / then
    assert form.has_perm("sales.add_lead")
    assert not form.has_perm("sales.delete_lead")
    assert not form.has_perms(["sales.add_lead", "sales.delete_lead"])
