"""Canned responses and knowledge-base articles: written by supervisors, searched and
inserted by agents."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from service.loop import knowledge
from service.models import CaseNote
from service.tests.loop_setup import a_case, a_customer
from tests.fixtures import client_for

pytestmark = pytest.mark.django_db


def test_agents_search_articles_by_every_word(supervisor: Any, agent: Any) -> None:
    knowledge.article_create(
        actor=supervisor, title="Returns policy", body="Refund within 30 days", keywords="refund return"
    )
    knowledge.article_create(actor=supervisor, title="Shipping times", body="Two to five days")
    knowledge.article_create(actor=supervisor, title="Draft", body="refund secret", is_published=False)
    api = client_for(agent)
    titles = [
        a["title"] for a in api.get("/api/v1/service/articles/", {"q": "refund days"}).json()["results"]
    ]
    assert titles == ["Returns policy"]
    assert len(api.get("/api/v1/service/articles/").json()["results"]) == 2


def test_an_agent_cannot_write_articles(agent: Any) -> None:
    with pytest.raises(PermissionDenied):
        knowledge.article_create(actor=agent, title="T", body="B")
    assert (
        client_for(agent)
        .post("/api/v1/service/articles/", {"title": "T", "body": "B"}, format="json")
        .status_code
        == 403
    )


def test_a_canned_response_with_a_bad_placeholder_is_refused(supervisor: Any) -> None:
    with pytest.raises(ValidationError):
        knowledge.canned_create(actor=supervisor, title="Hi", body="Dear {{ customer.password }}")


def test_an_agent_inserts_a_canned_response_rendered_for_the_customer(supervisor: Any, agent: Any) -> None:
    # given
    canned = knowledge.canned_create(
        actor=supervisor,
        title="Sorry",
        body="Dear {{ customer.first_name }}, sorry about {{ case.reference }}.",
    )
    case = a_case(agent, a_customer(agent, "Ada"))
    api = client_for(agent)
    # when
    found = api.get("/api/v1/service/canned-responses/", {"q": "sorry"}).json()["results"]
    inserted = api.post(
        f"/api/v1/service/canned-responses/{canned.pk}/insert/", {"case": case.pk}, format="json"
    )
    # then
    assert [c["id"] for c in found] == [canned.pk]
    assert inserted.status_code == 200, inserted.content
    assert inserted.json()["body"] == f"Dear Ada, sorry about {case.reference}."
    assert CaseNote.objects.filter(case=case, visibility="public", body=inserted.json()["body"]).exists()


def test_articles_update_with_if_match(supervisor: Any) -> None:
    api = client_for(supervisor)
    created = api.post("/api/v1/service/articles/", {"title": "T", "body": "B"}, format="json")
    url = f"/api/v1/service/articles/{created.json()['id']}/"
    assert api.patch(url, {"title": "T2"}, format="json", HTTP_IF_MATCH='"9"').status_code == 412
    assert (
        api.patch(url, {"title": "T2"}, format="json", HTTP_IF_MATCH=created["ETag"]).json()["title"] == "T2"
    )


def test_the_demo_step_seeds_fixed_problems_answers_and_a_knowledge_base(agent: Any) -> None:
    # given: a few customers with an open case each
    from service.loop.demo import seed_loop
    from service.loop.models import Article, CsatSurvey, Problem

    for name in ("Ada", "Bob", "Cy", "Di", "Ed"):
        a_case(agent, a_customer(agent, name))
    # when
    summary = seed_loop({"if_empty": True})
    # then
    assert summary.startswith("2 problems fixed")
    assert Problem.objects.filter(status="resolved").count() == 2
    assert Article.objects.count() == 3
    assert CsatSurvey.objects.filter(answered_at__isnull=False).exists()
    assert seed_loop({"if_empty": True}) == "service loop already there"
