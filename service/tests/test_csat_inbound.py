"""CSAT surveys (signed, one use, no login) and inbound e-mail (shared secret, threading
by Message-ID / In-Reply-To, customer matched by e-mail)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.core import mail, signing
from django.test import override_settings

from customers.models import Activity, Customer
from service import services as case_services
from service.loop import csat
from service.loop.models import CsatSurvey, InboundEmail
from service.models import Case, CaseNote
from service.tests.loop_setup import a_case, a_customer

pytestmark = pytest.mark.django_db
SECRET = "s3cret-inbound"
INBOUND = "/api/v1/service/inbound-email/"


def _resolved_case(agent: Any) -> Case:
    case = a_case(agent, a_customer(agent, "Ada"))
    return case_services.case_transition(
        actor=agent, case_id=case.pk, status="resolved", resolution="Replaced"
    )


def _token_from_mail() -> str:
    match = re.search(r"/service/csat/([^/\s]+)/", mail.outbox[-1].body)
    assert match
    return match.group(1)


def test_a_resolved_case_gets_one_survey_e_mail(agent: Any, django_capture_on_commit_callbacks: Any) -> None:
    case = _resolved_case(agent)
    with django_capture_on_commit_callbacks(execute=True):
        assert csat.csat_sweep().sent == 1
    with django_capture_on_commit_callbacks(execute=True):
        assert csat.csat_sweep().sent == 0
    assert CsatSurvey.objects.filter(case=case).count() == 1
    assert len(mail.outbox) == 1
    assert case.reference in mail.outbox[0].subject


def test_the_answer_lands_on_the_case_and_the_timeline_once(
    agent: Any, client: Any, django_capture_on_commit_callbacks: Any
) -> None:
    # given
    case = _resolved_case(agent)
    with django_capture_on_commit_callbacks(execute=True):
        csat.csat_sweep()
    token = _token_from_mail()
    # when: the customer answers through the public API, no login
    url = f"/api/v1/service/csat/{token}/"
    assert client.get(url).json()["case"] == case.reference
    first = client.put(url, {"score": 4, "comment": "Quick and kind"}, content_type="application/json")
    again = client.put(url, {"score": 1, "comment": "changed my mind"}, content_type="application/json")
    # then
    assert first.status_code == 200, first.content
    assert again.status_code == 400
    assert "already answered" in again.json()["detail"]
    case.refresh_from_db()
    assert case.csat_score == 4
    survey = CsatSurvey.objects.get()
    assert (survey.score, survey.comment) == (4, "Quick and kind")
    assert Activity.objects.filter(kind="csat_answered", customer=case.customer).count() == 1


@pytest.mark.parametrize("score", [0, 6, 5.5, "five", None])
def test_a_score_outside_1_to_5_is_refused_and_nothing_written(
    agent: Any, client: Any, score: Any, django_capture_on_commit_callbacks: Any
) -> None:
    _resolved_case(agent)
    with django_capture_on_commit_callbacks(execute=True):
        csat.csat_sweep()
    response = client.put(
        f"/api/v1/service/csat/{_token_from_mail()}/", {"score": score}, content_type="application/json"
    )
    assert response.status_code == 400
    assert CsatSurvey.objects.get().answered_at is None


def test_a_forged_token_is_refused(agent: Any, client: Any) -> None:
    _resolved_case(agent)
    survey = csat.csat_survey_send(case_id=Case.objects.get().pk)
    forged = signing.dumps({"s": survey.pk, "n": survey.nonce}, salt="another.salt")
    wrong_nonce = signing.dumps({"s": survey.pk, "n": "0" * 32}, salt=csat.SALT)
    for token in (forged, wrong_nonce, csat.survey_token(survey)[:-3] + "abc"):
        response = client.put(f"/api/v1/service/csat/{token}/", {"score": 5}, content_type="application/json")
        assert response.status_code == 400
        assert "not valid" in response.json()["detail"]
    assert CsatSurvey.objects.get().answered_at is None
    assert Case.objects.get().csat_score is None


def test_the_survey_page_works_without_login(agent: Any, client: Any) -> None:
    _resolved_case(agent)
    survey = csat.csat_survey_send(case_id=Case.objects.get().pk)
    url = f"/service/csat/{csat.survey_token(survey)}/"
    assert client.get(url).status_code == 200
    assert "Thank you" in client.post(url, {"score": "5", "comment": "Great"}).content.decode()
    assert client.post(url, {"score": "5"}).status_code == 400


# --- inbound e-mail -------------------------------------------------------------------------


def _mail(message_id: str, **extra: Any) -> dict[str, Any]:
    return {
        "from": "Ada Tester <ADA@example.com>",
        "subject": "Broken again",
        "text": "Hello, it broke.",
        "Message-Id": message_id,
        **extra,
    }


@override_settings(SERVICE_INBOUND_EMAIL_SECRET=SECRET)
def test_an_e_mail_opens_a_case_for_the_matching_customer_and_a_reply_threads_into_it(
    agent: Any, client: Any
) -> None:
    # given
    ada = a_customer(agent, "Ada")
    # when
    first = client.post(
        INBOUND, _mail("<m1@mail.test>"), content_type="application/json", HTTP_X_INBOUND_SECRET=SECRET
    )
    reply = client.post(
        INBOUND,
        _mail("<m2@mail.test>", **{"In-Reply-To": "<m1@mail.test>", "text": "Still broken"}),
        content_type="application/json",
        HTTP_X_INBOUND_SECRET=SECRET,
    )
    retry = client.post(
        INBOUND, _mail("<m2@mail.test>"), content_type="application/json", HTTP_X_INBOUND_SECRET=SECRET
    )
    # then
    assert first.status_code == 201, first.content
    case = Case.objects.get()
    assert (case.customer_id, case.channel, first.json()["threaded"]) == (ada.pk, "email", False)
    assert reply.json()["case"] == case.pk
    assert reply.json()["threaded"] is True
    assert retry.json()["id"] == reply.json()["id"]
    assert InboundEmail.objects.count() == 2
    assert CaseNote.objects.filter(case=case, body__contains="Still broken").exists()


@override_settings(SERVICE_INBOUND_EMAIL_SECRET=SECRET)
def test_a_reply_to_our_survey_threads_into_its_case(
    agent: Any, client: Any, django_capture_on_commit_callbacks: Any
) -> None:
    case = _resolved_case(agent)
    with django_capture_on_commit_callbacks(execute=True):
        csat.csat_sweep()
    ours = mail.outbox[-1].extra_headers["Message-ID"]
    response = client.post(
        INBOUND,
        _mail("<r1@mail.test>", References=f"<x@y> {ours}"),
        content_type="application/json",
        HTTP_X_INBOUND_SECRET=SECRET,
    )
    assert response.json()["case"] == case.pk


@override_settings(SERVICE_INBOUND_EMAIL_SECRET=SECRET)
def test_an_unknown_sender_becomes_a_customer(client: Any) -> None:
    response = client.post(
        INBOUND, _mail("<n1@mail.test>"), content_type="application/json", HTTP_X_INBOUND_SECRET=SECRET
    )
    assert response.status_code == 201
    assert Customer.objects.get().display_name == "Ada Tester"


@override_settings(SERVICE_INBOUND_EMAIL_SECRET=SECRET)
@pytest.mark.parametrize(
    ("headers", "body", "status"),
    [
        ({}, _mail("<a@b>"), 403),
        ({"HTTP_X_INBOUND_SECRET": "wrong"}, _mail("<a@b>"), 403),
        ({"HTTP_X_INBOUND_SECRET": SECRET}, {**_mail("<a@b>"), "from": ""}, 400),
        ({"HTTP_X_INBOUND_SECRET": SECRET}, {**_mail(""), "Message-Id": ""}, 400),
    ],
)
def test_a_bad_secret_or_no_sender_writes_nothing(
    client: Any, headers: dict[str, str], body: dict[str, Any], status: int
) -> None:
    response = client.post(INBOUND, body, content_type="application/json", **headers)
    assert response.status_code == status
    assert not InboundEmail.objects.exists()
    assert not Case.objects.exists()
    assert not Customer.objects.exists()


def test_without_a_configured_secret_the_endpoint_is_closed(client: Any) -> None:
    response = client.post(INBOUND, _mail("<a@b>"), content_type="application/json", HTTP_X_INBOUND_SECRET="")
    assert response.status_code == 403
