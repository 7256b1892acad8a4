"""REST API v1: /api/v1/activities/ (the timeline across customers; POST logs an
interaction on a customer)."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from customers import services
from customers.merge import customer_merge
from customers.models import Activity, Customer
from customers.timeline import activity_log, activity_record
from customers.timeline_kinds import kind_choices
from frontoffice.actors import ERP_SYNC
from tests.api_contract import (
    CreateContract,
    ListContract,
    RetrieveContract,
    assert_problem,
    follow_pages,
    send_json,
    snapshot,
)

pytestmark = pytest.mark.django_db

LIST = "/api/v1/activities/"
_serial = itertools.count(1)


def person(actor: Any, first: str = "Ada") -> Customer:
    return services.customer_create(actor=actor, kind="person", first_name=first, last_name="Test")


def log(actor: Any, customer: Customer, **fields: Any) -> Activity:
    fields.setdefault("kind", "note")
    fields.setdefault("subject", f"Entry {next(_serial)}")
    return activity_log(actor=actor, customer_id=customer.pk, **fields)


def listed(client: APIClient, **params: Any) -> list[int]:
    return [row["id"] for row in follow_pages(client, f"{LIST}?{urlencode(params)}")]


class TestActivityApiContract(ListContract, RetrieveContract, CreateContract):
    list_url = LIST
    watched_models = (Activity, Customer)
    versioned = False  # timeline entries are immutable
    # token (2) + permissions (2) + one page of rows with their actors
    list_query_budget = 5
    detail_query_budget = 5

    @pytest.fixture
    def customer(self, sales_rep: Any) -> Customer:
        # the writer's own customer: a rep writes only on customers they may edit
        return person(sales_rep)

    @pytest.fixture
    def reader(self, readonly_client: APIClient) -> APIClient:
        return readonly_client

    @pytest.fixture
    def writer(self, api_as: Callable[[Any], APIClient], sales_rep: Any) -> APIClient:
        return api_as(sales_rep)

    @pytest.fixture
    def outsider(self, api_as: Callable[[Any], APIClient], nobody: Any) -> APIClient:
        return api_as(nobody)

    @pytest.fixture
    def make_row(self, agent: Any, customer: Customer) -> Callable[[], Activity]:
        return lambda: log(agent, customer)

    @pytest.fixture(autouse=True)
    def _payload_customer(self, customer: Customer) -> None:
        self.customer_id = customer.pk

    def create_payload(self) -> dict[str, Any]:
        return {
            "customer": self.customer_id,
            "kind": "call",
            "subject": "Called about the renewal",
            "body": "ok",
        }

    def bad_create_payload(self) -> tuple[dict[str, Any], list[str]]:
        return {"customer": "abc", "kind": "invoice", "subject": ""}, ["customer", "kind", "subject"]


# --- POST ------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["note", "call", "email", "meeting"])
def test_staff_log_notes_calls_emails_and_meetings_on_the_customers_timeline(
    api_as: Callable[[Any], APIClient], agent: Any, sales_rep: Any, kind: str
) -> None:
    # given: the rep's own customer (a rep writes only on customers they may edit)
    customer = person(sales_rep)
    client = api_as(sales_rep)
    # when
    response = send_json(client, "POST", LIST, {"customer": customer.pk, "kind": kind, "subject": "Hello"})
    # then
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["customer"], body["kind"], body["source_app"], body["actor"]) == (
        customer.pk,
        kind,
        "customers",
        str(sales_rep),
    )
    timeline = client.get(f"/api/v1/customers/{customer.pk}/timeline/").json()["results"]
    assert timeline[0]["id"] == body["id"]


def test_an_interaction_can_be_logged_in_the_past(api_as: Callable[[Any], APIClient], agent: Any) -> None:
    customer = person(agent)
    when = "2024-05-01T09:30:00+02:00"
    response = send_json(
        api_as(agent),
        "POST",
        LIST,
        {"customer": customer.pk, "kind": "meeting", "subject": "Met", "occurred_at": when},
    )
    assert response.status_code == 201
    assert response.json()["occurred_at"] == "2024-05-01T07:30:00Z"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"kind": "note", "subject": "x"}, "customer"),
        ({"customer": 999_999, "kind": "note", "subject": "x"}, "customer"),
        ({"customer": 0, "kind": "note", "subject": "x"}, "customer"),
        ({"customer": 99999999999999999999999, "kind": "note", "subject": "x"}, "customer"),
        ({"customer": True, "kind": "note", "subject": "x"}, "customer"),
        ({"customer": "CUSTOMER", "kind": "consent", "subject": "x"}, "kind"),
        ({"customer": "CUSTOMER", "kind": "merge", "subject": "x"}, "kind"),
        ({"customer": "CUSTOMER", "kind": "note"}, "subject"),
        ({"customer": "CUSTOMER", "kind": "note", "subject": "x" * 201}, "subject"),
        ({"customer": "CUSTOMER", "kind": "note", "subject": "a\u0000"}, "subject"),
        ({"customer": "CUSTOMER", "kind": "note", "subject": "x", "body": "b" * 20_001}, "body"),
        ({"customer": "CUSTOMER", "kind": "note", "subject": "x", "occurred_at": "yesterday"}, "occurred_at"),
        (
            {"customer": "CUSTOMER", "kind": "note", "subject": "x", "occurred_at": "2999-01-01T00:00:00Z"},
            "occurred_at",
        ),
        (
            {
                "customer": "CUSTOMER",
                "kind": "note",
                "subject": "x",
                "occurred_at": "9999-12-31T23:59:59-14:00",
            },
            "occurred_at",
        ),
        ({"customer": "CUSTOMER", "kind": "note", "subject": "x", "source_app": "sales"}, "source_app"),
        ({"customer": "CUSTOMER", "kind": "note", "subject": "x", "payload": {"a": 1}}, "payload"),
    ],
)
def test_a_bad_activity_is_400_with_the_field_and_writes_nothing(
    api_as: Callable[[Any], APIClient], agent: Any, body: dict[str, Any], field: str
) -> None:
    # given
    customer = person(agent)
    if body.get("customer") == "CUSTOMER":
        body = {**body, "customer": customer.pk}
    before = snapshot(Activity, Customer)
    # when
    response = send_json(api_as(agent), "POST", LIST, body)
    # then
    assert_problem(response, 400, field)
    assert snapshot(Activity, Customer) == before


def test_logging_on_a_merged_customer_names_the_survivor(
    api_as: Callable[[Any], APIClient], agent: Any, supervisor: Any
) -> None:
    survivor, duplicate = person(agent), person(agent, "Ada L.")
    customer_merge(actor=supervisor, survivor_id=survivor.pk, duplicate_id=duplicate.pk)
    before = snapshot(Activity)
    response = send_json(
        api_as(agent), "POST", LIST, {"customer": duplicate.pk, "kind": "note", "subject": "x"}
    )
    body = assert_problem(response, 400, "customer")
    assert str(survivor.pk) in body["errors"]["customer"][0]
    assert snapshot(Activity) == before


# --- GET and its filters ----------------------------------------------------------------


def test_the_list_is_newest_first(api_as: Callable[[Any], APIClient], agent: Any) -> None:
    customer = person(agent)
    now = timezone.now()
    for minutes in (3, 1, 2):
        log(agent, customer, occurred_at=now - dt.timedelta(minutes=minutes))
    rows = follow_pages(api_as(agent), LIST)
    assert [r["occurred_at"] for r in rows] == sorted((r["occurred_at"] for r in rows), reverse=True)


def test_customer_filters_one_customers_entries(api_as: Callable[[Any], APIClient], agent: Any) -> None:
    ada, bob = person(agent), person(agent, "Bob")
    mine = log(agent, ada)
    log(agent, bob)
    assert listed(api_as(agent), customer=ada.pk) == [mine.pk]


def test_kind_filters_by_kind(api_as: Callable[[Any], APIClient], agent: Any) -> None:
    customer = person(agent)
    call = log(agent, customer, kind="call")
    log(agent, customer, kind="note")
    assert listed(api_as(agent), kind="call") == [call.pk]


def test_source_app_filters_by_the_writing_app(api_as: Callable[[Any], APIClient], agent: Any) -> None:
    customer = person(agent)
    from_sales = activity_record(
        customer_id=customer.pk, kind="opportunity.won", subject="Won", actor=agent, source_app="sales"
    )
    log(agent, customer)
    assert listed(api_as(agent), source_app="sales") == [from_sales.pk]


def test_occurred_after_and_before_make_a_window(api_as: Callable[[Any], APIClient], agent: Any) -> None:
    customer = person(agent)
    t0 = dt.datetime(2025, 1, 10, 12, tzinfo=dt.UTC)
    entries = [log(agent, customer, occurred_at=t0 + dt.timedelta(days=d)) for d in range(3)]
    client = api_as(agent)
    day1 = (t0 + dt.timedelta(days=1)).isoformat()
    assert sorted(listed(client, occurred_after=day1)) == sorted(e.pk for e in entries[1:])
    assert listed(client, occurred_before=day1) == [entries[0].pk]


@pytest.mark.parametrize(
    "query",
    [
        "customer=99999999999999999999999",
        "customer=abc",
        "customer=1.5",
        "customer=%00",
        "kind=%00",
        "kind=" + "k" * 51,
        "source_app=%00",
        "occurred_after=abc",
        "occurred_before=0001-01-01T00:00:00%2B14:00",
        "cursor=abc",
        "page_size=201",
    ],
)
def test_bad_query_parameters_are_400(api_as: Callable[[Any], APIClient], agent: Any, query: str) -> None:
    assert_problem(api_as(agent).get(f"{LIST}?{query}"), 400, query.split("=")[0])


def test_activities_cannot_be_changed_or_deleted(
    api_as: Callable[[Any], APIClient], agent: Any, admin_user: Any
) -> None:
    entry = log(agent, person(agent))
    before = snapshot(Activity)
    client = api_as(admin_user)
    for method in ("PUT", "PATCH", "DELETE"):
        assert_problem(send_json(client, method, f"{LIST}{entry.pk}/", {"subject": "changed"}), 405)
    assert snapshot(Activity) == before


# --- by kind ---------------------------------------------------------------------------------------


def test_activities_filter_by_a_declared_kind_of_any_app(
    api_as: Callable[[Any], APIClient], agent: Any
) -> None:
    # given: a call, and an entry of a kind the ERP sync declares
    customer = person(agent)
    call = log(agent, customer, kind="call")
    log(agent, customer, kind="note")
    shipped = activity_record(customer_id=customer.pk, kind="shipment", subject="Shipped", actor=ERP_SYNC)
    client = api_as(agent)
    # when / then
    assert listed(client, kind="call") == [call.pk]
    assert listed(client, kind="shipment") == [shipped.pk]


@pytest.mark.parametrize("kind", ["opportunity.won", "Call", "quote expired"])
def test_activities_refuse_a_kind_no_app_declares_with_400_naming_it(
    api_as: Callable[[Any], APIClient], agent: Any, kind: str
) -> None:
    response = api_as(agent).get(LIST, {"kind": kind})
    assert_problem(response, 400, "kind")


def test_the_schema_lists_the_declared_kinds_for_every_timeline_filter() -> None:
    # when
    schema = APIClient().get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    # then
    declared = sorted(code for code, _ in kind_choices())
    for path in (LIST, "/api/v1/customers/{id}/timeline/", "/api/v1/customers/{id}/360/"):
        (kind,) = [p for p in schema["paths"][path]["get"]["parameters"] if p["name"] == "kind"]
        assert sorted(kind["schema"]["enum"]) == declared, path


def test_an_entry_the_system_wrote_names_it(api_as: Callable[[Any], APIClient], agent: Any) -> None:
    # given
    customer = person(agent)
    entry = activity_record(customer_id=customer.pk, kind="invoice", subject="Invoiced", actor=ERP_SYNC)
    # when
    body = api_as(agent).get(f"{LIST}{entry.pk}/").json()
    # then
    assert (body["actor"], body["system_actor"]) == (None, "ERP sync")
