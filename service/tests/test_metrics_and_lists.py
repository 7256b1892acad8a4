"""The measures (FCR, SLA attainment, medians, CSAT, complaints per 100 orders) per
period and queue, and the query budgets of case lists and queues at 0 and 300 cases."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from sales.orders import services as order_services
from sales.tests.order_setup import a_sent_quote
from service import services
from service.calls import call_log
from service.models import Case
from service.selectors_metrics import service_metrics
from service.tests.conftest import at
from tests.fixtures import client_for

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("policies", "queues")]


def test_the_measures_count_what_happened_in_the_period(open_case: Callable[..., Case], agent: Any) -> None:
    # given, on Monday 7 December: a call resolved on first contact, a case resolved in time
    # after 30 minutes and rated 4, one resolved late, an open complaint
    with time_machine.travel(at(7, 9), tick=False):
        caller = open_case().customer
        call_log(
            actor=agent,
            customer_id=caller.pk,
            direction="inbound",
            duration_seconds=60,
            outcome="resolved",
            notes="Told them.",
            new_case={"subject": "Hours?"},
            resolved_on_first_contact=True,
        )
        quick, slow = open_case(kind="enquiry"), open_case(kind="request")
    with time_machine.travel(at(7, 9, 30), tick=False):
        services.case_transition(actor=agent, case_id=quick.pk, status="resolved", resolution="Done.")
        Case.objects.filter(pk=quick.pk).update(csat_score=4)
    with time_machine.travel(at(10, 9), tick=False):
        services.case_transition(actor=agent, case_id=slow.pk, status="resolved", resolution="Late.")
    # when
    data = service_metrics(start=at(7, 0), end=at(14, 0))
    # then: 4 opened (1 complaint), 3 resolved, 1 of them on first contact, 2 of 3 in time
    total = data["total"]
    assert (total["opened"], total["resolved"], total["complaints"]) == (4, 3, 1)
    assert total["fcr_rate"] == round(1 / 3, 4)
    assert total["sla_attainment"] == round(2 / 3, 4)
    assert total["median_resolution_minutes"] == 30.0
    assert (total["csat_average"], total["csat_answers"]) == (4.0, 1)
    assert total["complaints_per_100_orders"] is None  # no order in the period
    assert [q["queue"] for q in data["queues"]] == ["Front line"]
    assert data["queues"][0]["opened"] == 4
    # and nothing of it counts in another week
    assert service_metrics(start=at(14, 0), end=at(21, 0))["total"]["opened"] == 0


def test_complaints_are_counted_per_100_orders_placed_in_the_period(
    open_case: Callable[..., Case], sales_rep: Any
) -> None:
    # given, in the week of Monday 7 December: 4 orders placed, 1 complaint and 1 enquiry
    with time_machine.travel(at(8, 10), tick=False):
        for n in range(4):
            quote = a_sent_quote(sales_rep, catalogue=n == 0)
            order_services.quote_accept(actor=sales_rep, quote_id=quote.pk, expected_version=quote.version)
        open_case(kind="complaint")
        open_case(kind="enquiry")
    # when
    week = service_metrics(start=at(7, 0), end=at(14, 0))
    # then: 1 complaint per 4 orders is 25 per 100; the week after has neither
    assert (week["orders"], week["total"]["complaints"]) == (4, 1)
    assert week["total"]["complaints_per_100_orders"] == 25.0
    assert week["queues"][0]["complaints_per_100_orders"] == 25.0
    assert service_metrics(start=at(14, 0), end=at(21, 0))["total"]["complaints_per_100_orders"] is None


def test_the_metrics_api_answers_and_refuses_a_backwards_period(agent: Any, marketer: Any) -> None:
    ok = client_for(agent).get("/api/v1/service/metrics/", {"start": "2026-11-01T00:00:00Z"})
    assert ok.status_code == 200
    assert set(ok.json()["total"]) >= {
        "fcr_rate",
        "sla_attainment",
        "csat_average",
        "complaints_per_100_orders",
    }
    bad = client_for(agent).get(
        "/api/v1/service/metrics/", {"start": "2026-12-01T00:00:00Z", "end": "2026-11-01T00:00:00Z"}
    )
    assert bad.status_code == 400
    assert client_for(marketer).get("/api/v1/service/metrics/").status_code == 403


def _many(customer_case: Case, count: int, **fields: Any) -> None:
    Case.objects.bulk_create(
        [
            Case(
                customer_id=customer_case.customer_id,
                kind="enquiry",
                channel="email",
                subject=f"Bulk {n}",
                queue_id=customer_case.queue_id,
                assignee_id=customer_case.assignee_id,
                sla_breached=n % 2 == 0,
                **fields,
            )
            for n in range(count)
        ]
    )


@pytest.mark.parametrize("cases", [0, 300])
def test_case_lists_and_queues_cost_the_same_queries_with_0_or_300_cases(
    cases: int, open_case: Callable[..., Case], agent: Any, queues: Any, django_assert_max_num_queries: Any
) -> None:
    first = open_case()
    _many(first, cases)
    api = client_for(agent)
    pages = Client()
    pages.force_login(agent)
    front = queues["front"].pk
    with django_assert_max_num_queries(7):
        listed = api.get(
            "/api/v1/service/cases/",
            {
                "queue": front,
                "sla_breached": "true",
                "status": "new",
                "created_after": "2000-01-01T00:00:00Z",
            },
        )
    assert listed.status_code == 200
    assert len(listed.json()["results"]) == min(cases // 2, 50)
    with django_assert_max_num_queries(7):
        assert api.get("/api/v1/service/queues/").status_code == 200
    for url in (
        reverse("service:queue_detail", args=[front]),
        reverse("service:my_cases"),
        reverse("service:case_list"),
    ):
        with django_assert_max_num_queries(14):
            assert pages.get(url).status_code == 200


def test_every_case_filter_narrows_the_list(open_case: Callable[..., Case], agent: Any, agent2: Any) -> None:
    a = open_case(priority="high")
    b = open_case(kind="enquiry")
    Case.objects.filter(pk=b.pk).update(sla_breached=True)
    api = client_for(agent)

    def ids(**params: Any) -> set[int]:
        return {row["id"] for row in api.get("/api/v1/service/cases/", params).json()["results"]}

    assert ids(priority="high") == {a.pk}
    assert ids(sla_breached="true") == {b.pk}
    assert ids(assignee=agent.pk) == {a.pk}
    assert ids(assignee=agent2.pk) == {b.pk}
    assert ids(customer=a.customer_id) == {a.pk}
    assert ids(status="new", queue=a.queue_id) == {a.pk, b.pk}
    assert ids(created_before=(a.created_at - dt.timedelta(seconds=1)).isoformat()) == set()
