"""REST API v1: the 360 view's panels. The 360 view lists the panels you may see with
their own endpoints and loads only those named in `?panels=`; each panel has its own
endpoint; the schema types each panel's data; every loader keeps to its query budget."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework import serializers
from rest_framework.test import APIClient

from customers import services
from customers.merge import customer_merge
from customers.models import Customer
from customers.tests.api_setup import person, url
from frontoffice import plugin
from frontoffice.plugin import AppHooks, Panel
from tests.api_contract import assert_problem

pytestmark = pytest.mark.django_db


class BalanceSerializer(serializers.Serializer):
    open_amount = serializers.DecimalField(max_digits=12, decimal_places=2)
    currency = serializers.CharField()


class NoteRowsSerializer(serializers.ListSerializer):
    child = serializers.CharField()


loads: list[str] = []


def _loader(key: str, data: Any) -> Callable[..., Any]:
    def load(*, customer: Customer, actor: Any) -> Any:
        loads.append(key)
        return {"customer": customer.pk, **data} if isinstance(data, dict) else data

    return load


PROBES = [
    Panel(
        key="probe_balance",
        title="Balance",
        loader=_loader("probe_balance", {"open_amount": "12.50"}),
        serializer=BalanceSerializer,
        order=1,
    ),
    Panel(
        key="probe_notes",
        title="Notes",
        loader=_loader("probe_notes", ["a", "b"]),
        serializer=NoteRowsSerializer,
        order=2,
    ),
    Panel(
        key="probe_free", title="Free", loader=_loader("probe_free", {"anything": [1, {"x": None}]}), order=3
    ),
    Panel(
        key="probe_secret",
        title="Secret",
        loader=_loader("probe_secret", {}),
        permission="customers.view_customer_history",
        order=4,
    ),
]


@pytest.fixture
def probes() -> Iterator[None]:
    loads.clear()
    with plugin.installed("probes", AppHooks(panels=PROBES)):
        yield


def panels_of(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {p["key"]: p for p in body["panels"] if p["key"].startswith("probe_")}


# --- the 360 view lists them ---------------------------------------------------------------------


def test_the_360_view_lists_the_panels_you_may_see_with_their_endpoints_and_loads_none(
    api_as: Callable[[Any], APIClient], agent: Any, probes: None
) -> None:
    # given
    ada = person(agent)
    # when
    body = api_as(agent).get(url(ada, "360/")).json()
    # then
    listed = panels_of(body)
    assert list(listed) == ["probe_balance", "probe_notes", "probe_free"]  # not the secret one
    assert listed["probe_balance"] == {
        "key": "probe_balance",
        "title": "Balance",
        "url": f"http://testserver{url(ada, 'panels/probe_balance/')}",
    }
    assert all("data" not in p for p in body["panels"])
    assert loads == []


def test_the_360_view_inlines_the_data_of_the_panels_asked_for(
    api_as: Callable[[Any], APIClient], agent: Any, admin_user: Any, probes: None
) -> None:
    # given
    ada = person(agent)
    # when
    body = api_as(admin_user).get(url(ada, "360/"), {"panels": "probe_notes, probe_secret"}).json()
    # then
    listed = panels_of(body)
    assert listed["probe_notes"]["data"] == ["a", "b"]
    assert listed["probe_secret"]["data"] == {"customer": ada.pk}
    assert "data" not in listed["probe_balance"]
    assert sorted(loads) == ["probe_notes", "probe_secret"]


@pytest.mark.parametrize(
    ("asked", "named"),
    [
        ("probe_balance,nope", "'nope'"),
        ("probe_secret", "'probe_secret'"),  # may not see it
        ("x" * 300, "x" * 50),
    ],
)
def test_an_unknown_or_forbidden_panel_is_400_naming_it(
    api_as: Callable[[Any], APIClient], agent: Any, probes: None, asked: str, named: str
) -> None:
    # given
    ada = person(agent)
    # when
    response = api_as(agent).get(url(ada, "360/"), {"panels": asked})
    # then
    body = assert_problem(response, 400, "panels")
    assert any(named in message for message in body["errors"]["panels"])
    assert loads == []


# --- each panel's own endpoint ----------------------------------------------------------------------


def test_a_panel_has_an_endpoint_of_its_own(
    api_as: Callable[[Any], APIClient], agent: Any, probes: None
) -> None:
    # given
    ada = person(agent)
    # when
    response = api_as(agent).get(url(ada, "panels/probe_balance/"))
    # then
    assert response.status_code == 200
    assert response.json() == {
        "key": "probe_balance",
        "title": "Balance",
        "url": f"http://testserver{url(ada, 'panels/probe_balance/')}",
        "data": {"customer": ada.pk, "open_amount": "12.50"},
    }


def test_a_panel_you_may_not_see_is_403_and_an_unknown_one_404(
    api_as: Callable[[Any], APIClient], agent: Any, probes: None
) -> None:
    # given
    ada = person(agent)
    client = api_as(agent)
    # when / then
    assert_problem(client.get(url(ada, "panels/probe_secret/")), 403)
    assert_problem(client.get(url(ada, "panels/nope/")), 404)
    assert loads == []


def test_a_merged_customers_panel_answers_301_to_the_survivors(
    api_as: Callable[[Any], APIClient], agent: Any, supervisor: Any, probes: None
) -> None:
    # given
    ada, twin = person(agent), person(agent, first="Ada L.")
    customer_merge(actor=supervisor, survivor_id=ada.pk, duplicate_id=twin.pk)
    # when
    response = api_as(agent).get(url(twin, "panels/probe_balance/"))
    # then
    assert response.status_code == 301
    assert response["Location"] == url(ada, "panels/probe_balance/")
    assert loads == []


# --- typed in the schema ----------------------------------------------------------------------------------


@pytest.fixture
def schema(probes: None) -> dict[str, Any]:
    return APIClient().get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()


def test_the_schema_types_each_panel_by_its_key(schema: dict[str, Any]) -> None:
    # given
    components = schema["components"]["schemas"]
    one_of = components["Panel"]
    # then: a panel is one of every registered panel's variant, told apart by its key
    mapping = one_of["discriminator"]["mapping"]
    assert one_of["discriminator"]["propertyName"] == "key"
    assert set(mapping) == {p.key for p in plugin.panels()}
    assert [ref["$ref"] for ref in one_of["oneOf"]] == list(mapping.values())
    # the panel's endpoint and the 360 view's list are both that
    endpoint = schema["paths"]["/api/v1/customers/{id}/panels/{key}/"]["get"]["responses"]["200"]
    assert endpoint["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Panel"}
    assert components["Customer360"]["properties"]["panels"]["items"] == {
        "$ref": "#/components/schemas/Panel"
    }


def test_the_schema_gives_each_panel_its_serializers_data(schema: dict[str, Any]) -> None:
    # given
    components = schema["components"]["schemas"]

    def variant(key: str) -> dict[str, Any]:
        ref = components["Panel"]["discriminator"]["mapping"][key]
        return components[ref.rsplit("/", 1)[1]]

    # then: an object panel's data is its serializer
    balance = variant("probe_balance")
    assert set(balance["required"]) == {"key", "title", "url"}
    balance_data = balance["properties"]["data"]
    data_ref = balance_data.get("$ref") or balance_data["allOf"][0]["$ref"]
    assert set(components[data_ref.rsplit("/", 1)[1]]["properties"]) == {"open_amount", "currency"}
    # a list panel's data is a list of its child
    notes = variant("probe_notes")["properties"]["data"]
    assert notes["type"] == "array"
    assert notes["items"]["type"] == "string"
    # each variant's key is its own and nothing else
    key_ref = variant("probe_notes")["properties"]["key"]["$ref"]
    assert components[key_ref.rsplit("/", 1)[1]]["enum"] == ["probe_notes"]


def test_a_panel_without_a_serializer_is_documented_with_free_json_data(schema: dict[str, Any]) -> None:
    # given
    components = schema["components"]["schemas"]
    ref = components["Panel"]["discriminator"]["mapping"]["probe_free"]
    # then: no type, no reference: any JSON
    data = components[ref.rsplit("/", 1)[1]]["properties"]["data"]
    assert set(data) == {"description"}
    assert "no serializer" in data["description"]


# --- query budgets ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("panel", plugin.panels(), ids=lambda p: p.key)
def test_each_registered_panels_loader_keeps_to_its_query_budget_for_a_fresh_customer(
    panel: Panel, agent: Any, admin_user: Any
) -> None:
    # given: a customer with nothing yet, and a reader whose permissions are loaded (as in a request)
    fresh = services.customer_create(actor=agent, kind="organisation", organisation_name="Fresh Ltd")
    fresh = Customer.objects.get(pk=fresh.pk)
    admin_user.has_perm("customers.view_customer")
    # when
    with CaptureQueriesContext(connection) as queries:
        panel.loader(customer=fresh, actor=admin_user)
    # then
    assert len(queries) <= panel.query_budget, [q["sql"] for q in queries]


def test_the_360_views_query_count_does_not_depend_on_the_panels_installed(
    api_as: Callable[[Any], APIClient], agent: Any, admin_user: Any
) -> None:
    # given
    ada = person(agent)
    client = api_as(admin_user)
    counts = []
    # when: with the apps' panels, then with four more
    for hooks in (AppHooks(), AppHooks(panels=PROBES)):
        with plugin.installed("probes", hooks), CaptureQueriesContext(connection) as queries:
            assert client.get(url(ada, "360/")).status_code == 200
        counts.append(len(queries))
    # then
    assert counts[0] == counts[1]
