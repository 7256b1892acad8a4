"""`frontoffice.prepared.prepared_rows`: the rows the queryset would give, its SQL
compiled once per key and run again with each call's values."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import NotSupportedError, connection, models, transaction
from django.db.models import Q, QuerySet
from django.test.utils import CaptureQueriesContext

from frontoffice import prepared
from frontoffice.models import Team, User
from frontoffice.prepared import prepared_rows, prepared_rows_together, prepared_sql_rows

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


def _statements(queries: CaptureQueriesContext) -> list[str]:
    return [q["sql"] for q in queries.captured_queries]


def test_reads_sent_together_answer_what_each_alone_would(django_assert_num_queries: Any) -> None:
    # given: two teams, three reads (one not yet compiled when they are first sent together)
    red = _staff(team_name="Red", usernames=["ann", "bob"])
    blue = _staff(team_name="Blue", usernames=["cy"])

    def members(team_id: int) -> QuerySet[User]:
        return User.objects.filter(team_id=team_id).select_related("team").order_by("username")

    def one(user_id: int) -> QuerySet[User]:
        return User.objects.filter(pk=user_id).defer("email")

    def teams(team_id: int) -> QuerySet[Team]:
        return Team.objects.filter(pk=team_id)

    keys = [("members", object()), ("one", object()), ("teams", object())]
    ann = User.objects.get(username="ann")
    prepared_rows(keys[0], members, red.pk)
    prepared_rows(keys[1], one, ann.pk)
    # when: together, the third compiled on the way; then all three compiled
    first = prepared_rows_together(
        (keys[0], members, (blue.pk,)), (keys[1], one, (ann.pk,)), (keys[2], teams, (red.pk,))
    )
    with django_assert_num_queries(3):  # each read is one query to Django's counters
        second = prepared_rows_together(
            (keys[0], members, (red.pk,)), (keys[1], one, (ann.pk + 1000,)), (keys[2], teams, (blue.pk,))
        )
    # then: what each queryset answers
    assert _fields(first[0]) == _fields(list(members(blue.pk)))
    assert [u.pk for u in first[1]] == [ann.pk]
    assert [t.name for t in first[2]] == ["Red"]
    assert _fields(second[0]) == _fields(list(members(red.pk)))
    assert second[1] == []
    assert [t.name for t in second[2]] == ["Blue"]
    assert second[0][0]._state.adding is False
    assert all(User.team.is_cached(u) for u in second[0])


def test_on_postgresql_a_kept_read_runs_as_a_statement_prepared_on_the_server() -> None:
    # given: a read whose other values hold a % and whose value is compared twice
    team = _staff(team_name="Red", usernames=["ann", "bob"])
    User.objects.create(username="pct", email="100%@x.test", team=team)

    def build(team_id: int) -> QuerySet[User]:
        return (
            User.objects.filter(Q(team_id=team_id) | Q(pk=team_id))
            .exclude(email="100%@x.test")
            .order_by("username")
        )

    key = ("percent", object())
    prepared_rows(key, build, team.pk)
    # when
    with CaptureQueriesContext(connection) as queries:
        rows = prepared_rows(key, build, team.pk)
    # then: the rows of the queryset; on PostgreSQL through EXECUTE, the statement it runs
    # shown in a comment (the % and the table readable), elsewhere the SELECT itself
    assert [u.username for u in rows] == [u.username for u in build(team.pk)] == ["ann", "bob"]
    [sql] = _statements(queries)
    if connection.vendor == "postgresql":
        assert sql.startswith("EXECUTE fo_prepared_")
        assert "100%@x.test" in sql
        assert "frontoffice_user" in sql
    else:
        assert sql.startswith("SELECT")


@pytest.mark.django_db(transaction=True)
def test_a_prepared_statement_outlives_a_rolled_back_transaction_and_a_new_connection_prepares_again() -> (
    None
):
    # given: a read compiled and run
    team = _staff(team_name="Red", usernames=["ann", "bob"])
    build = _Builds(lambda team_id: User.objects.filter(team_id=team_id).order_by("username"))
    key = ("outlives", object())
    assert [u.username for u in prepared_rows(key, build, team.pk)] == ["ann", "bob"]

    # when: run first inside a transaction that rolls back
    class Undone(Exception):
        pass

    def undone_write_and_read() -> None:
        with transaction.atomic():
            User.objects.create(username="cy", team=team)
            assert [u.username for u in prepared_rows(key, build, team.pk)] == ["ann", "bob", "cy"]
            raise Undone

    with pytest.raises(Undone):
        undone_write_and_read()
    # then: it runs again after the rollback, and on a new connection
    assert [u.username for u in prepared_rows(key, build, team.pk)] == ["ann", "bob"]
    connection.close()
    assert [u.username for u in prepared_rows(key, build, team.pk)] == ["ann", "bob"]
    assert build.calls == 2  # compiled once: every later call reused the statement


def test_a_connection_holds_a_bounded_number_of_prepared_statements(monkeypatch: pytest.MonkeyPatch) -> None:
    # given: room for 2 statements per connection
    monkeypatch.setattr(prepared, "_MAX_SERVER_STATEMENTS", 2)
    team = _staff(team_name="Red", usernames=["ann", "bob"])
    reads = [
        (
            ("bounded", n, object()),
            lambda team_id, n=n: User.objects.filter(team_id=team_id).order_by("username")[n:],
        )
        for n in range(4)
    ]
    # when: 4 statements compiled and each run twice, in turns
    answers = [
        [u.username for u in prepared_rows(key, build, team.pk)] for _ in range(2) for key, build in reads
    ]
    # then
    assert answers == [["ann", "bob"], ["bob"], [], []] * 2
    held = getattr(connection, "_prepared_on_server", (None, set()))[1]
    assert len(held) <= 2


@pytest.mark.parametrize("off_by", ["setting", "server-side binding"])
def test_with_prepared_statements_off_a_kept_read_is_sent_as_sql(
    off_by: str, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given: the setting off, or a connection that binds values on the server (where a
    # PREPARE cannot take the statement's other values)
    if off_by == "setting":
        settings.DATABASE_PREPARED_STATEMENTS = False
    else:
        monkeypatch.setitem(
            connection.settings_dict,
            "OPTIONS",
            {**connection.settings_dict.get("OPTIONS", {}), "server_side_binding": True},
        )
    team = _staff(team_name="Red", usernames=["ann"])
    build = _Builds(lambda team_id: User.objects.filter(team_id=team_id))
    key = ("off", off_by, object())
    prepared_rows(key, build, team.pk)
    # when
    with CaptureQueriesContext(connection) as queries:
        rows = prepared_rows(key, build, team.pk)
    # then: the statement compiled once, sent as SQL
    assert [u.username for u in rows] == ["ann"]
    [sql] = _statements(queries)
    assert sql.startswith("SELECT")
    assert build.calls == 2


def _written_read() -> tuple[str, Any]:
    """A hand-written read of users by a list of ids and a pattern holding a %: the ids
    as one array on PostgreSQL (one statement for any number), a placeholder each elsewhere."""
    table = connection.ops.quote_name(User._meta.db_table)
    if connection.vendor == "postgresql":
        sql = f"SELECT username FROM {table} WHERE id = ANY(%s) AND email NOT LIKE '%%100\\%%%%' ORDER BY username"  # noqa: S608

        def args(ids: list[int]) -> list[Any]:
            return [ids]
    else:
        sql = f"SELECT username FROM {table} WHERE id IN (%s, %s) AND email NOT LIKE '%%100\\%%%%' ESCAPE '\\' ORDER BY username"  # noqa: S608

        def args(ids: list[int]) -> list[Any]:
            return list(ids)

    return sql, args


@pytest.mark.django_db(transaction=True)
def test_a_hand_written_read_runs_prepared_on_postgresql_and_again_on_a_new_connection() -> None:
    # given: three users, one whose e-mail the statement's % pattern leaves out
    team = _staff(team_name="Red", usernames=["ann", "bob"])
    pct = User.objects.create(username="pct", email="x100%@x.test", team=team)
    ann, bob = User.objects.filter(team=team).exclude(pk=pct.pk).order_by("username")
    sql, args = _written_read()
    # when: run with two sets of values, then again on a new connection
    answers = []
    with CaptureQueriesContext(connection) as queries:
        answers.append(prepared_sql_rows(sql, args([ann.pk, pct.pk]), using="default"))
        answers.append(prepared_sql_rows(sql, args([bob.pk, ann.pk]), using="default"))
    connection.close()
    answers.append(prepared_sql_rows(sql, args([bob.pk, pct.pk]), using="default"))
    # then: each call's rows; one query each, on PostgreSQL the EXECUTE of one statement
    # prepared once per connection, what it runs readable in the log
    assert answers == [[("ann",)], [("ann",), ("bob",)], [("bob",)]]
    first, second = _statements(queries)
    if connection.vendor == "postgresql":
        assert first.startswith("EXECUTE fo_prepared_")
        assert first.split("(")[0] == second.split("(")[0]  # one statement, each call's values
        assert "ANY($1)" in first
        assert User._meta.db_table in first
        assert len(connection._prepared_on_server[1]) == 1  # type: ignore[attr-defined]
    else:
        assert first.startswith("SELECT username")


def test_with_prepared_statements_off_a_hand_written_read_is_sent_as_sql(settings: Any) -> None:
    settings.DATABASE_PREPARED_STATEMENTS = False
    ann = _staff(team_name="Red", usernames=["ann"]).members.get()
    sql, args = _written_read()
    with CaptureQueriesContext(connection) as queries:
        rows = prepared_sql_rows(sql, args([ann.pk, ann.pk]), using="default")
    assert rows == [("ann",)]
    [sent] = _statements(queries)
    assert sent.startswith("SELECT username")


def _team_name_widened(to: int) -> None:
    """What a migration that changes the team name's length does to the table."""
    old = Team._meta.get_field("name")
    new = models.CharField(max_length=to, unique=True)
    new.set_attributes_from_name("name")
    new.model = Team
    with connection.schema_editor() as editor:
        editor.alter_field(Team, old, new)
    Team._meta.get_field("name").max_length = to  # as the model would say after the migration


@pytest.mark.django_db(transaction=True)
def test_kept_reads_answer_again_after_a_migration_changes_the_type_of_a_column_they_read() -> None:
    # given: three kept reads of a team's name (one alone, two sent together) and a
    # hand-written one, each run once (prepared on the server, on PostgreSQL)
    team = _staff(team_name="Red", usernames=["ann"])
    build = _Builds(lambda team_id: Team.objects.filter(pk=team_id).only("name"))
    other = _Builds(lambda team_id: Team.objects.filter(pk__lte=team_id).only("name").order_by("id"))
    alone, first, second = ("stale", object()), ("stale-first", object()), ("stale-second", object())
    sql = f"SELECT name FROM {Team._meta.db_table} WHERE id = %s"  # noqa: S608

    def answers() -> list[Any]:
        together = prepared_rows_together((first, build, (team.pk,)), (second, other, (team.pk,)))
        return [
            [t.name for t in prepared_rows(alone, build, team.pk)],
            [[t.name for t in rows] for rows in together],
            prepared_sql_rows(sql, [team.pk], using="default"),
        ]

    expected = [["Red"], [["Red"], ["Red"]], [("Red",)]]
    assert answers() == expected
    assert answers() == expected  # the pair now sent together, where the database allows
    try:
        # when: a migration widens the column (PostgreSQL then refuses the prepared
        # statements: "cached plan must not change result type")
        _team_name_widened(to=200)
        # then: each answers as before, outside a transaction at once
        assert answers() == expected
        # when: it changes again, and the next read runs inside a transaction
        _team_name_widened(to=150)
        if connection.vendor == "postgresql":
            with pytest.raises(NotSupportedError), transaction.atomic():
                prepared_rows(alone, build, team.pk)
        # then: that one read failed with its transaction (on PostgreSQL); every later one answers
        assert answers() == expected
    finally:
        _team_name_widened(to=100)
