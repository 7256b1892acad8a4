"""The closed loop: systemic problems link cases, are routed to a back-office team,
and their resolution reaches every case, its agent and (when asked) each customer once."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError

from customers.outbound.models import OutboundMessage
from frontoffice.errors import Conflict
from service.loop import problems, selectors
from service.loop.choices import ProblemStatus
from service.loop.models import Problem, ProblemCase
from service.models import AgentNotification, CaseNote
from service.tests.loop_setup import a_case, a_customer
from tests.fixtures import client_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_cases(agent: Any) -> list[Any]:
    ada, bob = a_customer(agent, "Ada"), a_customer(agent, "Bob")
    return [a_case(agent, ada), a_case(agent, ada, subject="Second parcel broken"), a_case(agent, bob)]


def test_a_problem_is_routed_by_category_and_links_its_cases(agent: Any, two_cases: list[Any]) -> None:
    problem = problems.problem_open(
        actor=agent, title="Carrier crushes parcels", category="delivery", case_ids=[c.pk for c in two_cases]
    )
    assert problem.team == "logistics"
    assert ProblemCase.objects.filter(problem=problem).count() == 3
    assert CaseNote.objects.filter(case=two_cases[0], body__contains=problem.reference).exists()


def test_a_case_belongs_to_one_problem_only(agent: Any, two_cases: list[Any]) -> None:
    first = problems.problem_open(actor=agent, title="A", category="delivery", case_ids=[two_cases[0].pk])
    with pytest.raises(Conflict) as error:  # a valid request the case's state refuses
        problems.problem_open(actor=agent, title="B", category="delivery", case_ids=[two_cases[0].pk])
    assert first.reference in str(error.value)
    assert Problem.objects.count() == 1


def test_resolving_notes_every_case_notifies_agents_and_tells_each_customer_once(
    agent: Any, back_office: Any, two_cases: list[Any], django_capture_on_commit_callbacks: Any
) -> None:
    # given
    problem = problems.problem_open(
        actor=agent, title="Crushed", category="delivery", case_ids=[c.pk for c in two_cases]
    )
    # when
    with django_capture_on_commit_callbacks(execute=True):
        resolved = problems.problem_resolve(
            actor=back_office,
            problem_id=problem.pk,
            fix="New packaging",
            root_cause="Thin boxes",
            inform_customers=True,
            expected_version=problem.version,
        )
    # then
    assert resolved.status == ProblemStatus.RESOLVED
    assert resolved.customers_informed == 2
    assert all(CaseNote.objects.filter(case=c, body__contains="New packaging").exists() for c in two_cases)
    assert AgentNotification.objects.filter(recipient=agent, kind="problem_resolved").count() == 3
    assert sorted(m.to[0] for m in mail.outbox) == ["ada@example.com", "bob@example.com"]
    assert "New packaging" in mail.outbox[0].body
    assert not ProblemCase.objects.filter(notified_at__isnull=True).exists()


def test_resolving_without_a_fix_writes_nothing(agent: Any, back_office: Any, two_cases: list[Any]) -> None:
    problem = problems.problem_open(
        actor=agent, title="Crushed", category="delivery", case_ids=[two_cases[0].pk]
    )
    with pytest.raises(ValidationError):
        problems.problem_resolve(actor=back_office, problem_id=problem.pk, fix=" ")
    problem.refresh_from_db()
    assert problem.status == ProblemStatus.OPEN
    assert not AgentNotification.objects.filter(kind="problem_resolved").exists()
    assert not OutboundMessage.objects.exists()


def test_an_agent_cannot_resolve_and_the_back_office_cannot_flag(
    agent: Any, back_office: Any, two_cases: list[Any]
) -> None:
    problem = problems.problem_open(actor=agent, title="Crushed", category="delivery")
    with pytest.raises(PermissionDenied):
        problems.problem_resolve(actor=agent, problem_id=problem.pk, fix="x")
    with pytest.raises(PermissionDenied):
        problems.case_flag_systemic(actor=back_office, case_id=two_cases[0].pk)


def test_a_flagged_case_gets_the_open_problem_of_its_category_with_most_cases(
    agent: Any, two_cases: list[Any]
) -> None:
    # given: two open delivery problems, one with more cases, and a billing one
    problems.problem_open(actor=agent, title="Small", category="delivery", case_ids=[two_cases[0].pk])
    big = problems.problem_open(
        actor=agent, title="Big", category="delivery", case_ids=[two_cases[1].pk, two_cases[2].pk]
    )
    problems.problem_open(actor=agent, title="Billing", category="billing")
    other = a_case(agent, two_cases[0].customer, subject="Late again")
    # when
    flag = problems.case_flag_systemic(actor=agent, case_id=other.pk)
    # then
    assert flag.category == "delivery"
    assert problems.problem_suggestion(category=flag.category, product=None) == big


def test_resolved_problems_are_not_suggested(agent: Any, back_office: Any, two_cases: list[Any]) -> None:
    problem = problems.problem_open(actor=agent, title="Crushed", category="delivery")
    problems.problem_resolve(actor=back_office, problem_id=problem.pk, fix="Done")
    assert problems.problem_suggestion(category="delivery", product=None) is None


def test_the_api_opens_routes_links_and_resolves(agent: Any, back_office: Any, two_cases: list[Any]) -> None:
    # given
    agent_api, team_api = client_for(agent), client_for(back_office)
    created = agent_api.post(
        "/api/v1/service/problems/",
        {"title": "Crushed", "category": "delivery", "team": "warehouse", "case_ids": [two_cases[0].pk]},
        format="json",
    )
    assert created.status_code == 201, created.content
    url = f"/api/v1/service/problems/{created.json()['id']}/"
    # when
    linked = agent_api.post(url + "link/", {"case_ids": [two_cases[1].pk]}, format="json")
    refused = agent_api.post(url + "resolve/", {"fix": "x"}, format="json")
    taken = team_api.patch(url, {"status": "investigating"}, format="json", HTTP_IF_MATCH=linked["ETag"])
    resolved = team_api.post(url + "resolve/", {"fix": "Boxes"}, format="json")
    # then
    assert linked.json()["cases"] == [two_cases[0].pk, two_cases[1].pk]
    assert refused.status_code == 403
    assert taken.status_code == 200, taken.content
    assert resolved.json()["status"] == "resolved"
    queue = team_api.get("/api/v1/service/problems/", {"team": "warehouse"}).json()["results"]
    assert [p["case_count"] for p in queue] == [2]


def test_bad_input_is_a_400(agent: Any) -> None:
    response = client_for(agent).post(
        "/api/v1/service/problems/",
        {"title": "", "category": "delivery", "case_ids": [999999]},
        format="json",
    )
    assert response.status_code == 400
    assert not Problem.objects.exists()


def test_flagging_through_the_api_answers_a_suggestion(agent: Any, two_cases: list[Any]) -> None:
    problem = problems.problem_open(
        actor=agent, title="Crushed", category="delivery", case_ids=[two_cases[0].pk]
    )
    response = client_for(agent).post(
        "/api/v1/service/systemic-flags/", {"case": two_cases[1].pk}, format="json"
    )
    assert response.status_code == 201, response.content
    assert response.json()["suggested_problem"]["id"] == problem.pk


def test_the_pages_queue_detail_flag_and_voice(
    client: Any, agent: Any, back_office: Any, two_cases: list[Any]
) -> None:
    # given
    problem = problems.problem_open(
        actor=agent, title="Crushed parcels", category="delivery", case_ids=[two_cases[0].pk]
    )
    client.force_login(agent)
    # when: the agent flags a case and links it to the suggestion
    assert (
        client.post(f"/service/cases/{two_cases[1].pk}/systemic/", {"category": "delivery"}).status_code
        == 302
    )
    page = client.get(f"/service/cases/{two_cases[1].pk}/systemic/").content.decode()
    assert problem.reference in page
    client.post(f"/service/cases/{two_cases[1].pk}/systemic/link/{problem.pk}/")
    # then: the back office sees it in its team queue and resolves it
    client.force_login(back_office)
    assert "Crushed parcels" in client.get("/service/problems/team/logistics/").content.decode()
    response = client.post(
        f"/service/problems/{problem.pk}/",
        {"action": "resolve", "fix": "Stronger boxes", "version": problem.version + 1},
    )
    assert response.status_code == 302
    assert Problem.objects.get().status == "resolved"
    assert "Complaints per category" in client.get("/service/voice-of-the-customer/").content.decode()


def test_the_queue_and_voice_have_fixed_query_counts(
    agent: Any, two_cases: list[Any], django_assert_max_num_queries: Any
) -> None:
    with django_assert_max_num_queries(6):
        selectors.voice_of_customer()
        list(selectors.problem_list(team="logistics"))
    for i in range(20):
        problems.problem_open(actor=agent, title=f"P{i}", category="delivery")
    with django_assert_max_num_queries(6):
        voice = selectors.voice_of_customer()
        assert len(list(selectors.problem_list(team="logistics"))) == 20
    assert sum(t.total for t in voice.trends) == 3


def test_from_a_case_page_an_agent_reaches_the_flag_and_the_suggested_problem(
    client: Any, agent: Any, back_office: Any, two_cases: list[Any]
) -> None:
    # given: an open delivery problem, and another case the agent is on
    problem = problems.problem_open(
        actor=agent, title="Crushed parcels", category="delivery", case_ids=[two_cases[0].pk]
    )
    client.force_login(agent)
    case_page = client.get(f"/service/cases/{two_cases[1].pk}/").content.decode()
    # when: the agent follows the case page's "likely systemic" link and flags the case
    link = re.search(r'href="([^"]+)" id="case-systemic"', case_page)
    assert link is not None, "the case page has no link to flag the case"
    assert client.get(link.group(1)).status_code == 200
    assert client.post(link.group(1), {"category": "delivery"}).status_code == 302
    # then: the flag page suggests the open problem of that category
    flagged = client.get(link.group(1)).content.decode()
    assert f'href="/service/problems/{problem.pk}/"' in flagged
    assert 'id="case-link-suggestion"' in flagged
    # and whoever may not flag sees no such link
    client.force_login(back_office)
    assert 'id="case-systemic"' not in client.get(f"/service/cases/{two_cases[1].pk}/").content.decode()


def test_the_voice_of_the_customer_counts_complaints_per_category_and_week_with_praise(agent: Any) -> None:
    # given: over three weeks, delivery complaints (2 this week, 1 two weeks ago), a
    # billing one last week, an enquiry (not a complaint), and two CSAT answers
    import datetime as dt

    import time_machine
    from django.utils import timezone

    from service import services
    from service.loop import csat

    now = timezone.now()
    ada = a_customer(agent, "Ada")
    with time_machine.travel(now - dt.timedelta(days=14), tick=False):
        a_case(agent, ada)
    with time_machine.travel(now - dt.timedelta(days=7), tick=False):
        a_case(agent, ada, category="billing", subject="Charged twice")
    happy, cross = a_case(agent, ada), a_case(agent, ada, subject="Second parcel broken")
    a_case(agent, ada, kind="enquiry", subject="Opening hours?")
    for case, score, comment in ((happy, 5, "Sorted in one call"), (cross, 1, "Nobody called back")):
        services.case_transition(actor=agent, case_id=case.pk, status="resolved", resolution="Replaced")
        survey = csat.csat_survey_send(case_id=case.pk)
        csat.csat_answer(token=csat.survey_token(survey), score=score, comment=comment)
    # when
    voice = selectors.voice_of_customer(now=timezone.now(), weeks=4)
    # then: weekly complaint counts per category, oldest week first, and the CSAT per category
    trends = {t.category: t for t in voice.trends}
    this_week, last_week, two_weeks_ago = (
        voice.weeks.index(
            timezone.localdate(moment) - dt.timedelta(days=timezone.localdate(moment).weekday())
        )
        for moment in (now, now - dt.timedelta(days=7), now - dt.timedelta(days=14))
    )
    assert trends["delivery"].weekly[this_week] == 2
    assert trends["delivery"].weekly[two_weeks_ago] == 1
    assert trends["billing"].weekly[last_week] == 1
    assert (trends["delivery"].total, trends["billing"].total) == (3, 1)
    assert (trends["delivery"].csat, trends["delivery"].csat_answers) == (3.0, 2)
    assert [s.comment for s in voice.praise] == ["Sorted in one call"]
    assert [s.comment for s in voice.criticism] == ["Nobody called back"]
    assert "Opening hours?" not in [c.subject for c in voice.complaints]
