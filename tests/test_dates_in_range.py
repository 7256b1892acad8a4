"""Every date a person or a client types is in the business range (1900-01-01 to
2099-12-31): services, forms and the API refuse the rest with a field error, and a
month typed in a query (9999-12) never breaks a page."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.test import Client

from customers import timeline
from customers.consent import consent_record
from frontoffice.dates import EARLIEST_DATE, LATEST_DATE, month_start
from frontoffice.write_path import clean_date
from sales.models import Opportunity, Quote
from sales.quotes import services as quote_services
from sales.tests import factories as f
from sales.tests.quote_setup import a_catalogue, an_opportunity, in_days

pytestmark = pytest.mark.django_db

OUT_OF_RANGE = [dt.date(1000, 1, 1), dt.date(1899, 12, 31), dt.date(2100, 1, 1), dt.date(9999, 12, 31)]


def page_client(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


# --- the kernel ------------------------------------------------------------------------------


@pytest.mark.parametrize("day", OUT_OF_RANGE)
def test_clean_date_refuses_a_date_outside_the_business_range(day: dt.date) -> None:
    errors: dict[str, list[str]] = {}
    assert clean_date(errors, "on", day) is None
    assert errors["on"] == ["Enter a date between 1900-01-01 and 2099-12-31."]


def test_clean_date_keeps_dates_in_the_range_and_an_empty_one() -> None:
    errors: dict[str, list[str]] = {}
    moment = dt.datetime(2099, 12, 31, 23, 59, tzinfo=dt.UTC)
    assert clean_date(errors, "on", EARLIEST_DATE) == EARLIEST_DATE
    assert clean_date(errors, "on", LATEST_DATE) == LATEST_DATE
    assert clean_date(errors, "on", moment) == moment
    assert clean_date(errors, "on", None) is None
    assert errors == {}
    assert clean_date(errors, "on", "2026-01-01") is None  # type: ignore[type-var]
    assert errors == {"on": ["Expected a date."]}


@pytest.mark.parametrize(
    ("text", "first"),
    [
        ("2026-09", dt.date(2026, 9, 1)),
        ("2099-12", dt.date(2099, 12, 1)),
        ("9999-12", None),
        ("1899-12", None),
        ("2026-13", None),
        ("²026-01", None),
        ("", None),
    ],
)
def test_month_start_reads_only_months_in_the_range(text: str, first: dt.date | None) -> None:
    assert month_start(text) == first


# --- the forecast ----------------------------------------------------------------------------


@pytest.mark.parametrize("month", ["9999-12", "0000-01", "2026-13", "²"])
def test_the_forecast_page_answers_a_month_out_of_range_with_every_month(
    sales_manager: Any, month: str
) -> None:
    response = page_client(sales_manager).get("/sales/forecast/", {"month": month})
    assert response.status_code == 200


def test_the_forecast_api_refuses_a_month_out_of_range(sales_manager: Any, api_as: Any) -> None:
    response = api_as(sales_manager).get("/api/v1/sales/forecast/", {"month": "2100-01"})
    assert response.status_code == 400
    assert "month" in response.json()["errors"]


# --- opportunities: close dates --------------------------------------------------------------


@pytest.mark.parametrize("day", OUT_OF_RANGE)
def test_the_opportunity_service_refuses_a_close_date_out_of_range(sales_rep: Any, day: dt.date) -> None:
    with pytest.raises(ValidationError) as refused:
        f.opportunity(sales_rep, expected_close_date=day)
    assert "expected_close_date" in refused.value.message_dict
    assert not Opportunity.objects.exists()


def test_the_opportunity_api_refuses_a_close_date_out_of_range(sales_rep: Any, api_as: Any) -> None:
    customer = f.customer(sales_rep)
    response = api_as(sales_rep).post(
        "/api/v1/sales/opportunities/",
        {"customer": customer.pk, "name": "Far", "expected_close_date": "9999-12-31"},
        format="json",
    )
    assert response.status_code == 400
    assert "expected_close_date" in response.json()["errors"]
    assert not Opportunity.objects.exists()


def test_the_opportunity_page_refuses_a_close_date_out_of_range(sales_rep: Any) -> None:
    opp = f.opportunity(sales_rep, expected_close_date=dt.date(2026, 9, 30))
    response = page_client(sales_rep).post(
        f"/sales/opportunities/{opp.pk}/edit/",
        {
            "version": opp.version,
            "name": opp.name,
            "stage": opp.stage_id,
            "amount": str(opp.amount),
            "currency": opp.currency,
            "expected_close_date": "9999-12-31",
            "next_step": "",
            "owner": opp.owner_id,
        },
    )
    assert response.status_code == 400  # the form again, with its error
    assert "Enter a date between 1900-01-01 and 2099-12-31." in response.content.decode()
    opp.refresh_from_db()
    assert opp.expected_close_date == dt.date(2026, 9, 30)


def test_the_opportunity_form_offers_only_dates_in_the_range(sales_rep: Any) -> None:
    customer = f.customer(sales_rep)
    page = page_client(sales_rep).get("/sales/opportunities/new/", {"customer": customer.pk}).content.decode()
    assert 'min="1900-01-01"' in page
    assert 'max="2099-12-31"' in page


# --- the timeline: activities and consent ----------------------------------------------------


def test_the_activity_service_refuses_a_date_in_the_year_1000(sales_rep: Any) -> None:
    customer = f.customer(sales_rep)
    with pytest.raises(ValidationError) as refused:
        timeline.activity_log(
            actor=sales_rep,
            customer_id=customer.pk,
            kind="call",
            subject="Old call",
            occurred_at=dt.datetime(1000, 1, 1, 10, tzinfo=dt.UTC),
        )
    assert "occurred_at" in refused.value.message_dict


def test_the_activity_api_refuses_a_date_in_the_year_1000(sales_rep: Any, api_as: Any) -> None:
    customer = f.customer(sales_rep)
    response = api_as(sales_rep).post(
        "/api/v1/activities/",
        {"customer": customer.pk, "kind": "call", "subject": "Old", "occurred_at": "1000-01-01T10:00:00Z"},
        format="json",
    )
    assert response.status_code == 400
    assert "occurred_at" in response.json()["errors"]
    assert not customer.activities.filter(subject="Old").exists()


def test_the_activity_form_refuses_a_date_in_the_year_1000(sales_rep: Any) -> None:
    customer = f.customer(sales_rep)
    response = page_client(sales_rep).post(
        f"/customers/{customer.pk}/activities/new/",
        {
            "activity-kind": "call",
            "activity-subject": "Old",
            "activity-occurred_at": "1000-01-01T10:00",
            "activity-body": "",
        },
    )
    assert response.status_code == 400
    assert "Enter a date between 1900-01-01 and 2099-12-31." in response.content.decode()
    assert not customer.activities.filter(subject="Old").exists()


def test_the_consent_service_refuses_a_date_in_the_year_1000(sales_rep: Any) -> None:
    customer = f.customer(sales_rep)
    with pytest.raises(ValidationError) as refused:
        consent_record(
            actor=sales_rep,
            customer_id=customer.pk,
            channel="email",
            purpose="marketing",
            granted=True,
            source="phone",
            occurred_at=dt.datetime(1000, 1, 1, tzinfo=dt.UTC),
        )
    assert "occurred_at" in refused.value.message_dict


# --- quotes: validity and delivery dates ------------------------------------------------------


def test_the_quote_service_refuses_a_delivery_in_9999(sales_rep: Any) -> None:
    a_catalogue()
    opportunity = an_opportunity(sales_rep)
    with pytest.raises(ValidationError) as refused:
        quote_services.quote_create(
            actor=sales_rep,
            opportunity_id=opportunity.pk,
            valid_until=dt.date(9999, 12, 31),
            requested_delivery_on=dt.date(9999, 12, 31),
            lines=[{"sku": "SKU-1", "quantity": 1}],
        )
    assert set(refused.value.message_dict) >= {"valid_until", "requested_delivery_on"}
    assert not Quote.objects.exists()


def test_the_quote_api_refuses_a_delivery_in_9999(sales_rep: Any, api_as: Any) -> None:
    a_catalogue()
    opportunity = an_opportunity(sales_rep)
    response = api_as(sales_rep).post(
        "/api/v1/sales/quotes/",
        {
            "opportunity": opportunity.pk,
            "valid_until": in_days(30).isoformat(),
            "requested_delivery_on": "9999-12-31",
            "lines": [{"sku": "SKU-1", "quantity": 1}],
        },
        format="json",
    )
    assert response.status_code == 400
    assert "requested_delivery_on" in response.json()["errors"]
    assert not Quote.objects.exists()


# --- every input serializer ------------------------------------------------------------------


def _subclasses(cls: type) -> set[type]:
    found = set()
    for sub in cls.__subclasses__():
        found |= {sub} | _subclasses(sub)
    return found


def test_every_date_a_client_sends_goes_through_the_kernels_bounded_fields() -> None:
    # given: every app's API loaded (the URL conf imports each app's routes)
    from django.urls import get_resolver
    from rest_framework import serializers as drf

    from frontoffice import serializers as kernel
    from frontoffice.serializers import StrictSerializer

    get_resolver().url_patterns  # noqa: B018 - importing the URL conf loads every API module
    unbounded = []
    for serializer in _subclasses(StrictSerializer):
        if serializer.__module__.startswith(("tests.", "frontoffice.tests")):
            continue
        for name, field in serializer().fields.items():
            if field.read_only:
                continue
            if type(field) in (drf.DateField, drf.DateTimeField):
                unbounded.append(f"{serializer.__module__}.{serializer.__qualname__}.{name}")
    # then: a typed year 1 or 9999 is a field error, never an overflow (a 500)
    assert kernel.DateField is not drf.DateField
    assert unbounded == []
