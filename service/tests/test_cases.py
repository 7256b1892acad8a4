"""Cases: opened through the service (timeline, audit), over the API and the pages, on
the 360 view, and re-pointed by a merge."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client
from django.urls import reverse

from customers.merge import customer_merge
from customers.models import Activity
from customers.tests.factories import PersonFactory
from frontoffice import plugin
from frontoffice.actors import DEMO_SEED
from frontoffice.write_path import MissingActor
from service import services
from service.models import Case
from service.selectors import open_cases_panel
from tests.api_contract import snapshot
from tests.fixtures import client_for

pytestmark = pytest.mark.django_db


def open_case(actor: Any, customer: Any, **overrides: Any) -> Case:
    fields = {"kind": "complaint", "channel": "phone", "subject": "Parcel arrived damaged"}
    fields.update(overrides)
    return services.case_open(actor=actor, customer_id=customer.pk, **fields)


def page_client(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


# --- the service ---------------------------------------------------------------------


def test_opening_a_case_writes_it_with_who_opened_it_and_a_linked_timeline_entry(agent: Any) -> None:
    # given
    customer = PersonFactory()

    # when
    case = open_case(agent, customer, description="Box crushed at one corner.")

    # then
    entry = Activity.objects.get(customer=customer, kind="case_opened")
    assert (case.status, case.opened_by, entry.actor) == ("new", agent, agent)
    assert entry.ref_type == "service.case"
    assert entry.ref_id == str(case.pk)
    assert case.history.get().history_user == agent
    html = page_client(agent).get(reverse("customers:detail", args=[customer.pk])).content.decode()
    assert f'href="{reverse("service:case_detail", args=[case.pk])}"' in html
    assert "Case opened" in html


@pytest.mark.parametrize(
    ("overrides", "keys"),
    [
        ({"kind": "praise"}, {"kind"}),
        ({"channel": "pigeon"}, {"channel"}),
        ({"priority": "whenever"}, {"priority"}),
        ({"subject": ""}, {"subject"}),
        ({"subject": "x" * 201}, {"subject"}),
        ({"subject": "nul\x00"}, {"subject"}),
    ],
)
def test_bad_input_is_refused_with_its_fields_and_nothing_is_written(
    agent: Any, overrides: dict[str, Any], keys: set[str]
) -> None:
    customer = PersonFactory()
    before = (snapshot(Case), snapshot(Activity))
    with pytest.raises(ValidationError) as caught:
        open_case(agent, customer, **overrides)
    assert set(caught.value.message_dict) == keys
    assert (snapshot(Case), snapshot(Activity)) == before


def test_a_case_for_a_merged_customer_is_refused_naming_the_survivor(agent: Any, supervisor: Any) -> None:
    survivor, duplicate = PersonFactory(), PersonFactory()
    customer_merge(actor=supervisor, survivor_id=survivor.pk, duplicate_id=duplicate.pk)
    with pytest.raises(ValidationError, match=f"merged into customer {survivor.pk}"):
        open_case(agent, duplicate)


def test_only_roles_that_work_cases_open_them_and_the_system_names_itself(
    marketer: Any, back_office: Any
) -> None:
    customer = PersonFactory()
    for user in (marketer, back_office):
        with pytest.raises(PermissionDenied):
            open_case(user, customer)
    with pytest.raises(MissingActor):
        open_case(None, customer)
    case = open_case(DEMO_SEED, customer)
    assert case.opened_by is None
    assert case.history.get().history_change_reason == "System (demo data)"


def test_a_merge_moves_the_duplicates_cases_to_the_survivor(agent: Any, supervisor: Any) -> None:
    survivor, duplicate = PersonFactory(), PersonFactory()
    case = open_case(agent, duplicate)
    customer_merge(actor=supervisor, survivor_id=survivor.pk, duplicate_id=duplicate.pk)
    case.refresh_from_db()
    assert case.customer_id == survivor.pk


# --- the 360 panel -------------------------------------------------------------------------


@pytest.mark.parametrize("open_cases", [0, 30])
def test_the_open_cases_panel_stays_within_its_query_budget(
    agent: Any, open_cases: int, django_assert_max_num_queries: Any
) -> None:
    # given
    customer = PersonFactory()
    for n in range(open_cases):
        open_case(agent, customer, subject=f"Case {n}")
    budget = plugin.panel("open_cases")
    assert budget is not None

    # when
    with django_assert_max_num_queries(budget.query_budget):
        data = open_cases_panel(customer=customer, actor=agent)

    # then
    assert len(data["cases"]) == min(open_cases, 5)
    assert data["more"] is (open_cases > 5)
    assert budget.serializer is not None
    assert budget.serializer(data=data).is_valid()


# --- the API -------------------------------------------------------------------------------


def test_an_agent_opens_a_case_over_the_api(agent: Any) -> None:
    customer = PersonFactory()
    response = client_for(agent).post(
        "/api/v1/service/cases/",
        {"customer": customer.pk, "kind": "request", "channel": "email", "subject": "Copy of invoice"},
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert response["Location"] == reverse("service-case-detail", args=[body["id"]])
    assert response["ETag"] == '"1"'
    assert (body["reference"], body["customer_name"]) == (f"C-{body['id']:06d}", customer.display_name)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"kind": "request", "channel": "email", "subject": "x"}, "customer"),
        ({"customer": 10**30, "kind": "request", "channel": "email", "subject": "x"}, "customer"),
        ({"customer": 999999, "kind": "request", "channel": "email", "subject": "x"}, "customer"),
        ({"customer": "{pk}", "kind": "rant", "channel": "email", "subject": "x"}, "kind"),
        ({"customer": "{pk}", "kind": "request", "channel": "email", "subject": "x", "sla": 1}, "sla"),
    ],
)
def test_bad_api_input_is_a_400_naming_the_field(agent: Any, body: dict[str, Any], field: str) -> None:
    customer = PersonFactory()
    body = {k: (customer.pk if v == "{pk}" else v) for k, v in body.items()}
    response = client_for(agent).post("/api/v1/service/cases/", body, format="json")
    assert response.status_code == 400
    assert field in response.json()["errors"]
    assert not Case.objects.exists()


def test_read_only_roles_read_cases_but_cannot_open_them(agent: Any, back_office: Any, marketer: Any) -> None:
    customer = PersonFactory()
    open_case(agent, customer)
    body = {"customer": customer.pk, "kind": "request", "channel": "email", "subject": "x"}
    assert client_for(back_office).get("/api/v1/service/cases/").status_code == 200
    assert client_for(back_office).post("/api/v1/service/cases/", body, format="json").status_code == 403
    assert client_for(marketer).get("/api/v1/service/cases/").status_code == 403


@pytest.mark.parametrize("cases", [0, 60])
def test_the_case_list_costs_the_same_queries_whatever_its_length(
    agent: Any, cases: int, django_assert_max_num_queries: Any
) -> None:
    customer = PersonFactory()
    for n in range(cases):
        open_case(agent, customer, subject=f"Case {n}", priority="high" if n % 2 else "normal")
    client = client_for(agent)
    with django_assert_max_num_queries(6):
        response = client.get("/api/v1/service/cases/", {"priority": "high", "status": "new"})
    assert response.status_code == 200
    assert len(response.json()["results"]) == cases // 2


# --- pages ---------------------------------------------------------------------------------


def test_an_agent_opens_a_case_from_a_customers_page(agent: Any) -> None:
    customer = PersonFactory()
    client = page_client(agent)
    form = client.get(reverse("service:case_open"), {"customer": customer.pk})
    response = client.post(
        reverse("service:case_open"),
        {
            "customer": customer.pk,
            "kind": "complaint",
            "channel": "phone",
            "priority": "high",
            "subject": "Late",
        },
    )
    case = Case.objects.get()
    assert form.status_code == 200
    assert response.status_code == 302
    assert response["Location"] == reverse("service:case_detail", args=[case.pk])
    listing = client.get(reverse("service:case_list"), {"priority": "high"}).content.decode()
    assert case.reference in listing


def test_a_refused_case_form_shows_the_error_next_to_its_field(agent: Any) -> None:
    customer = PersonFactory()
    response = page_client(agent).post(
        reverse("service:case_open"),
        {
            "customer": customer.pk,
            "kind": "complaint",
            "channel": "phone",
            "priority": "normal",
            "subject": "",
        },
    )
    assert response.status_code == 400
    assert "Say what the case is about." in response.content.decode()
    assert not Case.objects.exists()


def test_the_cases_entry_shows_in_the_navigation_of_those_who_may_read_cases(
    agent: Any, marketer: Any
) -> None:
    url = reverse("service:case_list")
    assert f'href="{url}"' in page_client(agent).get(reverse("dashboard")).content.decode()
    assert f'href="{url}"' not in page_client(marketer).get(reverse("dashboard")).content.decode()
    assert page_client(marketer).get(url).status_code == 403
