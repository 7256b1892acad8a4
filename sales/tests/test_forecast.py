"""The forecast: weighted pipeline by month and product, weekly publication to the ERP
through the outbox, and accuracy against the ERP's orders."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from backoffice_sync.models import OutboxMessage, Product
from backoffice_sync.outbox import relay_due
from backoffice_sync.simulator.models import SimForecast
from frontoffice.actors import SCHEDULER
from sales import tasks
from sales.forecast import selectors as forecast_selectors
from sales.forecast import services as forecast_services
from sales.models import ForecastSnapshot, OpportunityStatus
from sales.tests import factories
from sales.tests.forecast_setup import erp_order, opportunity, weighted

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 11, 23)  # a Monday, ISO week 2026-W48
DEC = dt.date(2026, 12, 10)
JAN = dt.date(2027, 1, 20)


@pytest.fixture
def acme(admin_user: Any) -> Any:
    return factories.customer(admin_user)


@pytest.fixture
def pipeline(acme: Any) -> dict[str, Any]:
    """Three open opportunities (two in December, one in January), one won, one lost."""
    return {
        "a": opportunity(
            acme, stage="Proposal", amount="1000.00", close=DEC, lines=[("FO-1001", "4", "100.00")]
        ),
        "b": opportunity(
            acme,
            stage="Negotiation",
            amount="2000.00",
            close=DEC.replace(day=28),
            lines=[("FO-1001", "2", "100.00"), ("FO-1002", "3", "50.00")],
        ),
        "c": opportunity(
            acme, stage="Prospecting", amount="500.00", close=JAN, lines=[("FO-1002", "10", "50.00")]
        ),
        "won": opportunity(
            acme,
            stage="Won",
            amount="9000.00",
            close=DEC,
            status=OpportunityStatus.WON,
            lines=[("FO-1001", "9", "1")],
        ),
        "lost": opportunity(acme, stage="Lost", amount="7000.00", close=DEC, status=OpportunityStatus.LOST),
        "usd": opportunity(
            acme,
            stage="Proposal",
            amount="300.00",
            close=DEC,
            currency="USD",
            lines=[("FO-1003", "3", "100.00")],
        ),
    }


def _row(rows: list[dict[str, Any]], **match: Any) -> dict[str, Any]:
    found = [r for r in rows if all(r[k] == v for k, v in match.items())]
    assert len(found) == 1, (match, rows)
    return found[0]


def test_weighted_pipeline_by_month_weights_open_amounts_by_stage_probability(pipeline: dict) -> None:
    # when
    months = forecast_selectors.weighted_pipeline()["months"]
    # then: won and lost are left out; Proposal is 50%, Negotiation 75%, Prospecting 10%
    december = _row(months, currency="EUR", month="2026-12")
    assert december["opportunities"] == 2
    assert december["amount"] == Decimal("1000.00") + Decimal("2000.00")
    assert december["weighted_amount"] == weighted("1000.00", 50) + weighted("2000.00", 75)
    january = _row(months, currency="EUR", month="2027-01")
    assert january["weighted_amount"] == weighted("500.00", 10)
    assert _row(months, currency="USD", month="2026-12")["weighted_amount"] == weighted("300.00", 50)
    assert len(months) == 3


def test_weighted_pipeline_by_product_weights_quantity_and_line_amount(pipeline: dict) -> None:
    # when
    products = forecast_selectors.weighted_pipeline(currency="EUR")["products"]
    # then
    fo1 = _row(products, month="2026-12", sku="FO-1001")
    assert fo1["quantity"] == Decimal(4 + 2)
    assert fo1["weighted_quantity"] == Decimal(4) * 50 / 100 + Decimal(2) * 75 / 100
    assert fo1["amount"] == Decimal(4 * 100 + 2 * 100)
    assert fo1["weighted_amount"] == weighted(str(4 * 100), 50) + weighted(str(2 * 100), 75)
    fo2_jan = _row(products, month="2027-01", sku="FO-1002")
    assert fo2_jan["weighted_amount"] == weighted(str(10 * 50), 10)
    assert {r["currency"] for r in products} == {"EUR"}


def test_weighted_pipeline_filters_by_month_range_and_product_month(pipeline: dict) -> None:
    # when
    only_jan = forecast_selectors.weighted_pipeline(month_from=JAN, month_to=JAN)
    dec_products = forecast_selectors.weighted_pipeline(month=DEC)["products"]
    # then
    assert [m["month"] for m in only_jan["months"]] == ["2027-01"]
    assert {p["month"] for p in dec_products} == {"2026-12"}


@pytest.mark.parametrize("count", [0, 300])
def test_the_forecast_selector_runs_two_queries_whatever_the_number_of_opportunities(
    acme: Any, count: int, django_assert_max_num_queries: Any
) -> None:
    # given
    for n in range(count):
        opportunity(
            acme,
            stage="Proposal",
            amount=str(100 + n),
            close=DEC,
            lines=[(f"FO-10{n % 40 + 1:02d}", "1", "5")],
        )
    # when / then
    with django_assert_max_num_queries(2):
        result = forecast_selectors.weighted_pipeline()
    assert sum(m["opportunities"] for m in result["months"]) == count


def test_publishing_enqueues_one_outbox_message_per_currency(pipeline: dict) -> None:
    # when
    result = forecast_services.forecast_publish(actor=SCHEDULER, today=TODAY)
    # then
    assert result.week == "2026-W48"
    assert sorted(s.forecast_ref for s in result.published) == ["FC-2026-W48-EUR", "FC-2026-W48-USD"]
    messages = OutboxMessage.objects.filter(kind="forecast.publish").order_by("aggregate")
    assert [m.aggregate for m in messages] == ["forecast:FC-2026-W48-EUR", "forecast:FC-2026-W48-USD"]
    eur = messages[0].payload
    assert eur["forecast_ref"] == "FC-2026-W48-EUR"
    assert eur["currency"] == "EUR"
    dec_fo1 = _row(eur["lines"], month="2026-12", sku="FO-1001")
    # 4 x 50% + 2 x 75% = 3.5, rounded half up to whole units
    assert dec_fo1["quantity"] == 4
    assert Decimal(dec_fo1["amount"]) == weighted("400", 50) + weighted("200", 75)
    snapshot = ForecastSnapshot.objects.get(week="2026-W48", currency="EUR")
    assert snapshot.lines == eur["lines"]
    assert snapshot.week_start == TODAY
    assert snapshot.outbox_message_id == messages[0].pk


def test_publishing_the_same_week_twice_enqueues_nothing_more(pipeline: dict) -> None:
    # given
    forecast_services.forecast_publish(actor=SCHEDULER, today=TODAY)
    # when: later that week, and through the weekly task
    again = forecast_services.forecast_publish(actor=SCHEDULER, today=TODAY + dt.timedelta(days=3))
    # then
    assert again.published == []
    assert len(again.already_published) == 2
    assert OutboxMessage.objects.filter(kind="forecast.publish").count() == 2
    assert ForecastSnapshot.objects.count() == 2


def test_the_weekly_task_publishes_the_current_week(pipeline: dict, time_machine: Any) -> None:
    # given
    time_machine.move_to(dt.datetime(2026, 11, 23, 6, 0, tzinfo=dt.UTC))
    # when
    first = tasks.publish_forecast()
    second = tasks.publish_forecast()
    # then
    assert first["week"] == "2026-W48"
    assert len(first["published"]) == 2
    assert second["published"] == []


def test_only_admins_may_publish(pipeline: dict, sales_rep: Any, admin_user: Any) -> None:
    with pytest.raises(PermissionDenied):
        forecast_services.forecast_publish(actor=sales_rep, today=TODAY)
    assert forecast_services.forecast_publish(actor=admin_user, today=TODAY).published


def test_the_published_forecast_reaches_the_simulator(acme: Any) -> None:
    # given: products the simulator's catalogue knows
    opportunity(acme, stage="Proposal", amount="800.00", close=DEC, lines=[("FO-1001", "8", "100.00")])
    forecast_services.forecast_publish(actor=SCHEDULER, today=TODAY)
    # when
    report, _ = relay_due()
    # then
    assert report.delivered == 1
    sim = SimForecast.objects.get(forecast_ref="FC-2026-W48-EUR")
    assert sim.currency == "EUR"
    assert sim.lines == [
        {"month": "2026-12", "sku": "FO-1001", "quantity": 4, "amount": str(weighted("800.00", 50))}
    ]


def test_accuracy_formula() -> None:
    assert forecast_selectors.accuracy_ratio(Decimal(100), Decimal(80)) == Decimal("0.8000")
    assert forecast_selectors.accuracy_ratio(Decimal(80), Decimal(100)) == Decimal("0.8000")
    assert forecast_selectors.accuracy_ratio(Decimal(0), Decimal(0)) == Decimal(1)
    assert forecast_selectors.accuracy_ratio(Decimal(0), Decimal(50)) == Decimal(0)


def test_accuracy_compares_the_snapshot_before_the_month_with_its_erp_orders(acme: Any) -> None:
    # given: a snapshot taken in October forecasting November; a later one must be ignored
    Product.objects.create(sku="FO-1001", name="W1", unit_price=Decimal("100.00"), currency="EUR")
    Product.objects.create(sku="FO-1002", name="W2", unit_price=Decimal("50.00"), currency="EUR")
    ForecastSnapshot.objects.create(
        week="2026-W43", week_start=dt.date(2026, 10, 19), currency="EUR", forecast_ref="FC-2026-W43-EUR",
        lines=[{"month": "2026-11", "sku": "FO-1001", "quantity": 5, "amount": "500.00"},
               {"month": "2026-11", "sku": "FO-1002", "quantity": 2, "amount": "100.00"},
               {"month": "2026-12", "sku": "FO-1001", "quantity": 9, "amount": "900.00"}],
    )  # fmt: skip
    ForecastSnapshot.objects.create(
        week="2026-W46", week_start=dt.date(2026, 11, 9), currency="EUR", forecast_ref="FC-2026-W46-EUR",
        lines=[{"month": "2026-11", "sku": "FO-1001", "quantity": 1, "amount": "1.00"}],
    )  # fmt: skip
    november = dt.datetime(2026, 11, 12, 10, tzinfo=timezone.get_current_timezone())
    erp_order(acme, [("FO-1001", 3, "95.00"), ("FO-1002", 4, "50.00")], created_at=november, currency="EUR")
    erp_order(acme, [("FO-1001", 50, "95.00")], created_at=november, currency="EUR", status="cancelled")
    # when
    rows = forecast_selectors.forecast_accuracy(months=1, today=dt.date(2026, 12, 2))
    # then: at the order's prices (95.00 after its discount), not the catalogue's
    predicted = Decimal("500.00") + Decimal("100.00")
    actual = 3 * Decimal("95.00") + 4 * Decimal("50.00")
    assert rows == [
        {
            "month": "2026-11",
            "currency": "EUR",
            "forecast": predicted,
            "actual": actual,
            "accuracy": forecast_selectors.accuracy_ratio(predicted, actual),
        }
    ]
    expected = Decimal(1) - abs(actual - predicted) / max(actual, predicted)
    assert rows[0]["accuracy"] == expected.quantize(Decimal("0.0001"))
