"""`frontoffice.prepared.prepared_rows`: the rows the queryset would give, its SQL
compiled once per key and run again with each call's values."""

from __future__ import annotations

from typing import Any

import pytest
from django.db.models import QuerySet

from frontoffice.models import Team, User
from frontoffice.prepared import prepared_rows

pytestmark = pytest.mark.django_db


def _staff(*, team_name: str, usernames: list[str]) -> Team:
    team = Team.objects.create(name=team_name)
    for username in usernames:
        User.objects.create(
            username=username, first_name=username.title(), team=team, email=f"{username}@x.test"
        )
    return team


class _Builds:
    """A build function that counts its calls."""

    def __init__(self, make: Any) -> None:
        self.make = make
        self.calls = 0

    def __call__(self, *args: Any) -> QuerySet[Any]:
        self.calls += 1
        queryset: QuerySet[Any] = self.make(*args)
        return queryset


def _fields(users: list[User]) -> list[tuple[Any, ...]]:
    return [(u.pk, u.username, u.first_name, u.team_id, u.team.name if u.team else None) for u in users]


def test_it_answers_the_querysets_rows_for_each_calls_values(django_assert_num_queries: Any) -> None:
    # given: two teams, a read of a team's members with their team, without their e-mail
    red = _staff(team_name="Red", usernames=["ann", "bob"])
    blue = _staff(team_name="Blue", usernames=["cy"])

    def members(team_id: int, but: str) -> QuerySet[User]:
        return (
            User.objects.filter(team_id=team_id)
            .exclude(username=but)
            .select_related("team")
            .defer("email")
            .order_by("username")
        )

    build = _Builds(members)
    key = ("members", object())
    # when: the first call, then calls with other values
    first = prepared_rows(key, build, red.pk, "bob")
    with django_assert_num_queries(1):
        second = prepared_rows(key, build, red.pk, "")
    with django_assert_num_queries(1):
        third = prepared_rows(key, build, blue.pk, "ann")
    # then: what each queryset answers, the related team read with the row
    assert _fields(first) == _fields(list(members(red.pk, "bob")))
    assert _fields(second) == _fields(list(members(red.pk, "")))
    assert _fields(third) == _fields(list(members(blue.pk, "ann")))
    assert [u.username for u in second] == ["ann", "bob"]
    # a deferred field is deferred as in the queryset's rows, and the rows are saved ones
    assert second[0].get_deferred_fields() == {"email"}
    assert second[0]._state.adding is False
    assert all(User.team.is_cached(u) for u in second + third)
    # built only on the first call (once with the values, once to compile)
    assert build.calls == 2


def test_a_value_the_orm_rewrites_is_never_replaced_in_the_sql() -> None:
    # given: `contains` turns the value into a pattern, which the statement cannot take as is
    _staff(team_name="Red", usernames=["ann", "bob"])
    build = _Builds(lambda text: User.objects.filter(username__contains=text).order_by("username"))
    key = ("contains", object())
    # when
    first = prepared_rows(key, build, "an")
    second = prepared_rows(key, build, "bo")
    # then: each call reads through its queryset, with the right answer
    assert [u.username for u in first] == ["ann"]
    assert [u.username for u in second] == ["bob"]
    assert build.calls == 3  # the first call twice (to try compiling it), then once per call


def test_each_key_keeps_its_own_statement() -> None:
    # given
    team = _staff(team_name="Red", usernames=["ann", "bob"])
    by_team = _Builds(lambda team_id: User.objects.filter(team_id=team_id).order_by("username"))
    by_id = _Builds(lambda user_id: User.objects.filter(pk=user_id))
    ann = User.objects.get(username="ann")
    # when
    members = prepared_rows(("by-team", object()), by_team, team.pk)
    one = prepared_rows(("by-id", object()), by_id, ann.pk)
    # then
    assert [u.username for u in members] == ["ann", "bob"]
    assert [u.username for u in one] == ["ann"]


def test_it_refuses_values_it_cannot_stand_in_for() -> None:
    with pytest.raises(TypeError):
        prepared_rows(("bool", object()), lambda flag: User.objects.filter(is_active=flag), True)
