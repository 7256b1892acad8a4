"""Recommendations: "customers who bought X also bought Y" from the ERP order mirror."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from frontoffice.actors import SCHEDULER
from sales import tasks
from sales.forecast import selectors_recommendations as recommendations
from sales.forecast import services as forecast_services
from sales.models import ProductAffinity
from sales.tests import factories
from sales.tests.forecast_setup import erp_order

pytestmark = pytest.mark.django_db


@pytest.fixture
def buyers(admin_user: Any) -> dict[str, Any]:
    """Two customers bought A and B, one bought A and C; a cancelled order of A and D."""
    ann, bob, cid, dan = (factories.customer(admin_user, name) for name in ("Ann", "Bob", "Cid", "Dan"))
    erp_order(ann, [("A", 1), ("B", 2)])
    erp_order(bob, [("A", 1)])
    erp_order(bob, [("B", 1)])
    erp_order(cid, [("A", 5), ("C", 1)])
    erp_order(cid, [("D", 1)], status="cancelled")
    erp_order(dan, [("A", 1), ("D", 1)], status="rejected")
    return {"ann": ann, "bob": bob, "cid": cid, "dan": dan}


def test_also_bought_ranks_by_confidence(buyers: dict) -> None:
    # when
    written = forecast_services.affinities_recompute(actor=SCHEDULER)
    # then: 3 customers bought A; 2 of them B, 1 of them C
    rows = recommendations.also_bought(["A"])
    assert [r["sku"] for r in rows] == ["B", "C"]
    assert rows[0]["confidence"] == (Decimal(2) / 3).quantize(Decimal("0.0001"))
    assert rows[0]["customers"] == 2
    assert rows[1]["confidence"] == (Decimal(1) / 3).quantize(Decimal("0.0001"))
    # both buyers of B bought A; the one buyer of C bought A
    assert recommendations.also_bought(["B"])[0]["confidence"] == Decimal(1)
    assert written == ProductAffinity.objects.count() == 4  # A->B, A->C, B->A, C->A


def test_cancelled_and_rejected_orders_are_ignored(buyers: dict) -> None:
    forecast_services.affinities_recompute(actor=SCHEDULER)
    assert not ProductAffinity.objects.filter(sku="D").exists()
    assert not ProductAffinity.objects.filter(other_sku="D").exists()


def test_recompute_replaces_every_row(buyers: dict) -> None:
    # given
    ProductAffinity.objects.create(sku="X", other_sku="Y", both_customers=1, sku_customers=1, confidence=1)
    forecast_services.affinities_recompute(actor=SCHEDULER)
    erp_order(buyers["bob"], [("C", 1)])
    # when
    tasks.recompute_affinities()
    # then: the stale pair is gone and C's confidence among A buyers rose to 2/3
    assert not ProductAffinity.objects.filter(sku="X").exists()
    assert ProductAffinity.objects.get(sku="A", other_sku="C").both_customers == 2


def test_recompute_keeps_the_top_ten_per_sku(admin_user: Any) -> None:
    customer = factories.customer(admin_user)
    erp_order(customer, [("A", 1)] + [(f"P{n:02d}", 1) for n in range(12)])
    forecast_services.affinities_recompute(actor=SCHEDULER)
    assert ProductAffinity.objects.filter(sku="A").count() == forecast_services.TOP_PER_SKU


def test_recommended_for_customer_excludes_what_they_bought_in_one_query(
    buyers: dict, django_assert_max_num_queries: Any
) -> None:
    forecast_services.affinities_recompute(actor=SCHEDULER)
    # when: Ann bought A and B; buyers of A also bought C
    with django_assert_max_num_queries(1):
        rows = recommendations.recommended_for_customer(buyers["ann"])
    # then
    assert [r["sku"] for r in rows] == ["C"]


def test_the_panel_loader_costs_one_query(buyers: dict, django_assert_max_num_queries: Any) -> None:
    forecast_services.affinities_recompute(actor=SCHEDULER)
    with django_assert_max_num_queries(1):
        data = recommendations.recommended_panel(customer=buyers["bob"], actor=SCHEDULER)
    assert [r["sku"] for r in data] == ["C"]
