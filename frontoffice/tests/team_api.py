"""A tiny resource over the kernel's Team, for the ServiceViewSet tests (URLconf:
`pytest.mark.urls("frontoffice.tests.team_api")`).

Team has no `version`. `/teams/` is the unversioned resource. `/versioned-teams/`
gives every team version `Row.version` (an annotation), so that If-Match can be
tested without a model of the apps; `/racing-teams/` also lets "someone else" save
between the viewset's read and the service's lock.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import QuerySet, Value
from rest_framework import serializers
from rest_framework.routers import SimpleRouter

from frontoffice.actors import Actor
from frontoffice.filters import StableOrderingFilter
from frontoffice.models import Team
from frontoffice.serializers import StrictSerializer, TextField
from frontoffice.viewsets import ServiceViewSet, service_action
from frontoffice.write_path import authorize, check_version, lock


class Row:
    """The versioned resource's current version, and what its services were asked."""

    version = 7
    calls: list[dict[str, Any]] = []

    @classmethod
    def reset(cls) -> None:
        cls.version = 7
        cls.calls = []


def versioned_teams() -> QuerySet[Team]:
    return Team.objects.annotate(version=Value(Row.version))


# --- services -----------------------------------------------------------------------------


def team_create(*, actor: Actor, name: str) -> Team:
    authorize(actor, "frontoffice.add_team")
    Row.calls.append({"service": "create", "actor": actor, "name": name})
    return Team.objects.create(name=name)


@transaction.atomic
def team_rename(*, actor: Actor, team_id: int, name: str, **version: int | None) -> Team:
    """Rename the team."""
    team = lock(Team, team_id, queryset=versioned_teams(), what="team")
    authorize(actor, "frontoffice.change_team")
    Row.calls.append({"service": "rename", "team_id": team_id, "name": name, **version})
    if version:
        check_version(team, version["expected_version"])
    team.name = name
    team.save()
    return team


@transaction.atomic
def team_split(*, actor: Actor, team_id: int, **version: int | None) -> Team:
    """Split off a new team."""
    team = lock(Team, team_id, what="team")
    authorize(actor, "frontoffice.add_team")
    Row.calls.append({"service": "split", "team_id": team_id, **version})
    return Team.objects.create(name=f"{team.name} (split)")


# --- the resources ---------------------------------------------------------------------------


class TeamSerializer(serializers.ModelSerializer[Team]):
    class Meta:
        model = Team
        fields = ["id", "name"]


class TeamInput(StrictSerializer):
    name = TextField(max_length=100)


class TeamViewSet(ServiceViewSet[Team]):
    serializer_class = TeamSerializer
    queryset = Team.objects.all()
    filter_backends = [StableOrderingFilter]
    ordering_fields = ["name"]
    ordering = ["name"]
    versioned = False
    lookup_arg = "team_id"
    create_input = TeamInput
    update_input = TeamInput
    create_service = staticmethod(team_create)
    update_service = staticmethod(team_rename)
    action_permissions = {
        "rename": {"POST": ["frontoffice.change_team"]},
        "split": {"POST": ["frontoffice.add_team"]},
    }

    rename = service_action(team_rename, input=TeamInput)
    split = service_action(team_split, created=True)


class VersionedTeamViewSet(TeamViewSet):
    versioned = True
    rename_strictly = service_action(team_rename, input=TeamInput, if_match="required")

    def get_queryset(self) -> QuerySet[Team]:
        return versioned_teams()


class RacingTeamViewSet(VersionedTeamViewSet):
    def get_object(self) -> Team:
        team = super().get_object()
        Row.version += 1  # someone else saves right after this read
        return team


class ReadOnlyTeamViewSet(ServiceViewSet[Team]):
    serializer_class = TeamSerializer
    queryset = Team.objects.all()
    versioned = False


router = SimpleRouter()
router.register("teams", TeamViewSet, basename="team")
router.register("versioned-teams", VersionedTeamViewSet, basename="versioned-team")
router.register("racing-teams", RacingTeamViewSet, basename="racing-team")
router.register("read-only-teams", ReadOnlyTeamViewSet, basename="read-only-team")
urlpatterns = router.urls
