"""Quote pages: the builder (ATP per line, totals, flags), its form, the actions, the
print view and the PDF; permissions and a query budget that does not grow with lines."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core import mail
from django.test import Client

from frontoffice.actors import MAINTENANCE
from sales.models import PriceList, ProductAffinity, Quote, QuoteStatus
from sales.pricing import services as pricing
from sales.tests.forecast_setup import erp_order
from sales.tests.quote_setup import (
    a_catalogue,
    a_price_list,
    a_product,
    a_quote,
    an_opportunity,
    discount_limits,
    in_days,
    promised_in,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def catalogue() -> PriceList:
    return a_catalogue()


def browser(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_builder_shows_atp_dates_totals_and_both_flags(sales_rep) -> None:
    # given: SKU-1 has no stock and a 20-day lead time; the customer asks for 5 days; 30% off
    a_product("SKU-1", on_hand=0, lead_time_days=20)
    a_price_list({"SKU-1": "10.00"})
    discount_limits(sales=10)
    quote = a_quote(
        sales_rep,
        an_opportunity(sales_rep),
        [{"sku": "SKU-1", "quantity": 2, "discount_percent": 30}],
        requested_delivery_on=in_days(5),
    )
    # when
    response = browser(sales_rep).get(f"/sales/quotes/{quote.pk}/")
    # then
    html = response.content.decode()
    assert response.status_code == 200
    assert promised_in(20).isoformat() in html
    assert 'id="flag-delivery"' in html
    assert 'id="flag-approval"' in html
    assert "14.00" in html  # 2 x 10.00 less 30%
    assert "Submit for approval" in html


def test_the_builder_form_replaces_lines_and_shows_field_errors(sales_rep, catalogue) -> None:
    quote = a_quote(sales_rep, an_opportunity(sales_rep))
    client = browser(sales_rep)
    form = {
        "version": 1,
        "valid_until": in_days(10).isoformat(),
        "tax_rate": "10",
        "line_0_sku": "SKU-2",
        "line_0_quantity": "4",
        "line_0_discount_percent": "",
        "line_1_sku": "NOPE",
        "line_1_quantity": "1",
    }
    # when: a bad second line
    response = client.post(f"/sales/quotes/{quote.pk}/", form)
    # then
    assert response.status_code == 400
    assert "Unknown SKU" in response.content.decode()
    assert Quote.objects.get(pk=quote.pk).version == 1
    # when: fixed
    form["line_1_sku"] = ""
    response = client.post(f"/sales/quotes/{quote.pk}/", form)
    assert response.status_code == 302
    quote.refresh_from_db()
    assert (str(quote.subtotal), str(quote.total)) == ("10.00", "11.00")


def test_actions_submit_approve_send_and_revise_from_the_page(
    sales_rep, admin_user, catalogue, django_capture_on_commit_callbacks
) -> None:
    discount_limits(sales=5)
    quote = a_quote(
        sales_rep, an_opportunity(sales_rep), [{"sku": "SKU-1", "quantity": 1, "discount_percent": 20}]
    )
    rep, boss = browser(sales_rep), browser(admin_user)
    assert rep.post(f"/sales/quotes/{quote.pk}/submit/", {"version": 1}).status_code == 302
    assert boss.post(f"/sales/quotes/{quote.pk}/approve/", {"version": 2}).status_code == 302
    with django_capture_on_commit_callbacks(execute=True):
        response = rep.post(f"/sales/quotes/{quote.pk}/send/", {"send-version": 3, "send-to": ""})
    assert response.status_code == 302
    assert Quote.objects.get(pk=quote.pk).status == QuoteStatus.SENT
    assert len(mail.outbox) == 1
    assert rep.post(f"/sales/quotes/{quote.pk}/revise/", {"version": 4}).status_code == 302
    assert Quote.objects.filter(previous=quote, revision=2).exists()


def test_a_refused_send_shows_why(sales_rep) -> None:
    a_product("SKU-1", on_hand=0, lead_time_days=20)
    a_price_list({"SKU-1": "10.00"})
    quote = a_quote(sales_rep, an_opportunity(sales_rep), requested_delivery_on=in_days(5))
    response = browser(sales_rep).post(f"/sales/quotes/{quote.pk}/send/", {"send-version": 1})
    assert response.status_code == 409
    assert promised_in(20).isoformat() in response.content.decode()
    assert not mail.outbox


def test_permissions_on_pages(sales_rep, other_rep, agent, catalogue) -> None:
    quote = a_quote(sales_rep, an_opportunity(sales_rep))
    assert browser(agent).get(f"/sales/quotes/{quote.pk}/").status_code == 403
    other = browser(other_rep)
    page = other.get(f"/sales/quotes/{quote.pk}/")
    assert page.status_code == 200
    assert 'id="quote-form"' not in page.content.decode()
    assert other.post(f"/sales/quotes/{quote.pk}/", {"version": 1}).status_code == 403
    assert other.get(f"/sales/quotes/new/?opportunity={quote.opportunity_id}").status_code == 403


def test_create_from_an_opportunity(sales_rep, catalogue) -> None:
    opportunity = an_opportunity(sales_rep)
    client = browser(sales_rep)
    assert client.get(f"/sales/quotes/new/?opportunity={opportunity.pk}").status_code == 200
    response = client.post(
        "/sales/quotes/new/",
        {"opportunity": opportunity.pk, "valid_until": in_days(30).isoformat(), "tax_rate": "19"},
    )
    assert response.status_code == 302
    assert Quote.objects.get().opportunity == opportunity


def test_print_view_and_pdf(sales_rep, catalogue) -> None:
    quote = a_quote(sales_rep, an_opportunity(sales_rep))
    client = browser(sales_rep)
    printed = client.get(f"/sales/quotes/{quote.pk}/print/")
    assert printed.status_code == 200
    assert "@media print" in printed.content.decode()
    assert quote.reference in printed.content.decode()
    pdf = client.get(f"/sales/quotes/{quote.pk}/pdf/")
    assert pdf.status_code == 200
    assert pdf["Content-Type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")


@pytest.mark.parametrize("n_lines", [0, 300])
def test_the_builder_runs_a_bounded_number_of_queries(
    sales_rep, catalogue, django_assert_max_num_queries, n_lines
) -> None:
    # given: products to recommend (SKU-3, bought with SKU-1 and SKU-2; the customer
    # bought SKU-2 before), so that the recommendations' queries are counted too
    a_product("SKU-3")
    pricing.price_list_update(
        actor=MAINTENANCE,
        price_list_id=catalogue.pk,
        expected_version=None,
        items=[
            {"sku": sku, "unit_price": price} for sku, price in (("SKU-1", 10), ("SKU-2", 2.5), ("SKU-3", 7))
        ],
    )
    for sku in ("SKU-1", "SKU-2"):
        ProductAffinity.objects.create(
            sku=sku, other_sku="SKU-3", both_customers=1, sku_customers=2, confidence=Decimal("0.5")
        )
    opportunity = an_opportunity(sales_rep)
    erp_order(opportunity.customer, [("SKU-2", 1)])
    lines = [{"sku": "SKU-1" if n % 2 else "SKU-2", "quantity": 1 + n % 3} for n in range(n_lines)]
    quote = a_quote(sales_rep, opportunity, lines)
    client = browser(sales_rep)
    client.get("/")  # session and user warmed the same way for both sizes
    # when / then: session, user, perms, quote, lines, revisions, recommendations (one)
    # and ATP's 6 queries (the recommended products' in the lines' call)
    with django_assert_max_num_queries(15):
        response = client.get(f"/sales/quotes/{quote.pk}/")
    assert response.status_code == 200
    assert response.content.decode().count('class="num">') >= n_lines
    assert 'data-recommended="SKU-3"' in response.content.decode()


def test_admins_configure_price_lists_and_limits_in_the_admin(admin_user, sales_rep, catalogue) -> None:
    a_quote(sales_rep, an_opportunity(sales_rep))
    client = browser(admin_user)
    for url in (
        "/admin/sales/pricelist/",
        f"/admin/sales/pricelist/{catalogue.pk}/change/",
        "/admin/sales/discountlimit/add/",
        "/admin/sales/quote/",
    ):
        assert client.get(url).status_code == 200, url


def test_the_quote_list_page(sales_rep, catalogue) -> None:
    quote = a_quote(sales_rep, an_opportunity(sales_rep))
    response = browser(sales_rep).get("/sales/quotes/", {"status": "draft"})
    assert response.status_code == 200
    assert quote.reference in response.content.decode()


@pytest.mark.parametrize("raw", ["²", "٣", "1.0", "-1", "99999999999999999999", "", "abc"])
def test_a_new_quote_for_an_opportunity_id_that_cannot_be_one_is_a_404(sales_rep, raw) -> None:
    # when
    answer = browser(sales_rep).get("/sales/quotes/new/", {"opportunity": raw})
    # then
    assert answer.status_code == 404


def test_a_timeline_link_to_a_reference_that_is_not_an_id_is_left_out() -> None:
    from frontoffice import plugin

    links = [kind.link for kind in plugin.timeline_kinds().values() if kind.link]
    assert links
    assert all(link("²") is None and link("٣") is None for link in links)
