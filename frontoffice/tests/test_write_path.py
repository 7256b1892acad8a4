"""The write path's helpers: who may write, which row at which version, clean text,
who the audit history names, and side effects after commit."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import Http404
from simple_history.models import HistoricalRecords
from simple_history.utils import get_change_reason_from_object

from frontoffice.actors import ERP_SYNC, SystemActor
from frontoffice.errors import StaleVersion
from frontoffice.models import Team
from frontoffice.tests.staff import staff
from frontoffice.write_path import (
    MissingActor,
    as_id,
    audit,
    authorize,
    bump_version,
    check_version,
    clean_text,
    enqueue_on_commit,
    lock,
    lock_many,
)

pytestmark = pytest.mark.django_db

CHANGE_TEAM = "frontoffice.change_team"
# A test-only "may edit anyone's records" right (staff.permission creates it).
ANY_RECORD = "frontoffice.edit_any_record"


# --- authorize ------------------------------------------------------------------------


def test_authorize_refuses_to_guess_when_no_actor_is_named() -> None:
    with pytest.raises(MissingActor):
        authorize(None, CHANGE_TEAM)


def test_authorize_refuses_an_anonymous_visitor() -> None:
    with pytest.raises(PermissionDenied):
        authorize(AnonymousUser())


def test_authorize_refuses_a_deactivated_user_even_with_the_permission() -> None:
    # given
    gone = staff("gone", CHANGE_TEAM, is_active=False)

    # when / then
    with pytest.raises(PermissionDenied):
        authorize(gone, CHANGE_TEAM)


def test_authorize_refuses_a_user_missing_one_of_the_permissions_with_the_given_message() -> None:
    # given
    rita = staff("rita", CHANGE_TEAM)

    # when / then
    with pytest.raises(PermissionDenied, match="Teams are for admins"):
        authorize(rita, CHANGE_TEAM, "frontoffice.add_team", message="Teams are for admins.")


def test_authorize_lets_a_user_holding_every_permission_through() -> None:
    # given
    rita = staff("rita", CHANGE_TEAM, "frontoffice.add_team")

    # when / then: no exception
    authorize(rita, CHANGE_TEAM, "frontoffice.add_team")


@pytest.fixture
def north() -> Team:
    return Team.objects.create(name="North")


def test_the_owner_rule_lets_a_user_edit_a_team_mates_record(north: Team) -> None:
    # given
    rita = staff("rita", CHANGE_TEAM, team=north)
    record = SimpleNamespace(owner=staff("mate", team=north))

    # when / then: no exception
    authorize(rita, CHANGE_TEAM, obj=record, owner_bypass=ANY_RECORD)


def test_the_owner_rule_refuses_a_strangers_record_and_an_unowned_one(north: Team) -> None:
    # given
    rita = staff("rita", CHANGE_TEAM, team=north)
    strangers = SimpleNamespace(owner=staff("stranger", team=Team.objects.create(name="South")))
    unowned = SimpleNamespace(owner=None)

    # when / then
    for record in (strangers, unowned):
        with pytest.raises(PermissionDenied):
            authorize(rita, CHANGE_TEAM, obj=record, owner_bypass=ANY_RECORD)


def test_the_bypass_permission_lets_a_user_edit_a_strangers_record(north: Team) -> None:
    # given
    manager = staff("manager", CHANGE_TEAM, ANY_RECORD, team=north)
    record = SimpleNamespace(owner=staff("stranger", team=Team.objects.create(name="South")))

    # when / then: no exception
    authorize(manager, CHANGE_TEAM, obj=record, owner_bypass=ANY_RECORD)


def test_a_system_actor_without_an_allow_list_may_do_anything_to_anyones_record() -> None:
    # given
    record = SimpleNamespace(owner=staff("stranger"))

    # when / then: no exception
    authorize(ERP_SYNC, CHANGE_TEAM, "frontoffice.delete_team", obj=record, owner_bypass=ANY_RECORD)


def test_a_system_actor_with_an_allow_list_may_do_only_what_it_lists() -> None:
    # given
    public_form = SystemActor("public form", permissions=frozenset({"frontoffice.add_team"}))

    # when / then
    authorize(public_form, "frontoffice.add_team")
    with pytest.raises(PermissionDenied):
        authorize(public_form, CHANGE_TEAM)


# --- lock, as_id ------------------------------------------------------------------------


def test_lock_gives_the_row_by_id_or_by_numeric_string() -> None:
    # given
    team = Team.objects.create(name="North")

    # when
    with transaction.atomic():
        by_id, by_text = lock(Team, team.pk), lock(Team, str(team.pk))

    # then
    assert by_id == by_text == team


@pytest.mark.parametrize("bad", ["x", "²", "٣", " 1", "1_0", "", 10**30, 0, -1, 1.0, True, None, [1]])
def test_lock_answers_404_for_what_cannot_be_an_id(bad: Any) -> None:
    # given: row 1 exists, so that a lenient reading of the id would find it
    Team.objects.create(pk=1, name="North")

    # when / then
    with transaction.atomic(), pytest.raises(Http404):
        lock(Team, bad)


def test_lock_answers_404_naming_what_is_missing() -> None:
    # given
    gone = Team.objects.create(name="Gone")
    gone_id = gone.pk
    gone.delete()

    # when / then
    with transaction.atomic(), pytest.raises(Http404, match="No such sales team"):
        lock(Team, gone_id, what="sales team")


def test_lock_finds_only_rows_of_the_queryset_it_is_given() -> None:
    # given
    team = Team.objects.create(name="North")

    # when / then
    with transaction.atomic(), pytest.raises(Http404):
        lock(Team, team.pk, queryset=Team.objects.exclude(pk=team.pk))


def test_lock_many_gives_the_rows_found_by_id_and_leaves_out_the_rest() -> None:
    # given
    north, south = Team.objects.create(name="North"), Team.objects.create(name="South")

    # when
    with transaction.atomic():
        rows = lock_many(Team, [str(south.pk), north.pk, "x", 10**30, south.pk + 100])

    # then
    assert rows == {north.pk: north, south.pk: south}


def test_as_id_reads_an_instance_and_the_largest_bigint() -> None:
    # given
    team = Team.objects.create(name="North")

    # when / then
    assert as_id(team) == team.pk
    assert as_id(Team(name="unsaved")) is None
    assert as_id(2**63 - 1) == 2**63 - 1
    assert as_id("9" * 19) is None  # beyond a bigint
    assert as_id(3.7) is None  # never truncated into row 3


# --- versions -----------------------------------------------------------------------------


def test_check_version_passes_the_version_read_and_refuses_another_with_the_current_one() -> None:
    # given
    row = SimpleNamespace(version=3)

    # when / then
    check_version(row, 3)
    with pytest.raises(StaleVersion) as refused:
        check_version(row, 2)
    assert refused.value.current == 3


def test_check_version_checks_nothing_for_none() -> None:
    # given: If-Match: *, or an action sent without If-Match
    row = SimpleNamespace(version=3)

    # when / then: no exception
    check_version(row, None)


def test_bump_version_moves_the_version_on_by_one() -> None:
    # given
    row = SimpleNamespace(version=3)

    # when
    bump_version(row)

    # then
    assert row.version == 4


# --- text -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "cleaned", "errors"),
    [
        (None, "", {}),
        ("  abc  ", "abc", {}),  # stripped; the limit counts what is stored
        ("abcd", "abcd", {"name": ["At most 3 characters."]}),
        (42, "", {"name": ["Expected text."]}),
        ("a\x00b", "a\x00b", {"name": ["Null characters are not allowed."]}),
        ("a\ud800", "a\ud800", {"name": ["Text must be valid Unicode."]}),
    ],
)
def test_clean_text_strips_text_and_says_what_the_database_would_refuse(
    value: Any, cleaned: str, errors: dict[str, list[str]]
) -> None:
    # given
    found: dict[str, list[str]] = {}

    # when
    result = clean_text(found, "name", value, max_length=3)

    # then
    assert (result, found) == (cleaned, errors)


# --- audit ------------------------------------------------------------------------------------


def history_of(instance: Any) -> tuple[Any, Any]:
    """The user and reason django-simple-history would record on the next save."""
    return HistoricalRecords().get_history_user(instance), get_change_reason_from_object(instance)


def test_audit_names_the_user_on_the_next_history_row_with_the_reason_given() -> None:
    # given
    rita, team = staff("rita"), Team.objects.create(name="North")

    # when
    audit(team, rita, reason="Renamed at the customer's request " + "x" * 200)

    # then
    user, reason = history_of(team)
    assert user == rita
    assert reason.startswith("Renamed at the customer's request")
    assert len(reason) == 100


def test_audit_names_no_user_and_says_which_part_of_the_system_acted() -> None:
    # given
    team = Team.objects.create(name="North")

    # when
    audit(team, ERP_SYNC)

    # then
    assert history_of(team) == (None, "System (ERP sync)")


def test_audit_drops_the_reason_of_an_earlier_audit_of_the_same_instance() -> None:
    # given: the instance was first changed by the system
    rita, team = staff("rita"), Team.objects.create(name="North")
    audit(team, ERP_SYNC)

    # when: then by a person, who gives no reason
    audit(team, rita)

    # then
    assert history_of(team) == (rita, None)


# --- after commit -----------------------------------------------------------------------------


class RecordingTask:
    name = "probe.task"

    def __init__(self) -> None:
        self.sent: list[tuple[Any, ...]] = []

    def delay(self, *args: Any) -> None:
        self.sent.append(args)


def test_enqueue_on_commit_sends_once_the_transaction_commits_and_never_on_rollback(
    django_capture_on_commit_callbacks: Any,
) -> None:
    # given
    task = RecordingTask()

    # when
    with django_capture_on_commit_callbacks(execute=True):
        with transaction.atomic():
            enqueue_on_commit(task, 1, "a")
            sent_inside = list(task.sent)
        try:
            with transaction.atomic():
                enqueue_on_commit(task, 2)
                raise RuntimeError("rolled back")
        except RuntimeError:
            pass

    # then
    assert sent_inside == []
    assert task.sent == [(1, "a")]
