"""Forecast accuracy per currency: each order counts in its own currency, at its own
prices, against the forecast published in that currency."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from backoffice_sync.models import ErpOrder, Product
from sales.forecast import selectors as forecast_selectors
from sales.models import ForecastSnapshot, SalesOrder
from sales.orders import services as order_services
from sales.quotes import services as quote_services
from sales.tests import factories
from sales.tests.forecast_setup import erp_order
from sales.tests.order_erp import SKU, an_erp_with_stock, erp_lives
from sales.tests.quote_setup import a_price_list, a_quote, an_opportunity, discount_limits

pytestmark = pytest.mark.django_db

NOVEMBER = dt.datetime(2026, 11, 12, 10, tzinfo=dt.UTC)
DECEMBER_2ND = dt.date(2026, 12, 2)


def a_snapshot(currency: str, month: str, amount: str, *, week_start: dt.date) -> ForecastSnapshot:
    year, week, _ = week_start.isocalendar()
    return ForecastSnapshot.objects.create(
        week=f"{year:04d}-W{week:02d}",
        week_start=week_start,
        currency=currency,
        forecast_ref=f"FC-{year:04d}-W{week:02d}-{currency}",
        lines=[{"month": month, "sku": SKU, "quantity": 1, "amount": amount}],
        total_amount=Decimal(amount),
    )


def by_currency(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {row["currency"]: row for row in rows}


def test_eur_and_gbp_orders_of_one_month_each_count_in_their_own_currency(admin_user: Any) -> None:
    # given: a EUR and a GBP forecast for November, and orders in both (the catalogue is in EUR)
    customer = factories.customer(admin_user)
    Product.objects.create(sku=SKU, name="Desk", unit_price=Decimal("100.00"), currency="EUR")
    a_snapshot("EUR", "2026-11", "1000.00", week_start=dt.date(2026, 10, 19))
    a_snapshot("GBP", "2026-11", "500.00", week_start=dt.date(2026, 10, 19))
    erp_order(customer, [(SKU, 4, "98.00"), ("FO-1002", 1, "200.00")], created_at=NOVEMBER, currency="EUR")
    erp_order(customer, [(SKU, 5, "80.00")], created_at=NOVEMBER, currency="GBP")
    erp_order(customer, [(SKU, 2, "81.00")], created_at=NOVEMBER, currency="GBP")
    # when
    rows = by_currency(forecast_selectors.forecast_accuracy(months=1, today=DECEMBER_2ND))
    # then
    eur = 4 * Decimal("98.00") + Decimal("200.00")
    gbp = 5 * Decimal("80.00") + 2 * Decimal("81.00")
    assert {cur: (row["month"], row["forecast"], row["actual"]) for cur, row in rows.items()} == {
        "EUR": ("2026-11", Decimal("1000.00"), eur),
        "GBP": ("2026-11", Decimal("500.00"), gbp),
    }
    assert rows["GBP"]["accuracy"] == forecast_selectors.accuracy_ratio(Decimal("500.00"), gbp)
    assert rows["GBP"]["accuracy"] > 0
    assert rows["EUR"]["accuracy"] == forecast_selectors.accuracy_ratio(Decimal("1000.00"), eur)
    # and a currency filter keeps to that currency's orders
    (only_gbp,) = forecast_selectors.forecast_accuracy(months=1, currency="GBP", today=DECEMBER_2ND)
    assert (only_gbp["currency"], only_gbp["actual"]) == ("GBP", gbp)


def test_the_accuracy_takes_two_queries_whatever_the_number_of_orders(
    admin_user: Any, django_assert_max_num_queries: Any
) -> None:
    # given
    customer = factories.customer(admin_user)
    a_snapshot("EUR", "2026-11", "1000.00", week_start=dt.date(2026, 10, 19))
    for n in range(12):
        erp_order(
            customer, [(SKU, n + 1, "10.00"), ("FO-1002", 1, "5.00")], created_at=NOVEMBER, currency="EUR"
        )
        erp_order(customer, [(SKU, n + 1, "9.00")], created_at=NOVEMBER, order_ref=f"SO-X{n}")
    # when / then
    with django_assert_max_num_queries(2):
        rows = forecast_selectors.forecast_accuracy(months=1, today=DECEMBER_2ND)
    assert [row["currency"] for row in rows] == ["EUR"]


def a_gbp_order(rep: Any, *, quantity: int, discount: str) -> SalesOrder:
    """A GBP quote for SKU at 20.00 less `discount` %, sent and accepted."""
    a_price_list({SKU: "20.00"}, currency="GBP")
    discount_limits(sales=50)
    quote = a_quote(
        rep,
        an_opportunity(rep, currency="GBP"),
        [{"sku": SKU, "quantity": quantity, "discount_percent": discount}],
    )
    quote = quote_services.quote_send(actor=rep, quote_id=quote.pk, expected_version=quote.version)
    return order_services.quote_accept(actor=rep, quote_id=quote.pk, expected_version=quote.version)


def test_an_order_the_erp_reported_without_currency_or_prices_is_valued_from_its_sales_order(
    sales_rep: Any,
) -> None:
    # given: a GBP order whose mirror lacks currency and prices (mirrored before they were kept)
    an_erp_with_stock()
    order = a_gbp_order(sales_rep, quantity=3, discount="10")
    erp_order(order.customer, [(SKU, 3)], created_at=NOVEMBER, order_ref=order.order_ref)
    a_snapshot("GBP", "2026-11", "60.00", week_start=dt.date(2026, 10, 19))
    # when
    rows = by_currency(forecast_selectors.forecast_accuracy(months=1, today=DECEMBER_2ND))
    # then: 3 x 20.00 less 10 %, in GBP
    assert set(rows) == {"GBP"}
    assert (rows["GBP"]["actual"], rows["GBP"]["accuracy"]) == (
        Decimal("54.00"),
        forecast_selectors.accuracy_ratio(Decimal("60.00"), Decimal("54.00")),
    )


def test_orders_placed_in_eur_and_gbp_reach_the_accuracy_through_the_erp(sales_rep: Any) -> None:
    # given: a EUR and a GBP order accepted this month, delivered to the ERP, confirmed, pulled back
    erp = an_erp_with_stock()
    eur_quote = a_quote(sales_rep, an_opportunity(sales_rep), [{"sku": SKU, "quantity": 2}])
    eur_quote = quote_services.quote_send(
        actor=sales_rep, quote_id=eur_quote.pk, expected_version=eur_quote.version
    )
    eur_order = order_services.quote_accept(
        actor=sales_rep, quote_id=eur_quote.pk, expected_version=eur_quote.version
    )
    gbp_order = a_gbp_order(sales_rep, quantity=4, discount="25")
    erp_lives(erp, 24)
    mirrors = {m.order_ref: m for m in ErpOrder.objects.prefetch_related("lines")}
    assert (mirrors[gbp_order.order_ref].currency, mirrors[eur_order.order_ref].currency) == ("GBP", "EUR")
    # when: next month, the accuracy of this one
    this_month = timezone.localdate().replace(day=1)
    rows = by_currency(
        forecast_selectors.forecast_accuracy(months=1, today=forecast_selectors.next_month(this_month))
    )
    # then: EUR at the EUR list's 12.50, GBP at 20.00 less 25 %
    assert {cur: row["actual"] for cur, row in rows.items()} == {
        "EUR": Decimal("25.00"),
        "GBP": Decimal("60.00"),
    }
    assert [line.unit_price for line in mirrors[gbp_order.order_ref].lines.all()] == [Decimal("15.00")]
