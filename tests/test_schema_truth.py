"""The schema tells clients the truth: a request built from the OpenAPI document alone
(tests/schema_requests.py) is not refused as invalid. For every POST operation, and every
GET that requires query parameters, a body of the required properties and one of every
property (per `oneOf` branch) is sent; the answer may be a refusal of the state (409), of
the right (403) or of a row (404), but never a 400, which would mean that the schema
called valid what the API refuses, nor a 500."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from rest_framework.test import APIClient

from customers import services as customer_services
from customers.outbound.services import message_template_create
from frontoffice.actors import MAINTENANCE
from marketing.campaigns.services import campaign_create
from sales.models import Pipeline
from sales.tests import factories
from sales.tests.quote_setup import a_catalogue, a_quote, an_opportunity
from service.services import case_open
from service.settings_services import calendar_create
from tests.fixtures import client_for
from tests.schema_requests import Document

pytestmark = pytest.mark.django_db

# Operations no generated client can call from the schema alone, and why.
NOT_FROM_THE_SCHEMA = {
    ("post", "/api/v1/erp/webhook/"): "signed with the ERP's shared secret (HMAC of the body)",
    ("post", "/api/v1/sales/leads/import/"): "a CSV file upload, not a JSON body",
}


def _schema() -> dict[str, Any]:
    response = APIClient().get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    return response.json()


class World:
    """Rows for the ids a client would have read before, fresh for each request."""

    def __init__(self, admin: Any) -> None:
        n = World.count = getattr(World, "count", 0) + 1
        self.person = customer_services.customer_create(
            actor=MAINTENANCE, kind="person", first_name="Ada", last_name=f"Lovelace {n}"
        )
        self.duplicate = customer_services.customer_create(
            actor=MAINTENANCE, kind="person", first_name="Ada", last_name=f"Lovelace {n}"
        )
        self.opportunity = an_opportunity(admin)
        self.organisation = self.opportunity.customer
        self.quote = a_quote(admin, self.opportunity)
        self.lead = factories.lead(admin, email=f"grace{n}@example.com")
        self.pipeline = Pipeline.objects.get(is_default=True)
        stages = list(self.pipeline.stages.filter(kind="open").order_by("order"))
        self.template = message_template_create(
            actor=admin, key=f"welcome-{n}", name=f"Welcome {n}", subject="Hello", body="Hello."
        )
        self.calendar = calendar_create(actor=admin, name=f"Office hours {n}")
        self.case = case_open(
            actor=admin,
            customer_id=self.organisation.pk,
            kind="complaint",
            channel="phone",
            subject=f"Late {n}",
        )
        self.campaign = campaign_create(actor=admin, name=f"Launch {n}")
        self.ids = {
            "template": self.template.key,
            "calendar": self.calendar.pk,
            "customer": self.organisation.pk,
            "parent": self.organisation.pk,
            "duplicate": self.duplicate.pk,
            "opportunity": self.opportunity.pk,
            "price_list": self.quote.price_list_id,
            "pipeline": self.pipeline.pk,
            "stage": stages[-1].pk,
            "owner": admin.pk,
            "sku": "SKU-1",
            "product": "SKU-1",
            "case": self.case.pk,
            "case_ids": self.case.pk,
            "campaign": self.campaign.pk,
            "members": admin.pk,
        }
        self.path_ids = {
            "/api/v1/customers/{id}/merge/": self.person.pk,
            "/api/v1/customers/": self.person.pk,
            "/api/v1/sales/leads/": self.lead.pk,
            "/api/v1/sales/opportunities/": self.opportunity.pk,
            "/api/v1/sales/quotes/": self.quote.pk,
            "/api/v1/sales/pipelines/": self.pipeline.pk,
        }

    def path(self, template: str) -> str:
        if "{" not in template:
            return template
        prefix = max((p for p in self.path_ids if template.startswith(p)), key=len, default=None)
        exact = self.path_ids.get(template)
        row = exact if exact is not None else self.path_ids[prefix] if prefix else 1
        return re.sub(r"\{[^}]+\}", str(row), template)


def _operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    found = []
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if (method, path) in NOT_FROM_THE_SCHEMA:
                continue
            required_query = any(
                p["in"] == "query" and p.get("required") for p in operation.get("parameters", [])
            )
            if method == "post" or (method == "get" and required_query):
                found.append((method, path, operation))
    return found


def _requests(document: Document, operation: dict[str, Any]) -> list[tuple[str, Any]]:
    body = operation.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
    if body is not None:
        return document.bodies(body)
    query = {
        p["name"]: document.value(p["schema"], p["name"], full=False)
        for p in operation.get("parameters", [])
        if p["in"] == "query" and p.get("required")
    }
    return [("no body" if not query else "required query", query)]


@pytest.fixture
def client_as(admin_user: Any) -> Callable[[str], APIClient]:
    def make(path: str) -> APIClient:
        if path == "/api/v1/auth/tokens/":  # tokens are made from a signed-in session only
            client = APIClient()
            client.force_login(admin_user)
            return client
        return client_for(admin_user)

    return make


def test_every_operation_takes_what_its_schema_calls_valid(admin_user: Any, client_as: Any) -> None:
    # given
    a_catalogue()
    document = _schema()
    operations = _operations(document)
    assert len(operations) >= 25
    refused = []
    for method, path, operation in operations:
        for label, payload in _requests(Document(document, World(admin_user).ids), operation):
            world = World(admin_user)
            generator = Document(document, world.ids, serial=World.count)
            payload = dict(_requests(generator, operation))[label]
            url = world.path(path)
            client = client_as(path)
            # when
            if method == "get":
                response = client.get(url, payload)
            else:
                response = client.post(url, payload, format="json", HTTP_IF_MATCH="*")
            # then
            if response.status_code == 400 or response.status_code >= 500:
                said = (
                    response.json().get("errors") if response.status_code == 400 else response.content[:300]
                )
                refused.append(
                    f"{method.upper()} {path} [{label}] {response.status_code}: {said} <- {payload}"
                )
    assert not refused, "\n".join(refused)
