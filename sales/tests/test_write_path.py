"""Sales on the kernel's write path: no service runs without an actor (the system names
itself), and the rules of the refactor hold for every sales module (no private import
across modules, no module past ~500 lines)."""

from __future__ import annotations

import ast
import inspect
import io
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied

from customers.models import Activity
from frontoffice.actors import SystemActor
from frontoffice.write_path import MissingActor
from sales.forecast import services as forecast_services
from sales.leads import services as lead_services
from sales.leads import services_capture, services_import
from sales.models import DiscountLimit, Lead, Opportunity, Pipeline, PriceList, Quote, SalesOrder
from sales.orders import services as order_services
from sales.pipeline import services as opportunity_services
from sales.pipeline import services_pipelines
from sales.pricing import services as pricing_services
from sales.quotes import services as quote_services
from sales.quotes import services_email, services_expiry
from sales.tests import factories as f
from sales.tests.order_setup import a_sent_quote
from sales.tests.quote_setup import a_quote, an_opportunity
from tests.api_contract import snapshot

pytestmark = pytest.mark.django_db

SALES = Path(__file__).resolve().parents[1]
WATCHED = (Lead, Opportunity, Pipeline, PriceList, DiscountLimit, Quote, SalesOrder, Activity)
MODULES = [
    lead_services,
    services_capture,
    services_import,
    opportunity_services,
    services_pipelines,
    pricing_services,
    quote_services,
    services_email,
    services_expiry,
    order_services,
    forecast_services,
]


def _services() -> list[Callable[..., Any]]:
    """Every service: the public functions of the services modules that take a
    keyword-only actor (predicates like `can_edit_lead(user, lead)` are not services)."""
    found = []
    for module in MODULES:
        for name, function in inspect.getmembers(module, inspect.isfunction):
            actor = inspect.signature(function).parameters.get("actor")
            own = function.__module__ == module.__name__ and not name.startswith("_")
            if own and actor is not None and actor.kind is inspect.Parameter.KEYWORD_ONLY:
                found.append(function)
    return found


@pytest.fixture
def rows(sales_rep: Any, admin_user: Any) -> dict[str, Any]:
    """One of everything a service names by id, so that only the actor is missing."""
    quote = a_sent_quote(sales_rep)
    order = order_services.quote_accept(actor=sales_rep, quote_id=quote.pk, expected_version=quote.version)
    draft = a_quote(sales_rep, an_opportunity(sales_rep))
    return {
        "lead_id": f.lead(sales_rep).pk,
        "opportunity_id": draft.opportunity_id,
        "customer": draft.opportunity.customer_id,
        "pipeline_id": f.default_pipeline().pk,
        "price_list_id": PriceList.objects.get().pk,
        "discount_limit_id": pricing_services.discount_limit_create(
            actor=admin_user, role="Sales", max_discount_percent=Decimal("5")
        ).pk,
        "quote_id": draft.pk,
        "order_id": order.pk,
        "name": "Renewals",
        "stages": [{"name": "Open", "probability": 10}],
        "currency": "EUR",
        "role": "Admin",
        "max_discount_percent": Decimal("10"),
        "reason": "A reason",
        "stage": f.stage("Proposal").pk,
        "sku": "SKU-1",
        "payload": {},
        "file": io.BytesIO(b"last_name,title\nHopper,Licences\n"),
        "error": "SMTPServerDisconnected",
        "expected_version": None,
        "amount": Decimal("10.00"),
    }


def test_every_sales_service_takes_an_actor_and_none_is_not_one(rows: dict[str, Any]) -> None:
    # given: every service, and what it needs besides its actor
    services = _services()
    assert len(services) >= 30
    before = snapshot(*WATCHED)
    for service in services:
        parameters = inspect.signature(service).parameters
        assert parameters["actor"].default is inspect.Parameter.empty, service.__qualname__
        arguments = {
            name: rows[name]
            for name, parameter in parameters.items()
            if name != "actor" and parameter.default is inspect.Parameter.empty
        }
        # when / then: without an actor, refused as a programming error, not waved through
        with pytest.raises(MissingActor):
            service(actor=None, **arguments)
    assert snapshot(*WATCHED) == before


def test_a_system_actor_is_held_to_its_permissions() -> None:
    # given: marketing's forms may add leads; another part of the system may only read them
    stranger = SystemActor("a stranger", frozenset({"sales.view_lead"}))
    payload = {
        "capture_key": "form-1:1",
        "form_id": 1,
        "occurred_at": "2026-01-01T10:00:00+00:00",
        "last_name": "Hopper",
        "email": "grace@example.test",
    }
    # when / then
    with pytest.raises(PermissionDenied):
        services_capture.lead_capture(actor=stranger, payload=payload)
    assert not Lead.objects.exists()
    assert services_capture.lead_capture(actor=services_capture.MARKETING_FORMS, payload=payload).created


def _sales_modules() -> list[Path]:
    return [
        path for path in SALES.rglob("*.py") if "migrations" not in path.parts and "tests" not in path.parts
    ]


def test_no_sales_module_imports_another_modules_private_name() -> None:
    allowed: set[tuple[str, str]] = set()
    offenders = []
    for path in _sales_modules():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                for alias in node.names:
                    if alias.name.startswith("_") and (node.module, alias.name) not in allowed:
                        offenders.append(f"{path.relative_to(SALES.parent)}: {node.module}.{alias.name}")
    assert offenders == []


def test_no_sales_module_grows_past_about_500_lines() -> None:
    long = [
        f"{path.relative_to(SALES.parent)}: {lines}"
        for path in _sales_modules()
        if (lines := len(path.read_text().splitlines())) > 520
    ]
    assert long == []
