"""The 360 panels sales declares in its hooks ("Open opportunities", "Recommended
products", "Recent orders"): each loader stays within its declared query budget whatever
the customer holds, and its declared serializer describes exactly what it returns."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from backoffice_sync.models import ErpOrder, ErpOrderStatus, Product
from customers.models import Customer
from frontoffice import plugin
from sales.forecast.models import ProductAffinity
from sales.orders.models import SalesOrder
from sales.pipeline.models import Opportunity, OpportunityStatus
from sales.quotes.models import Quote, QuoteStatus
from sales.tests import factories
from sales.tests.forecast_setup import erp_order
from sales.tests.quote_setup import a_price_list

pytestmark = pytest.mark.django_db

SALES_PANELS = ("open_opportunities", "recommended_products", "recent_orders")


def _sales_panel(key: str) -> plugin.Panel:
    panel = plugin.panel(key)
    assert panel is not None, key
    return panel


def _opportunities(customer: Customer, count: int) -> list[Opportunity]:
    stage = factories.stage("Proposal")
    today = timezone.localdate()
    return Opportunity.objects.bulk_create(
        Opportunity(
            customer=customer,
            name=f"Deal {n}",
            amount=Decimal("100.00") + n,
            currency="EUR",
            pipeline=stage.pipeline,
            stage=stage,
            expected_close_date=today + dt.timedelta(days=n % 40) if n % 7 else None,
        )
        for n in range(count)
    )


def _orders(customer: Customer, count: int) -> None:
    """`count` placed orders (each with its accepted quote), half of them known to the ERP."""
    if not count:
        return
    price_list = a_price_list({}, name="Panels")
    opportunity = _opportunities(customer, 1)[0]
    quotes = Quote.objects.bulk_create(
        Quote(
            opportunity=opportunity,
            reference=f"Q-P{n:05d}",
            status=QuoteStatus.ACCEPTED,
            currency="EUR",
            price_list=price_list,
            valid_until=timezone.localdate(),
        )
        for n in range(count)
    )
    orders = SalesOrder.objects.bulk_create(
        SalesOrder(
            order_ref=f"SO-P{n:05d}",
            quote=quote,
            opportunity=opportunity,
            customer=customer,
            currency="EUR",
            total=Decimal("10.00") * (n + 1),
            promised_delivery_on=timezone.localdate() + dt.timedelta(days=n % 20),
        )
        for n, quote in enumerate(quotes)
    )
    ErpOrder.objects.bulk_create(
        ErpOrder(
            order_ref=order.order_ref,
            customer=customer,
            status=ErpOrderStatus.SHIPPED if n % 3 else ErpOrderStatus.CONFIRMED,
            status_changed_at=timezone.now(),
        )
        for n, order in enumerate(orders)
        if n % 2
    )


def _affinities(customer: Customer, count: int) -> None:
    """The customer bought A; buyers of A also bought `count` other products."""
    if not count:
        return
    Product.objects.bulk_create(
        Product(
            sku=f"P-{n:04d}", name=f"Product {n}", unit_price=Decimal("1.00"), currency="EUR", erp_version=1
        )
        for n in range(count)
    )
    erp_order(customer, [("A", 1)])
    ProductAffinity.objects.bulk_create(
        ProductAffinity(
            sku="A",
            other_sku=f"P-{n:04d}",
            both_customers=1 + n % 5,
            sku_customers=5,
            confidence=Decimal(1 + n % 5) / 5,
        )
        for n in range(count)
    )


def a_customer_with(admin_user: Any, rows: int) -> Customer:
    customer = factories.customer(admin_user)
    _opportunities(customer, rows)
    _orders(customer, rows)
    _affinities(customer, rows)
    return Customer.objects.get(pk=customer.pk)


def test_sales_declares_its_panels_with_a_serializer_and_a_budget() -> None:
    for key in SALES_PANELS:
        panel = _sales_panel(key)
        assert panel.serializer is not None, key
        assert panel.query_budget == 1, key


@pytest.mark.parametrize("rows", [0, 300])
@pytest.mark.parametrize("key", SALES_PANELS)
def test_each_panel_loader_stays_within_its_query_budget(
    key: str, rows: int, admin_user: Any, django_assert_max_num_queries: Any
) -> None:
    # given: a customer with `rows` open opportunities, orders and recommendations
    customer = a_customer_with(admin_user, rows)
    panel = _sales_panel(key)

    # when
    with django_assert_max_num_queries(panel.query_budget):
        data = panel.loader(customer=customer, actor=admin_user)

    # then: a bounded list, and exactly what the declared serializer describes
    assert (len(data) > 0) is (rows > 0)
    assert len(data) <= 10
    assert panel.serializer is not None
    assert panel.serializer(data).data == data


def test_open_opportunities_lists_the_next_to_close_and_no_closed_one(admin_user: Any) -> None:
    # given
    customer = factories.customer(admin_user)
    later, sooner, undated = _opportunities(customer, 3)
    today = timezone.localdate()
    Opportunity.objects.filter(pk=later.pk).update(expected_close_date=today + dt.timedelta(days=9))
    Opportunity.objects.filter(pk=sooner.pk).update(expected_close_date=today + dt.timedelta(days=2))
    Opportunity.objects.filter(pk=undated.pk).update(expected_close_date=None)
    won = _opportunities(customer, 1)[0]
    Opportunity.objects.filter(pk=won.pk).update(status=OpportunityStatus.WON, closed_at=timezone.now())

    # when
    data = _sales_panel("open_opportunities").loader(customer=customer, actor=admin_user)

    # then
    dated = [row["id"] for row in data if row["expected_close"]]
    assert dated == [sooner.pk, later.pk]
    assert {row["id"] for row in data} == {sooner.pk, later.pk, undated.pk}
    assert data[[r["id"] for r in data].index(sooner.pk)]["stage"] == "Proposal (50%)"


def test_recent_orders_shows_the_newest_with_their_state_from_the_erp(admin_user: Any) -> None:
    # given: three orders, the ERP knows the middle one as shipped
    customer = factories.customer(admin_user)
    _orders(customer, 3)
    SalesOrder.objects.filter(order_ref="SO-P00000").update(created_at=timezone.now() - dt.timedelta(days=3))

    # when
    data = _sales_panel("recent_orders").loader(customer=customer, actor=admin_user)

    # then
    assert [row["order_ref"] for row in data] == ["SO-P00002", "SO-P00001", "SO-P00000"]
    assert {row["order_ref"]: row["status"] for row in data} == {
        "SO-P00002": "submitted",
        "SO-P00001": "shipped",
        "SO-P00000": "submitted",
    }
