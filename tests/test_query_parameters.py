"""Every read takes the query parameters its OpenAPI operation declares, and refuses any
other with a 400 naming it (frontoffice.query_params): a client that sends a filter the
API does not have is told, instead of getting every row for the rows it asked for."""

from __future__ import annotations

import re
from typing import Any

import pytest
from rest_framework.test import APIClient

from config.api_router import router
from frontoffice import plugin
from frontoffice.query_params import DeclaredQueryParameters
from tests.api_contract import assert_problem
from tests.fixtures import client_for

pytestmark = pytest.mark.django_db


def _schema() -> dict[str, Any]:
    response = APIClient().get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    return response.json()


def _get_operations() -> list[tuple[str, dict[str, Any]]]:
    return [(path, item["get"]) for path, item in _schema()["paths"].items() if "get" in item]


def _concrete(path: str) -> str:
    """The path with each of its parameters set to an id (no row needs to exist: the
    query string is checked before the row is looked up)."""
    return re.sub(r"\{[^}]+\}", "1", path)


@pytest.fixture
def admin_api(admin_user: Any) -> APIClient:
    return client_for(admin_user)


def test_every_routed_viewset_checks_its_query_parameters() -> None:
    # given: every resource the apps' hooks route, so a new one is covered by itself
    viewsets = [viewset for _, viewset, _ in router.registry]
    # then
    assert {route.viewset for route in plugin.api_routes()} == set(viewsets)
    assert [v.__name__ for v in viewsets if not issubclass(v, DeclaredQueryParameters)] == []


def test_every_get_operation_refuses_an_unknown_query_parameter(admin_api: APIClient) -> None:
    operations = _get_operations()
    assert len(operations) > 20
    for path, _ in operations:
        # when
        response = admin_api.get(_concrete(path), {"no_such_filter": "1"})
        # then
        body = assert_problem(response, 400, "no_such_filter")
        assert "Unknown query parameter" in body["errors"]["no_such_filter"][0], path


def test_every_declared_query_parameter_is_taken(admin_api: APIClient) -> None:
    """The other direction: nothing the schema declares is refused as unknown."""
    for path, operation in _get_operations():
        for parameter in operation.get("parameters", []):
            if parameter["in"] != "query":
                continue
            name = parameter["name"].replace("<key>", "industry")
            response = admin_api.get(_concrete(path), {name: "1"})
            if response.status_code == 400:
                errors = response.json()["errors"]
                assert not any("Unknown query parameter" in m for m in errors.get(name, [])), (path, name)


def test_the_refusal_names_what_the_operation_takes(admin_api: APIClient) -> None:
    # when: a client filters quotes by a field the list does not have
    response = admin_api.get("/api/v1/sales/quotes/", {"colour": "red", "page_size": "5"})
    # then: only the unknown one is named, with the ones it could have used
    body = assert_problem(response, 400, "colour")
    assert set(body["errors"]) == {"colour"}
    assert "page_size" in body["errors"]["colour"][0]


def test_a_pattern_parameter_takes_any_key(admin_api: APIClient) -> None:
    assert admin_api.get("/api/v1/customers/", {"attr.industry": "Retail"}).status_code == 200
    assert_problem(admin_api.get("/api/v1/customers/", {"attrindustry": "Retail"}), 400, "attrindustry")
