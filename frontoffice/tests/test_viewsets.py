"""ServiceViewSet and service_action, over the kernel's Team (frontoffice.tests.team_api):
reads from the queryset, writes through services, If-Match on a versioned resource,
none on an unversioned one, and only the methods a resource declares."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from django.urls import resolve
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.test import APIClient

from frontoffice.models import Team, User
from frontoffice.tests.staff import staff
from frontoffice.tests.team_api import Row, TeamViewSet, team_split
from frontoffice.viewsets import service_action

pytestmark = [pytest.mark.django_db, pytest.mark.urls("frontoffice.tests.team_api")]

EVERY_TEAM_RIGHT = ("view_team", "add_team", "change_team")


@pytest.fixture(autouse=True)
def fresh_row() -> Iterator[None]:
    Row.reset()
    yield
    Row.reset()


@pytest.fixture
def admin() -> User:
    return staff("admin", *(f"frontoffice.{p}" for p in EVERY_TEAM_RIGHT))


def client_for(user: User) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def send(client: APIClient, method: str, url: str, body: Any = None, **headers: str) -> Any:
    data = None if body is None else json.dumps(body)
    return client.generic(method, url, data or "", content_type="application/json", headers=headers)


@pytest.fixture
def north() -> Team:
    return Team.objects.create(name="North")


# --- an unversioned resource -------------------------------------------------------------------


def test_create_goes_through_the_service_and_answers_201_with_location(admin: User) -> None:
    # when
    response = send(client_for(admin), "POST", "/teams/", {"name": "North"})

    # then
    team = Team.objects.get(name="North")
    assert response.status_code == 201
    assert response.json() == {"id": team.pk, "name": "North"}
    assert response["Location"] == f"/teams/{team.pk}/"
    assert "ETag" not in response
    assert Row.calls == [{"service": "create", "actor": admin, "name": "North"}]


def test_create_refuses_unknown_fields_before_calling_the_service(admin: User) -> None:
    # when
    response = send(client_for(admin), "POST", "/teams/", {"name": "North", "colour": "red"})

    # then
    assert response.status_code == 400
    assert response.json()["errors"] == {"colour": ["Unknown field."]}
    assert Row.calls == []


def test_an_unversioned_update_needs_no_if_match_and_passes_no_version(admin: User, north: Team) -> None:
    # when
    response = send(client_for(admin), "PATCH", f"/teams/{north.pk}/", {"name": "South"})

    # then
    assert response.status_code == 200
    assert response.json()["name"] == "South"
    assert Row.calls == [{"service": "rename", "team_id": north.pk, "name": "South"}]


def test_an_action_calls_its_service_with_the_record_and_the_input(admin: User, north: Team) -> None:
    # when
    response = send(client_for(admin), "POST", f"/teams/{north.pk}/rename/", {"name": "South"})

    # then
    assert response.status_code == 200
    assert response.json() == {"id": north.pk, "name": "South"}
    assert Row.calls == [{"service": "rename", "team_id": north.pk, "name": "South"}]


def test_an_action_that_makes_a_new_record_answers_201_with_it(admin: User, north: Team) -> None:
    # when
    response = send(client_for(admin), "POST", f"/teams/{north.pk}/split/")

    # then
    assert response.status_code == 201
    assert response.json()["name"] == "North (split)"
    assert response["Location"] == f"/teams/{response.json()['id']}/"


def test_a_user_without_the_actions_permission_is_refused_before_the_service(north: Team) -> None:
    # given: may read teams, not change them
    reader = staff("reader", "frontoffice.view_team")

    # when
    response = send(client_for(reader), "POST", f"/teams/{north.pk}/rename/", {"name": "South"})

    # then
    assert response.status_code == 403
    assert Row.calls == []


def test_retrieve_answers_the_record(admin: User, north: Team) -> None:
    # when
    response = send(client_for(admin), "GET", f"/teams/{north.pk}/")

    # then
    assert response.status_code == 200
    assert response.json() == {"id": north.pk, "name": "North"}


def test_an_ordering_with_two_minus_signs_is_a_400_not_a_crash(admin: User, north: Team) -> None:
    # when
    response = send(client_for(admin), "GET", "/teams/?ordering=--name")

    # then
    assert response.status_code == 400
    assert "ordering" in response.json()["errors"]


# --- a read-only resource -------------------------------------------------------------------------


def test_a_resource_without_write_services_routes_no_write_method(admin: User, north: Team) -> None:
    # when
    created = send(client_for(admin), "POST", "/read-only-teams/", {"name": "South"})
    updated = send(client_for(admin), "PATCH", f"/read-only-teams/{north.pk}/", {"name": "South"})

    # then: 405 with an Allow header that does not offer them (nor does the schema)
    assert (created.status_code, updated.status_code) == (405, 405)
    assert "POST" not in created["Allow"]
    assert "PATCH" not in updated["Allow"]
    for url in ("/read-only-teams/", f"/read-only-teams/{north.pk}/"):
        assert set(resolve(url).func.actions) == {"get", "head"}


# --- a versioned resource --------------------------------------------------------------------------


def test_every_answer_about_a_versioned_record_carries_its_etag(admin: User, north: Team) -> None:
    # when
    read = send(client_for(admin), "GET", f"/versioned-teams/{north.pk}/")
    created = send(client_for(admin), "POST", "/versioned-teams/", {"name": "South"})

    # then
    assert read["ETag"] == created["ETag"] == '"7"'


def test_a_versioned_update_without_if_match_is_a_428(admin: User, north: Team) -> None:
    # when
    response = send(client_for(admin), "PATCH", f"/versioned-teams/{north.pk}/", {"name": "South"})

    # then
    assert response.status_code == 428
    assert Row.calls == []


def test_a_versioned_update_with_an_old_etag_is_a_412(admin: User, north: Team) -> None:
    # when
    response = send(
        client_for(admin), "PATCH", f"/versioned-teams/{north.pk}/", {"name": "South"}, if_match='"6"'
    )

    # then
    assert response.status_code == 412
    assert Row.calls == []


def test_a_versioned_update_passes_the_version_read_to_the_service(admin: User, north: Team) -> None:
    # when
    response = send(
        client_for(admin), "PATCH", f"/versioned-teams/{north.pk}/", {"name": "South"}, if_match='"7"'
    )

    # then
    assert response.status_code == 200
    assert Row.calls[0]["expected_version"] == 7


def test_if_match_star_reaches_the_service_as_no_version_check(admin: User, north: Team) -> None:
    # when
    response = send(
        client_for(admin), "PATCH", f"/versioned-teams/{north.pk}/", {"name": "South"}, if_match="*"
    )

    # then
    assert response.status_code == 200
    assert Row.calls[0]["expected_version"] is None


def test_if_match_star_writes_even_when_someone_saved_between_the_read_and_the_lock(
    admin: User, north: Team
) -> None:
    # given: the viewset reads version 7, then someone saves version 8 before the service locks

    # when
    star = send(client_for(admin), "PATCH", f"/racing-teams/{north.pk}/", {"name": "South"}, if_match="*")

    # then: "whatever the current version" is never a 412
    assert star.status_code == 200
    assert star["ETag"] == '"8"'


def test_an_etag_is_still_checked_under_the_lock_when_someone_saved_in_between(
    admin: User, north: Team
) -> None:
    # when: the client read version 7, which is current when the viewset looks
    stale = send(client_for(admin), "PATCH", f"/racing-teams/{north.pk}/", {"name": "South"}, if_match='"7"')

    # then: the service sees version 8 under its lock
    assert stale.status_code == 412
    assert Team.objects.get(pk=north.pk).name == "North"


def test_an_action_checks_if_match_only_when_sent(admin: User, north: Team) -> None:
    # given
    client = client_for(admin)

    # when
    unsent = send(client, "POST", f"/versioned-teams/{north.pk}/rename/", {"name": "South"})
    old = send(client, "POST", f"/versioned-teams/{north.pk}/rename/", {"name": "East"}, if_match='"6"')
    star = send(client, "POST", f"/versioned-teams/{north.pk}/rename/", {"name": "West"}, if_match="*")

    # then
    assert (unsent.status_code, old.status_code, star.status_code) == (200, 412, 200)
    assert [call["expected_version"] for call in Row.calls] == [None, None]
    assert unsent["ETag"] == '"7"'


def test_an_action_declared_with_if_match_required_is_a_428_without_it(admin: User, north: Team) -> None:
    # when
    response = send(client_for(admin), "POST", f"/versioned-teams/{north.pk}/rename_strictly/", {"name": "S"})

    # then
    assert response.status_code == 428
    assert Row.calls == []


# --- declaring actions ------------------------------------------------------------------------------


def test_a_subclass_inherits_actions_and_keeps_a_method_it_redefines() -> None:
    # when
    class CustomTeamViewSet(TeamViewSet):
        def rename(self, request: Request, pk: str | None = None) -> Response:
            return Response("its own")

    # then
    assert CustomTeamViewSet.rename.__qualname__.endswith("CustomTeamViewSet.rename")
    assert set(CustomTeamViewSet.service_actions) == {"split"}
    assert CustomTeamViewSet.split.mapping == {"post": "split"}
    assert CustomTeamViewSet.split is not TeamViewSet.split  # documented for this class


def test_a_service_action_outside_a_service_viewset_is_an_error_not_a_missing_route() -> None:
    # when
    with pytest.raises((TypeError, RuntimeError)) as refused:

        class NotAServiceViewSet:
            split = service_action(team_split)

    # then (Python 3.11 wraps errors raised while a class is built)
    error = refused.value.__cause__ or refused.value
    assert "not a ServiceViewSet" in str(error)
