"""Recommendations where people work: the 360 view's "Recommended products" panel (and
the 360 API's budget with it), and the quote builder, which offers products with their
price and availability and adds one with a click (HTMX) or a plain form post."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from backoffice_sync.models import Product
from customers.models import Activity
from sales.forecast import selectors_recommendations as recommendations
from sales.models import ProductAffinity, Quote, QuoteStatus
from sales.quotes import services as quote_services
from sales.tests.forecast_setup import erp_order
from sales.tests.quote_setup import a_price_list, a_product, a_quote, an_opportunity, in_days, promised_in

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "quote-builder"}


def browser(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def html(response: Any) -> str:
    return response.content.decode()


def affinity(sku: str, other: str, both: int = 2, buyers: int = 3) -> None:
    ProductAffinity.objects.create(
        sku=sku,
        other_sku=other,
        both_customers=both,
        sku_customers=buyers,
        confidence=(Decimal(both) / buyers).quantize(Decimal("0.0001")),
    )


@pytest.fixture
def shop() -> dict[str, str]:
    """SKU-1..SKU-3 in stock on the EUR list; SKU-4 in the catalogue but not on the list;
    SKU-5 on the list but no longer sold; SKU-6 on the list with no stock (20-day lead
    time). Buyers of SKU-1 also bought SKU-3 (2 of 3), SKU-4, SKU-5 and SKU-6 (1 of 3);
    buyers of SKU-2 also bought SKU-1."""
    for sku in ("SKU-1", "SKU-2", "SKU-3", "SKU-4", "SKU-5"):
        a_product(sku, name=f"Widget {sku[-1]}")
    a_product("SKU-6", on_hand=0, lead_time_days=20, name="Widget 6")
    prices = {"SKU-1": "10.00", "SKU-2": "2.50", "SKU-3": "7.00", "SKU-5": "1.00", "SKU-6": "3.00"}
    a_price_list(prices)
    Product.objects.filter(sku="SKU-5").update(active=False)
    affinity("SKU-1", "SKU-3", 2)
    for other in ("SKU-4", "SKU-5", "SKU-6"):
        affinity("SKU-1", other, 1)
    affinity("SKU-2", "SKU-1", 1)
    return prices


# --- the selector ---------------------------------------------------------------------------


def test_a_quote_is_offered_what_its_products_buyers_also_bought_priced_in_one_query(
    shop, sales_rep, django_assert_max_num_queries
):
    # given
    opp = an_opportunity(sales_rep)
    quote = a_quote(sales_rep, opp, [{"sku": "SKU-1", "quantity": 1}])
    # when
    with django_assert_max_num_queries(1):
        rows = recommendations.recommended_for_quote(
            skus=["SKU-1"], customer_id=opp.customer_id, price_list_id=quote.price_list_id
        )
    # then: not what is on the quote, not what the list lacks, not what is no longer sold
    assert [(r["sku"], r["unit_price"], r["name"]) for r in rows] == [
        ("SKU-3", Decimal("7.00"), "Widget 3"),
        ("SKU-6", Decimal("3.00"), "Widget 6"),
    ]
    assert rows[0]["confidence"] == Decimal("0.6667")


def test_past_purchases_bring_recommendations_and_are_not_offered_again(shop, sales_rep):
    # given: the customer bought SKU-2 and SKU-3 before; the quote is empty
    opp = an_opportunity(sales_rep)
    erp_order(opp.customer, [("SKU-2", 4), ("SKU-3", 1)])
    erp_order(opp.customer, [("SKU-6", 1)], status="cancelled")
    quote = a_quote(sales_rep, opp, [])
    # when
    rows = recommendations.recommended_for_quote(
        skus=[], customer_id=opp.customer_id, price_list_id=quote.price_list_id
    )
    # then: SKU-2's buyers bought SKU-1; SKU-3 was bought already (a cancelled order is no purchase)
    assert [r["sku"] for r in rows] == ["SKU-1"]


# --- the 360 view -----------------------------------------------------------------------------


def test_the_360_page_has_a_recommended_products_panel(shop, sales_rep):
    # given: the customer bought SKU-1
    opp = an_opportunity(sales_rep)
    erp_order(opp.customer, [("SKU-1", 2)])
    client = browser(sales_rep)
    # when
    page = html(client.get(reverse("customers:detail", args=[opp.customer_id])))
    panel = html(client.get(reverse("customers:panel", args=[opp.customer_id, "recommended_products"])))
    # then
    assert 'id="panel-recommended_products"' in page
    assert "SKU-3 · Widget 3" in panel
    assert "67%" in panel


def test_the_panel_is_for_who_may_see_recommendations(shop, sales_rep, agent):
    opp = an_opportunity(sales_rep)
    page = html(browser(agent).get(reverse("customers:detail", args=[opp.customer_id])))
    assert 'id="panel-recommended_products"' not in page
    url = reverse("customers:panel", args=[opp.customer_id, "recommended_products"])
    assert browser(agent).get(url).status_code == 403


@pytest.mark.parametrize("activities", [0, 500])
def test_the_360_api_inlines_the_panel_within_its_budget(
    shop, sales_rep, admin_user, api_as, activities, django_assert_max_num_queries
):
    # given: a customer with purchases, open opportunities, orders and a long timeline
    opp = an_opportunity(sales_rep)
    customer = opp.customer
    for n in range(3):
        erp_order(customer, [("SKU-1", 1 + n), ("SKU-2", 1)])
    Activity.objects.bulk_create(
        Activity(
            customer=customer,
            kind="note",
            subject=f"Note {n}",
            occurred_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC) + dt.timedelta(minutes=n),
            source_app="customers",
        )
        for n in range(activities)
    )
    client = api_as(admin_user)
    # when / then: the customers app's 15-query budget, with every registered panel
    with django_assert_max_num_queries(15):
        response = client.get(
            f"/api/v1/customers/{customer.pk}/360/?panels=recommended_products,open_opportunities"
        )
    assert response.status_code == 200
    panels = {p["key"]: p.get("data") for p in response.json()["panels"]}
    # the panel is not priced: SKU-4 (on no price list) shows, SKU-5 (no longer sold) does not
    assert [r["sku"] for r in panels["recommended_products"]] == ["SKU-3", "SKU-4", "SKU-6"]
    assert panels["open_opportunities"][0]["id"] == opp.pk


# --- the quote builder --------------------------------------------------------------------------


def test_the_builder_offers_products_with_their_price_and_availability(shop, sales_rep):
    # given
    quote = a_quote(
        sales_rep,
        an_opportunity(sales_rep),
        [{"sku": "SKU-1", "quantity": 1}],
        requested_delivery_on=in_days(5),
    )
    # when
    page = html(browser(sales_rep).get(f"/sales/quotes/{quote.pk}/"))
    # then
    assert 'id="recommended-products"' in page
    assert 'data-recommended="SKU-3"' in page
    assert 'data-recommended="SKU-4"' not in page  # not on the price list
    assert 'data-recommended="SKU-5"' not in page  # no longer sold
    assert "7.00 EUR" in page
    assert promised_in(0).isoformat() in page  # SKU-3 is in stock
    assert promised_in(20).isoformat() in page  # SKU-6 comes after its lead time...
    assert "after requested date" in page  # ...later than the customer asked
    assert 'aria-label="Add SKU-3 Widget 3 to the quote"' in page


def test_add_without_javascript_adds_the_line_and_returns_to_the_builder(shop, sales_rep):
    # given
    quote = a_quote(sales_rep, an_opportunity(sales_rep), [{"sku": "SKU-1", "quantity": 2}])
    client = browser(sales_rep)
    # when
    response = client.post(
        reverse("sales:quote_add_line", args=[quote.pk]), {"version": 1, "sku": "SKU-3", "quantity": "1"}
    )
    # then
    assert response.status_code == 302
    assert response["Location"] == reverse("sales:quote_detail", args=[quote.pk])
    quote.refresh_from_db()
    assert quote.version == 2
    assert [(ln.product_id, ln.quantity, ln.unit_price) for ln in quote.lines.order_by("position")] == [
        ("SKU-1", 2, Decimal("10.00")),
        ("SKU-3", 1, Decimal("7.00")),
    ]
    assert quote.subtotal == Decimal("27.00")
    page = html(client.get(response["Location"]))
    assert "Added SKU-3 to the quote." in page
    assert 'data-recommended="SKU-3"' not in page  # on the quote now


def test_add_with_htmx_answers_the_builder_to_swap_in_place(shop, sales_rep):
    quote = a_quote(sales_rep, an_opportunity(sales_rep), [{"sku": "SKU-1", "quantity": 2}])
    response = browser(sales_rep).post(
        reverse("sales:quote_add_line", args=[quote.pk]), {"version": 1, "sku": "SKU-6"}, **HTMX
    )
    page = html(response)
    assert response.status_code == 200
    assert 'id="quote-builder"' in page
    assert 'id="add-line-status"' in page
    assert "Added SKU-6 to the quote." in page
    assert 'name="version" value="2"' in page  # the swapped forms carry the new version
    assert Quote.objects.get(pk=quote.pk).lines.filter(product_id="SKU-6").exists()


def test_adding_a_product_already_on_the_quote_adds_to_its_quantity(shop, sales_rep):
    quote = a_quote(sales_rep, an_opportunity(sales_rep), [{"sku": "SKU-1", "quantity": 2}])
    quote_services.quote_add_line(
        actor=sales_rep, quote_id=quote.pk, expected_version=1, sku="SKU-1", quantity=3
    )
    assert list(quote.lines.values_list("product_id", "quantity")) == [("SKU-1", 5)]


def test_a_stale_or_bad_add_is_refused_and_nothing_is_written(shop, sales_rep):
    # given: the quote changed since the page was shown
    quote = a_quote(sales_rep, an_opportunity(sales_rep), [{"sku": "SKU-1", "quantity": 2}])
    quote_services.quote_update(actor=sales_rep, quote_id=quote.pk, expected_version=1, notes="Changed")
    client = browser(sales_rep)
    url = reverse("sales:quote_add_line", args=[quote.pk])
    # when
    stale = client.post(url, {"version": 1, "sku": "SKU-3"}, **HTMX)
    unknown = client.post(url, {"version": 2, "sku": "SKU-4"}, **HTMX)
    plain = client.post(url, {"version": 1, "sku": "SKU-3"})
    # then
    assert "Someone else changed this quote" in html(stale)
    assert "not on the price list" in html(unknown)
    assert plain.status_code == 302
    assert "Someone else changed this quote" in html(client.get(plain["Location"]))
    quote.refresh_from_db()
    assert quote.version == 2
    assert list(quote.lines.values_list("product_id", flat=True)) == ["SKU-1"]


def test_only_who_may_work_on_the_quote_adds(shop, sales_rep, other_rep, agent):
    quote = a_quote(sales_rep, an_opportunity(sales_rep), [{"sku": "SKU-1", "quantity": 2}])
    url = reverse("sales:quote_add_line", args=[quote.pk])
    assert browser(other_rep).post(url, {"version": 1, "sku": "SKU-3"}).status_code == 403
    assert browser(agent).post(url, {"version": 1, "sku": "SKU-3"}).status_code == 403
    page = html(browser(other_rep).get(f"/sales/quotes/{quote.pk}/"))
    assert 'data-recommended="SKU-3"' in page  # shown, but no "Add"
    assert "Add SKU-3" not in page
    assert quote.lines.count() == 1


def test_a_sent_quote_offers_nothing(shop, sales_rep):
    quote = a_quote(sales_rep, an_opportunity(sales_rep), [{"sku": "SKU-1", "quantity": 1}])
    Quote.objects.filter(pk=quote.pk).update(status=QuoteStatus.SENT, sent_at=timezone.now())
    assert 'id="recommended-products"' not in html(browser(sales_rep).get(f"/sales/quotes/{quote.pk}/"))
    response = browser(sales_rep).post(
        reverse("sales:quote_add_line", args=[quote.pk]), {"version": 1, "sku": "SKU-3"}, **HTMX
    )
    assert "cannot change" in html(response)
    assert quote.lines.count() == 1


# --- the new-quote page -------------------------------------------------------------------------


def test_a_new_quote_can_start_with_recommended_products(shop, sales_rep):
    # given: the opportunity is for SKU-1
    opp = an_opportunity(sales_rep)
    opp.lines.create(sku="SKU-1", quantity=Decimal("2"), unit_price=Decimal("10.00"))
    client = browser(sales_rep)
    url = f"{reverse('sales:quote_create')}?opportunity={opp.pk}"
    # when
    page = html(client.get(url))
    response = client.post(
        reverse("sales:quote_create"),
        {"opportunity": opp.pk, "valid_until": in_days(30).isoformat(), "tax_rate": "0", "add": ["SKU-3"]},
    )
    # then
    assert 'data-recommended="SKU-3"' in page
    assert 'name="add" value="SKU-6"' in page
    assert "7.00 EUR" in page
    assert response.status_code == 302
    quote = Quote.objects.get(opportunity=opp)
    assert list(quote.lines.values_list("product_id", "quantity")) == [("SKU-3", 1)]


@pytest.mark.parametrize("n_lines", [0, 300])
def test_the_new_quote_page_runs_a_bounded_number_of_queries(
    shop, sales_rep, n_lines, django_assert_max_num_queries
):
    # given
    opp = an_opportunity(sales_rep)
    erp_order(opp.customer, [("SKU-2", 1)])
    opp.lines.bulk_create(
        opp.lines.model(opportunity=opp, sku="SKU-1", quantity=1, unit_price=Decimal("10"))
        for _ in range(n_lines)
    )
    client = browser(sales_rep)
    client.get("/")
    # when / then: session, user, perms x2, opportunity, price list, lines' SKUs,
    # recommendations, ATP's 6 queries
    with django_assert_max_num_queries(15):
        response = client.get(f"{reverse('sales:quote_create')}?opportunity={opp.pk}")
    assert response.status_code == 200
    # without lines, from the past purchase (SKU-2's buyers bought SKU-1); with, from SKU-1
    expected = "SKU-3" if n_lines else "SKU-1"
    assert f'data-recommended="{expected}"' in html(response)
