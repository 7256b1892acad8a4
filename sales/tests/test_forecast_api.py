"""The forecast and recommendation API and the Forecast page: who may do what, and bad input."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client

from backoffice_sync.models import OutboxMessage
from frontoffice.actors import SCHEDULER
from sales.forecast import services as forecast_services
from sales.tests import factories
from sales.tests.forecast_setup import erp_order, opportunity, weighted

pytestmark = pytest.mark.django_db

DEC = dt.date(2026, 12, 10)


@pytest.fixture
def deal(admin_user: Any) -> Any:
    return opportunity(
        factories.customer(admin_user),
        stage="Proposal",
        amount="1000.00",
        close=DEC,
        lines=[("FO-1001", "4", "100")],
    )


def test_sales_reads_the_forecast(api_as: Any, sales_rep: Any, deal: Any) -> None:
    response = api_as(sales_rep).get("/api/v1/sales/forecast/", {"currency": "EUR", "month_from": "2026-12"})
    assert response.status_code == 200
    body = response.json()
    assert body["months"][0]["weighted_amount"] == str(weighted("1000.00", 50))
    assert body["products"][0]["sku"] == "FO-1001"


def test_the_forecast_refuses_bad_filters(api_as: Any, sales_rep: Any) -> None:
    client = api_as(sales_rep)
    assert client.get("/api/v1/sales/forecast/", {"month_from": "2026-13"}).status_code == 400
    assert (
        client.get("/api/v1/sales/forecast/", {"month_from": "2027-01", "month_to": "2026-01"}).status_code
        == 400
    )
    assert client.get("/api/v1/sales/forecast/", {"bogus": "1"}).status_code == 400


def test_other_roles_may_not_read_the_forecast(api_as: Any, agent: Any, back_office: Any) -> None:
    for user in (agent, back_office):
        assert api_as(user).get("/api/v1/sales/forecast/").status_code == 403


def test_accuracy_endpoint(api_as: Any, sales_rep: Any) -> None:
    response = api_as(sales_rep).get("/api/v1/sales/forecast/accuracy/", {"months": 3})
    assert response.status_code == 200
    assert response.json() == {"months": []}


def test_only_admins_publish_and_publishing_is_idempotent(
    api_as: Any, sales_rep: Any, admin_user: Any, deal: Any
) -> None:
    assert api_as(sales_rep).post("/api/v1/sales/forecast/publish/").status_code == 403
    first = api_as(admin_user).post("/api/v1/sales/forecast/publish/")
    second = api_as(admin_user).post("/api/v1/sales/forecast/publish/")
    assert first.status_code == second.status_code == 200
    assert len(first.json()["published"]) == 1
    assert second.json()["published"] == []
    assert len(second.json()["already_published"]) == 1
    assert OutboxMessage.objects.filter(kind="forecast.publish").count() == 1


def test_recommendations_by_sku_and_by_customer(api_as: Any, sales_rep: Any, admin_user: Any) -> None:
    ann, bob = factories.customer(admin_user, "Ann"), factories.customer(admin_user, "Bob")
    erp_order(ann, [("A", 1), ("B", 1)])
    erp_order(bob, [("A", 1), ("C", 1)])
    forecast_services.affinities_recompute(actor=SCHEDULER)
    client = api_as(sales_rep)
    by_sku = client.get("/api/v1/sales/recommendations/", {"sku": "A"}).json()["results"]
    assert [(r["sku"], Decimal(r["confidence"])) for r in by_sku] == [
        ("B", Decimal("0.5")),
        ("C", Decimal("0.5")),
    ]
    by_customer = client.get("/api/v1/sales/recommendations/", {"customer": ann.pk}).json()["results"]
    assert [r["sku"] for r in by_customer] == ["C"]
    assert client.get("/api/v1/sales/recommendations/").status_code == 400
    assert client.get("/api/v1/sales/recommendations/", {"customer": 10**9}).status_code == 400


def test_the_forecast_page_and_its_navigation(sales_rep: Any, agent: Any, deal: Any) -> None:
    client = Client()
    client.force_login(sales_rep)
    page = client.get("/sales/forecast/", {"month": "2026-12"})
    assert page.status_code == 200
    html = page.content.decode()
    assert "Forecast" in html
    assert "FO-1001" in html
    assert str(weighted("1000.00", 50)) in html
    assert 'href="/sales/forecast/"' in html
    other = Client()
    other.force_login(agent)
    assert other.get("/sales/forecast/").status_code == 403


@pytest.mark.parametrize("month", ["0000-01", "9999-12", "2026-13", "26-01"])
def test_a_month_outside_the_calendar_we_forecast_is_a_400(month: str, admin_user: Any, api_as) -> None:
    # when
    response = api_as(admin_user).get("/api/v1/sales/forecast/", {"month": month})
    # then
    assert response.status_code == 400
    assert "month" in response.json()["errors"]
