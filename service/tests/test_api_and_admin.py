"""Cases over the API (PATCH with If-Match, bad input, notes, assign), queues and SLA
policies configured by admins only, and the admin screens."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from service.models import Case, SlaPolicy
from tests.api_contract import snapshot
from tests.fixtures import client_for

pytestmark = pytest.mark.django_db


def test_a_case_is_patched_with_if_match_and_refused_without_or_when_stale(
    open_case: Callable[..., Case], agent: Any, agent2: Any
) -> None:
    case = open_case()
    api = client_for(agent)
    url = f"/api/v1/service/cases/{case.pk}/"
    assert api.patch(url, {"priority": "high"}, format="json").status_code == 428
    ok = api.patch(url, {"priority": "high", "assignee": agent2.pk}, format="json", HTTP_IF_MATCH='"1"')
    assert ok.status_code == 200, ok.content
    assert (ok.json()["priority"], ok.json()["assignee"], ok["ETag"]) == ("high", agent2.pk, '"2"')
    assert api.patch(url, {"priority": "low"}, format="json", HTTP_IF_MATCH='"1"').status_code == 412
    before = snapshot(Case)
    bad = api.patch(url, {"queue": 999999, "subject": ""}, format="json", HTTP_IF_MATCH='"2"')
    assert bad.status_code == 400
    assert {"queue", "subject"} <= set(bad.json()["errors"])
    assert snapshot(Case) == before


def test_notes_and_assignment_over_the_api(open_case: Callable[..., Case], agent: Any, marketer: Any) -> None:
    case = open_case()
    api = client_for(agent)
    note = api.post(
        f"/api/v1/service/cases/{case.pk}/note/",
        {"body": "Called back.", "visibility": "public"},
        format="json",
    )
    assert note.status_code == 200, note.content
    assert note.json()["status"] == "open"
    empty = api.post(f"/api/v1/service/cases/{case.pk}/note/", {"body": ""}, format="json")
    assert empty.status_code == 400
    taken = api.post(f"/api/v1/service/cases/{case.pk}/assign/", {}, format="json")
    assert taken.json()["assignee"] == agent.pk
    assert (
        client_for(marketer).post(f"/api/v1/service/cases/{case.pk}/assign/", {}, format="json").status_code
        == 403
    )


def test_admins_configure_sla_policies_and_queues_over_the_api(
    admin_user: Any, agent: Any, calendar: Any
) -> None:
    api = client_for(admin_user)
    body = {
        "name": "Urgent",
        "priority": "urgent",
        "calendar": calendar.pk,
        "first_response_minutes": 30,
        "resolution_minutes": 240,
    }
    created = api.post("/api/v1/service/sla-policies/", body, format="json")
    assert created.status_code == 201, created.content
    again = api.post("/api/v1/service/sla-policies/", body, format="json")
    assert again.status_code == 400
    backwards = api.post(
        "/api/v1/service/sla-policies/", {**body, "tier": "gold", "resolution_minutes": 10}, format="json"
    )
    assert backwards.status_code == 400
    assert "resolution_minutes" in backwards.json()["errors"]
    assert SlaPolicy.objects.count() == 1
    assert client_for(agent).post("/api/v1/service/sla-policies/", body, format="json").status_code == 403
    queue = api.post(
        "/api/v1/service/queues/",
        {"name": "Billing", "strategy": "least_loaded", "members": [agent.pk]},
        format="json",
    )
    assert queue.status_code == 201, queue.content
    renamed = api.patch(
        f"/api/v1/service/queues/{queue.json()['id']}/",
        {"name": "Invoices"},
        format="json",
        HTTP_IF_MATCH='"1"',
    )
    assert renamed.json()["name"] == "Invoices"


def test_the_admin_screens_open(db: Any) -> None:
    from tests.fixtures import make_user

    boss = make_user("root", is_staff=True, is_superuser=True)
    client = Client()
    client.force_login(boss)
    for model in (
        "businesscalendar",
        "slapolicy",
        "queue",
        "goodwilllimit",
        "case",
        "call",
        "goodwillcredit",
    ):
        assert client.get(f"/admin/service/{model}/").status_code == 200, model
        assert client.get(f"/admin/service/{model}/add/").status_code in (200, 403), model
