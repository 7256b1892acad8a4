"""Case workflow: allowed transitions, reopening within the window, notes versus
replies, queues assigning round robin or to the least loaded."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from customers.models import Activity
from service import services, settings_services
from service.models import Case, CaseNote
from service.services import TransitionNotAllowed
from tests.api_contract import snapshot
from tests.fixtures import client_for

pytestmark = pytest.mark.django_db


def move(case: Case, actor: Any, status: str, **extra: Any) -> Case:
    return services.case_transition(actor=actor, case_id=case.pk, status=status, **extra)


def test_a_case_walks_its_life_and_each_step_is_audited(open_case: Callable[..., Case], agent: Any) -> None:
    case = open_case()
    for status in ("open", "waiting_back_office", "waiting_customer", "open"):
        case = move(case, agent, status)
    case = move(case, agent, "resolved", resolution="Sent a replacement.", root_cause="Packaging")
    case = move(case, agent, "closed")
    assert (case.status, case.resolution, case.root_cause) == ("closed", "Sent a replacement.", "Packaging")
    assert case.resolved_at is not None
    assert case.closed_at is not None
    assert case.history.count() == 7
    assert Activity.objects.filter(customer=case.customer, kind="case_resolved").count() == 1


@pytest.mark.parametrize(
    ("path", "target"),
    [((), "closed"), (("resolved",), "waiting_customer"), (("resolved", "closed"), "resolved")],
)
def test_a_transition_that_is_not_allowed_is_refused_and_nothing_changes(
    open_case: Callable[..., Case], agent: Any, path: tuple[str, ...], target: str
) -> None:
    case = open_case()
    for status in path:
        case = move(case, agent, status, resolution="Done.")
    before = snapshot(Case)
    with pytest.raises(TransitionNotAllowed, match="allowed: "):
        move(case, agent, target)
    assert snapshot(Case) == before


def test_resolving_needs_a_resolution(open_case: Callable[..., Case], agent: Any) -> None:
    case = open_case()
    with pytest.raises(ValidationError) as caught:
        move(case, agent, "resolved")
    assert set(caught.value.message_dict) == {"resolution"}


def test_a_case_reopens_within_the_window_but_not_after(
    open_case: Callable[..., Case], agent: Any, settings: Any
) -> None:
    settings.SERVICE_REOPEN_DAYS = 7
    start = dt.datetime(2026, 11, 2, 10, tzinfo=dt.UTC)
    with time_machine.travel(start, tick=False):
        soon, late = open_case(), open_case()
        soon = move(soon, agent, "resolved", resolution="Answered.")
        late = move(late, agent, "resolved", resolution="Answered.")
        late = move(late, agent, "closed")
    with time_machine.travel(start + dt.timedelta(days=6), tick=False):
        soon = move(soon, agent, "open")
    with (
        time_machine.travel(start + dt.timedelta(days=8), tick=False),
        pytest.raises(TransitionNotAllowed, match="more than 7 days"),
    ):
        move(late, agent, "open")
    assert (soon.status, soon.reopened_count, soon.resolved_at) == ("open", 1, None)
    assert Activity.objects.filter(kind="case_reopened").count() == 1


def test_a_bad_transition_over_the_api_is_a_409_naming_what_is_allowed(
    open_case: Callable[..., Case], agent: Any
) -> None:
    case = open_case()
    response = client_for(agent).post(
        f"/api/v1/service/cases/{case.pk}/transition/", {"status": "closed"}, format="json"
    )
    assert response.status_code == 409, response.content
    assert "allowed: " in response.json()["detail"]
    ok = client_for(agent).post(
        f"/api/v1/service/cases/{case.pk}/transition/",
        {"status": "resolved", "resolution": "Explained the invoice."},
        format="json",
        HTTP_IF_MATCH='"1"',
    )
    assert ok.status_code == 200, ok.content
    assert (ok.json()["status"], ok["ETag"]) == ("resolved", '"2"')
    stale = client_for(agent).post(
        f"/api/v1/service/cases/{case.pk}/transition/",
        {"status": "closed"},
        format="json",
        HTTP_IF_MATCH='"1"',
    )
    assert stale.status_code == 412


def test_internal_notes_stay_internal_and_replies_reach_the_timeline(
    open_case: Callable[..., Case], agent: Any
) -> None:
    case = open_case()
    case = services.case_note_add(actor=agent, case_id=case.pk, body="Customer sounded upset.")
    assert (case.status, case.first_response_at) == ("new", None)
    case = services.case_note_add(actor=agent, case_id=case.pk, body="We are on it.", visibility="public")
    assert case.status == "open"
    assert case.first_response_at is not None
    assert list(CaseNote.objects.filter(case=case).values_list("visibility", flat=True)) == [
        "internal",
        "public",
    ]
    replies = Activity.objects.filter(customer=case.customer, kind="case_replied")
    assert [a.body for a in replies] == ["We are on it."]


def test_the_default_queue_assigns_round_robin(
    open_case: Callable[..., Case], queues: Any, agent: Any, agent2: Any
) -> None:
    assignees = [open_case().assignee_id for _ in range(4)]
    assert assignees == [agent.pk, agent2.pk, agent.pk, agent2.pk]
    assert Case.objects.filter(queue=queues["front"]).count() == 4


def test_a_least_loaded_queue_gives_the_case_to_who_has_fewest_open(
    open_case: Callable[..., Case], admin_user: Any, agent: Any, agent2: Any
) -> None:
    queue = settings_services.queue_create(
        actor=admin_user, name="Billing", strategy="least_loaded", members=[agent.pk, agent2.pk]
    )
    for _ in range(2):
        open_case(queue_id=queue.pk, assignee_id=agent.pk)
    assert open_case(queue_id=queue.pk).assignee_id == agent2.pk


def test_a_queue_member_must_work_cases(admin_user: Any, marketer: Any) -> None:
    with pytest.raises(ValidationError) as caught:
        settings_services.queue_create(actor=admin_user, name="Odd", members=[marketer.pk])
    assert set(caught.value.message_dict) == {"members"}


def test_agents_cannot_configure_queues(agent: Any) -> None:
    response = client_for(agent).post("/api/v1/service/queues/", {"name": "Mine"}, format="json")
    assert response.status_code == 403


def test_my_cases_page_lists_what_is_assigned_to_me(
    open_case: Callable[..., Case], agent: Any, queues: Any
) -> None:
    mine = open_case()
    theirs = open_case()
    client = Client()
    client.force_login(agent)
    html = client.get(reverse("service:my_cases")).content.decode()
    assert mine.reference in html
    assert theirs.reference not in html
    assert "Front line" in html
