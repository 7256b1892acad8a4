"""The OpenAPI 3 document at /api/schema/, the Swagger UI at /api/docs/ (offline, from
drf-spectacular-sidecar), and a schemathesis run of the customer API against it."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from django.contrib.staticfiles import finders
from django.core.management import call_command
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from drf_spectacular.validation import validate_schema
from hypothesis import HealthCheck, given, settings
from knox.models import AuthToken
from rest_framework.test import APIClient
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from customers import services

pytestmark = pytest.mark.django_db

# Every v1 path of issue 3 (section 4), with the methods it must document.
EXPECTED = {
    "/api/v1/customers/": {"get", "post"},
    "/api/v1/customers/{id}/": {"get", "put", "patch", "delete"},
    "/api/v1/customers/{id}/360/": {"get"},
    "/api/v1/customers/{id}/timeline/": {"get"},
    "/api/v1/customers/{id}/contact-points/": {"get", "post"},
    "/api/v1/customers/{id}/contact-points/{contact_point_id}/": {"delete"},
    "/api/v1/customers/{id}/consents/": {"get", "post"},
    "/api/v1/customers/duplicates/": {"get"},
    "/api/v1/customers/{id}/merge/": {"get", "post"},
    "/api/v1/activities/": {"get", "post"},
    "/api/v1/erp/webhook/": {"post"},
    "/api/v1/sync/status/": {"get"},
    "/api/v1/sync/atp/": {"get"},
    "/api/v1/sync/outbox/{id}/replay/": {"post"},
    "/api/v1/sales/leads/": {"get", "post"},
    "/api/v1/sales/leads/{id}/": {"get", "put", "patch"},
    "/api/v1/sales/leads/{id}/qualify/": {"post"},
    "/api/v1/sales/leads/{id}/disqualify/": {"post"},
    "/api/v1/sales/leads/{id}/convert/": {"post"},
    "/api/v1/sales/opportunities/": {"get", "post"},
    "/api/v1/sales/opportunities/{id}/": {"get", "put", "patch"},
    "/api/v1/sales/opportunities/{id}/move/": {"post"},
    "/api/v1/sales/opportunities/{id}/win/": {"post"},
    "/api/v1/sales/opportunities/{id}/lose/": {"post"},
    "/api/v1/sales/pipelines/": {"get", "post"},
    "/api/v1/sales/pipelines/{id}/": {"get", "put", "patch"},
    "/api/v1/sales/products/": {"get"},
    "/api/v1/sales/price-lists/": {"get", "post"},
    "/api/v1/sales/price-lists/{id}/": {"get", "put", "patch"},
    "/api/v1/sales/discount-limits/": {"get", "post"},
    "/api/v1/sales/discount-limits/{id}/": {"get", "put", "patch", "delete"},
    "/api/v1/sales/quotes/": {"get", "post"},
    "/api/v1/sales/quotes/{id}/": {"get", "put", "patch"},
    "/api/v1/sales/quotes/{id}/submit-for-approval/": {"post"},
    "/api/v1/sales/quotes/{id}/approve/": {"post"},
    "/api/v1/sales/quotes/{id}/send/": {"post"},
    "/api/v1/sales/quotes/{id}/revise/": {"post"},
    "/api/v1/sales/quotes/{id}/accept/": {"post"},
    "/api/v1/sales/orders/": {"get"},
    "/api/v1/sales/orders/{id}/": {"get"},
    "/api/v1/sales/orders/{id}/cancel/": {"post"},
    "/api/v1/sales/forecast/": {"get"},
    "/api/v1/sales/forecast/accuracy/": {"get"},
    "/api/v1/sales/forecast/publish/": {"post"},
    "/api/v1/sales/recommendations/": {"get"},
}
LIST_FILTERS = {
    "q",
    "kind",
    "lifecycle_stage",
    "tag",
    "owner",
    "created_after",
    "created_before",
    "updated_after",
    "updated_before",
    "attr.<key>",
    "ordering",
    "cursor",
    "page_size",
}


@pytest.fixture
def schema_document() -> dict[str, Any]:
    response = APIClient().get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    return response.json()


def test_the_schema_is_a_valid_openapi_3_document(schema_document: dict[str, Any]) -> None:
    # when / then: raises on any violation of the OpenAPI 3.0 meta-schema
    validate_schema(schema_document)
    assert schema_document["openapi"].startswith("3.")


def test_the_schema_documents_every_v1_endpoint(schema_document: dict[str, Any]) -> None:
    paths = schema_document["paths"]
    for path, methods in EXPECTED.items():
        assert path in paths, path
        assert methods <= set(paths[path]), (path, set(paths[path]))


def test_the_customer_list_documents_every_filter(schema_document: dict[str, Any]) -> None:
    parameters = {p["name"] for p in schema_document["paths"]["/api/v1/customers/"]["get"]["parameters"]}
    assert parameters >= LIST_FILTERS


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/customers/{id}/",
        "/api/v1/sales/pipelines/{id}/",
        "/api/v1/sales/price-lists/{id}/",
        "/api/v1/sales/discount-limits/{id}/",
    ],
)
def test_updates_document_if_match_etag_and_the_concurrency_errors(
    schema_document: dict[str, Any], path: str
) -> None:
    assert "ETag" in schema_document["paths"][path]["get"]["responses"]["200"]["headers"]
    for method in ("put", "patch"):
        operation = schema_document["paths"][path][method]
        headers = {p["name"]: p for p in operation["parameters"] if p["in"] == "header"}
        assert headers["If-Match"]["required"] is True
        assert {"200", "400", "403", "404", "412", "428"} <= set(operation["responses"])
        assert "ETag" in operation["responses"]["200"]["headers"]
        assert "application/problem+json" in operation["responses"]["412"]["content"]


def test_a_merged_id_redirect_is_documented_with_its_location(schema_document: dict[str, Any]) -> None:
    moved = schema_document["paths"]["/api/v1/customers/{id}/360/"]["get"]["responses"]["301"]
    assert "Location" in moved["headers"]


def test_every_operation_documents_the_answer_to_an_accept_header_it_cannot_satisfy(
    schema_document: dict[str, Any],
) -> None:
    # given: every operation of the schema
    operations = [
        (path, method, operation)
        for path, item in schema_document["paths"].items()
        for method, operation in item.items()
        if method in ("get", "post", "put", "patch", "delete")
    ]
    # then: each lists 406 with the problem+json body the API sends for it
    assert len(operations) >= sum(len(methods) for methods in EXPECTED.values())
    undocumented = [
        f"{method.upper()} {path}" for path, method, op in operations if "406" not in op["responses"]
    ]
    assert undocumented == []
    for _, _, operation in operations:
        assert "application/problem+json" in operation["responses"]["406"]["content"]


@pytest.mark.django_db
@pytest.mark.parametrize("method", ["get", "put"])
def test_an_accept_header_the_api_cannot_satisfy_is_answered_406_as_documented(
    method: str, admin_user: Any
) -> None:
    # given: a customer, and a client that accepts only a type the API never sends
    customer = services.customer_create(actor=admin_user, kind="person", first_name="Ada", last_name="L")
    client = APIClient()
    client.force_authenticate(admin_user)
    # when
    response = getattr(client, method)(
        f"/api/v1/customers/{customer.pk}/", data={}, format="json", HTTP_ACCEPT="d"
    )
    # then: 406 as a problem, and nothing was changed
    assert response.status_code == 406
    assert response["Content-Type"].startswith("application/problem+json")
    assert response.json()["status"] == 406
    customer.refresh_from_db()
    assert customer.display_name == "Ada L"


def test_token_and_session_authentication_are_documented(schema_document: dict[str, Any]) -> None:
    schemes = schema_document["components"]["securitySchemes"]
    assert schemes["tokenAuth"] == {
        "type": "apiKey",
        "in": "header",
        "name": "Authorization",
        "description": 'Token-based authentication with required prefix "Token"',
    }
    assert "cookieAuth" in schemes


def test_spectacular_validates_the_schema_without_a_warning(tmp_path: Any) -> None:
    # when / then: --fail-on-warn turns any schema warning into an error
    call_command(
        "spectacular",
        "--validate",
        "--fail-on-warn",
        "--file",
        str(tmp_path / "schema.yaml"),
        stdout=io.StringIO(),
        stderr=io.StringIO(),
    )
    assert (tmp_path / "schema.yaml").read_text().startswith("openapi: 3")


@pytest.mark.parametrize("page", ["/api/docs/", "/api/redoc/"])
def test_the_docs_load_their_scripts_from_our_static_files_not_a_cdn(page: str) -> None:
    # when
    response = APIClient().get(page)
    # then
    assert response.status_code == 200
    html = response.content.decode()
    assert "/static/drf_spectacular_sidecar/" in html
    sources = re.findall(r"""(?:src|href)=["']([^"']+)["']""", html)
    assert sources
    assert not [s for s in sources if re.match(r"(https?:)?//", s)], sources
    for source in sources:
        if source.startswith("/static/"):
            # the file is really there for whitenoise/runserver to serve
            assert finders.find(source.removeprefix("/static/")), source


# --- schemathesis ------------------------------------------------------------------------


@pytest.fixture
def wsgi_without_connection_reset(schema_document: dict[str, Any]) -> Iterator[Any]:
    """The project's WSGI app, called in-process inside the test transaction.

    Django closes "old" connections at the start and end of every request; inside a
    test transaction that would drop the transaction (Django's own test client
    disconnects these signal handlers for the same reason, and reconnects them after
    each of its requests: hence this fixture comes after `schema_document`, and the
    test makes no test-client request of its own).
    """
    from config.wsgi import application

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield application
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


def _run_schemathesis(operation: Any, app: Any, headers: dict[str, str], mode: GenerationMode) -> None:
    """Generated requests for one operation, each sent and checked."""

    @settings(max_examples=20, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy(generation_mode=mode))
    def check(case: Any) -> None:
        response = case.call(app=app, headers=headers)
        case.validate_response(response, checks=CHECKS)

    check()


@pytest.mark.slow
def test_schemathesis_finds_no_server_error_and_no_undocumented_response(
    wsgi_without_connection_reset: Any, schema_document: dict[str, Any], admin_user: Any
) -> None:
    # given: a few customers to aim at, and a token that may do everything
    for n in range(3):
        services.customer_create(actor=admin_user, kind="person", first_name="Ada", last_name=f"L{n}")
    _, token = AuthToken.objects.create(user=admin_user)
    schema = schemathesis.openapi.from_dict(schema_document)
    operations = [result.ok() for result in schema.get_all_operations()]
    # when / then: data that fits the schema, and data that does not
    for operation in operations:
        # An operation without any input (GET /sync/status/) has nothing to get wrong.
        has_input = any(
            len(container) for container in (operation.path_parameters, operation.query, operation.body)
        )
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)[: 2 if has_input else 1]:
            _run_schemathesis(
                operation, wsgi_without_connection_reset, {"Authorization": f"Token {token}"}, mode
            )
    assert len(operations) >= sum(len(methods) for methods in EXPECTED.values())
