"""Schemathesis over the quote, price-list, discount-limit and product endpoints, with
records to aim at (the project-wide run in tests/test_openapi_schema.py seeds only
customers)."""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from knox.models import AuthToken
from schemathesis import GenerationMode

from sales.tests.quote_setup import a_catalogue, a_quote, an_opportunity, discount_limits
from tests import test_openapi_schema as project_schema

# The project-wide run's fixtures, shared rather than copied.
schema_document = project_schema.schema_document
wsgi_without_connection_reset = project_schema.wsgi_without_connection_reset

pytestmark = pytest.mark.django_db
OURS = (
    "/api/v1/sales/quotes/",
    "/api/v1/sales/price-lists/",
    "/api/v1/sales/discount-limits/",
    "/api/v1/sales/products/",
)


@pytest.mark.slow
def test_schemathesis_finds_no_server_error_in_the_quote_api(
    wsgi_without_connection_reset: Any, schema_document: dict[str, Any], admin_user: Any
) -> None:
    # given: a price list, discount limits and a few quotes (ids 1..3 are the likeliest
    # generated ids)
    a_catalogue()
    discount_limits(sales=5, manager=15, admin=30)
    opportunity = an_opportunity(admin_user)
    for _ in range(3):
        a_quote(admin_user, opportunity)
    _, token = AuthToken.objects.create(user=admin_user)
    schema = schemathesis.openapi.from_dict(schema_document)
    operations = [r.ok() for r in schema.get_all_operations()]
    operations = [op for op in operations if op.path.startswith(OURS)]
    # price lists (5), discount limits (6), products (1), quotes (5) and their actions
    # (5, accept included)
    assert len(operations) == 22
    assert any(op.path == "/api/v1/sales/quotes/{id}/accept/" for op in operations)
    # when / then
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            project_schema._run_schemathesis(
                operation, wsgi_without_connection_reset, {"Authorization": f"Token {token}"}, mode
            )
