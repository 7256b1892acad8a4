"""The quotes, price lists and products API: permissions, ETag/If-Match, bad input,
the actions, and query budgets."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core import mail

from sales.models import PriceList, Quote, QuoteLine, QuoteStatus
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
QUOTES = "/api/v1/sales/quotes/"


@pytest.fixture
def catalogue() -> PriceList:
    return a_catalogue()


def _create(client, opportunity, **extra):
    body = {
        "opportunity": opportunity.pk,
        "valid_until": in_days(30).isoformat(),
        "tax_rate": "20.00",
        "lines": [{"sku": "SKU-1", "quantity": 2}, {"sku": "SKU-2", "quantity": 4, "discount_percent": "5"}],
        **extra,
    }
    return client.post(QUOTES, body, format="json")


def test_a_rep_creates_a_quote_with_lines_and_gets_its_etag(api_as, sales_rep, catalogue) -> None:
    # when
    response = _create(api_as(sales_rep), an_opportunity(sales_rep))
    # then: 2 x 10 + 4 x 2.50 x 0.95 = 29.50; +20% = 35.40
    assert response.status_code == 201, response.json()
    body = response.json()
    assert response["ETag"] == '"1"'
    assert (body["subtotal"], body["tax_total"], body["total"]) == ("29.50", "5.90", "35.40")
    assert [line["sku"] for line in body["lines"]] == ["SKU-1", "SKU-2"]
    assert response["Location"].endswith(f"{QUOTES}{body['id']}/")


@pytest.mark.parametrize(
    ("lines", "key"),
    [
        ([{"sku": "SKU-1", "quantity": 0}], "lines.0.quantity"),
        ([{"sku": "SKU-1", "quantity": -1}], "lines.0.quantity"),
        ([{"sku": "NOPE", "quantity": 1}], "lines.0.sku"),
        ([{"sku": "SKU-1", "quantity": 1, "discount_percent": "100.01"}], "lines.0.discount_percent"),
        ([{"sku": "SKU-1", "quantity": 1, "discount_percent": "-1"}], "lines.0.discount_percent"),
        ([{"sku": "SKU-1", "quantity": 1, "colour": "red"}], "lines.0.colour"),
    ],
)
def test_bad_lines_get_a_400_with_field_errors_and_nothing_is_written(
    api_as, sales_rep, catalogue, lines, key
) -> None:
    response = _create(api_as(sales_rep), an_opportunity(sales_rep), lines=lines)
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    assert key in response.json()["errors"], response.json()
    assert not Quote.objects.exists()


def test_a_price_list_in_another_currency_is_a_400(api_as, sales_rep, catalogue) -> None:
    usd = a_price_list({"SKU-1": "11.00"}, currency="USD")
    response = _create(api_as(sales_rep), an_opportunity(sales_rep), price_list=usd.pk)
    assert response.status_code == 400
    assert "price_list" in response.json()["errors"]
    assert not Quote.objects.exists()


def test_a_sku_missing_from_the_list_is_a_400(api_as, sales_rep, catalogue) -> None:
    a_product("SKU-3")
    response = _create(api_as(sales_rep), an_opportunity(sales_rep), lines=[{"sku": "SKU-3", "quantity": 1}])
    assert response.status_code == 400
    assert "not on the price list" in response.json()["errors"]["lines.0.sku"][0]


def test_who_may_create_quotes(
    api_as, other_rep, agent, back_office, admin_user, sales_rep, catalogue
) -> None:
    opportunity = an_opportunity(sales_rep)
    assert _create(api_as(other_rep), opportunity).status_code == 403
    assert _create(api_as(agent), opportunity).status_code == 403
    assert _create(api_as(back_office), opportunity).status_code == 403
    assert _create(api_as(admin_user), opportunity).status_code == 201


def test_updates_need_if_match_and_refuse_a_stale_one(api_as, sales_rep, catalogue) -> None:
    # given
    client = api_as(sales_rep)
    quote = a_quote(sales_rep, an_opportunity(sales_rep))
    url = f"{QUOTES}{quote.pk}/"
    # when / then
    assert client.patch(url, {"notes": "x"}, format="json").status_code == 428
    response = client.patch(
        url, {"lines": [{"sku": "SKU-2", "quantity": 2}]}, format="json", HTTP_IF_MATCH='"1"'
    )
    assert response.status_code == 200, response.json()
    assert response["ETag"] == '"2"'
    assert response.json()["total"] == "5.00"
    assert client.patch(url, {"notes": "y"}, format="json", HTTP_IF_MATCH='"1"').status_code == 412
    assert Quote.objects.get(pk=quote.pk).notes == ""


def test_another_team_cannot_change_the_quote(api_as, sales_rep, other_rep, catalogue) -> None:
    quote = a_quote(sales_rep, an_opportunity(sales_rep))
    client = api_as(other_rep)
    assert client.get(f"{QUOTES}{quote.pk}/").status_code == 200
    assert (
        client.patch(f"{QUOTES}{quote.pk}/", {"notes": "x"}, format="json", HTTP_IF_MATCH='"1"').status_code
        == 403
    )
    assert client.post(f"{QUOTES}{quote.pk}/send/", {}, format="json", HTTP_IF_MATCH='"1"').status_code == 403


def test_the_approval_flow_over_the_api(
    api_as, sales_rep, admin_user, catalogue, django_capture_on_commit_callbacks
) -> None:
    # given: reps may give 5%; the line has 15%
    discount_limits(sales=5)
    rep = api_as(sales_rep)
    quote = a_quote(
        sales_rep, an_opportunity(sales_rep), [{"sku": "SKU-1", "quantity": 1, "discount_percent": 15}]
    )
    url = f"{QUOTES}{quote.pk}/"
    assert rep.get(url).json()["lines"][0]["needs_approval"] is True
    # when / then
    refused = rep.post(f"{url}send/", {}, format="json", HTTP_IF_MATCH='"1"')
    assert refused.status_code == 409
    assert "approval" in refused.json()["detail"]
    assert rep.post(f"{url}submit-for-approval/", HTTP_IF_MATCH='"1"').status_code == 200
    assert rep.post(f"{url}approve/", HTTP_IF_MATCH='"2"').status_code == 403
    approved = api_as(admin_user).post(f"{url}approve/", HTTP_IF_MATCH='"2"')
    assert approved.status_code == 200
    assert approved.json()["status"] == QuoteStatus.APPROVED
    with django_capture_on_commit_callbacks(execute=True):
        sent = rep.post(f"{url}send/", {"to": "someone@example.test"}, format="json", HTTP_IF_MATCH='"3"')
    assert sent.status_code == 200, sent.json()
    assert sent.json()["status"] == QuoteStatus.SENT
    assert mail.outbox[0].to == ["someone@example.test"]


def test_a_requested_date_not_met_is_a_409_naming_the_earliest_date(api_as, sales_rep) -> None:
    a_product("SKU-1", on_hand=0, lead_time_days=14)
    a_price_list({"SKU-1": "10.00"})
    quote = a_quote(sales_rep, an_opportunity(sales_rep), requested_delivery_on=in_days(3))
    response = api_as(sales_rep).post(f"{QUOTES}{quote.pk}/send/", {}, format="json", HTTP_IF_MATCH='"1"')
    assert response.status_code == 409
    body = response.json()
    assert promised_in(14).isoformat() in body["detail"]
    assert "requested_delivery_on" in body["errors"]
    assert not mail.outbox


def test_an_expired_quote_cannot_be_sent(api_as, sales_rep, catalogue, time_machine) -> None:
    quote = a_quote(sales_rep, an_opportunity(sales_rep), valid_until=in_days(1))
    time_machine.move_to(in_days(3).isoformat() + "T12:00:00Z")
    response = api_as(sales_rep).post(f"{QUOTES}{quote.pk}/send/", {}, format="json", HTTP_IF_MATCH='"1"')
    assert response.status_code == 409
    assert "valid_until" in response.json()["errors"]


def test_revise_creates_revision_two(
    api_as, sales_rep, catalogue, django_capture_on_commit_callbacks
) -> None:
    client = api_as(sales_rep)
    quote = a_quote(sales_rep, an_opportunity(sales_rep))
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"{QUOTES}{quote.pk}/send/", {}, format="json", HTTP_IF_MATCH='"1"')
    response = client.post(f"{QUOTES}{quote.pk}/revise/", HTTP_IF_MATCH='"2"')
    assert response.status_code == 201, response.json()
    assert (response.json()["revision"], response.json()["previous"]) == (2, quote.pk)
    assert client.get(f"{QUOTES}{quote.pk}/").json()["status"] == QuoteStatus.SUPERSEDED


def test_the_quote_list_has_a_query_budget_that_does_not_grow(
    api_as, sales_rep, catalogue, django_assert_max_num_queries
) -> None:
    client = api_as(sales_rep)
    opportunity = an_opportunity(sales_rep)
    for _ in range(5):
        a_quote(sales_rep, opportunity, [{"sku": "SKU-1", "quantity": n} for n in range(1, 6)])
    with django_assert_max_num_queries(8):
        response = client.get(QUOTES)
    assert len(response.json()["results"]) == 5


def test_admins_write_price_lists_and_sales_reads_them(api_as, sales_rep, admin_user, catalogue) -> None:
    body = {
        "name": "EUR gold",
        "currency": "EUR",
        "tier": "gold",
        "items": [{"sku": "SKU-1", "unit_price": "9.00"}],
    }
    assert api_as(sales_rep).post("/api/v1/sales/price-lists/", body, format="json").status_code == 403
    created = api_as(admin_user).post("/api/v1/sales/price-lists/", body, format="json")
    assert created.status_code == 201, created.json()
    assert created.json()["items"] == [{"sku": "SKU-1", "unit_price": "9.00"}]
    listed = api_as(sales_rep).get("/api/v1/sales/price-lists/")
    assert listed.status_code == 200
    assert {p["tier"] for p in listed.json()["results"]} == {"standard", "gold"}


@pytest.mark.parametrize(
    ("body", "key"),
    [
        ({"name": "Bad", "currency": "eur"}, "currency"),
        (
            {"name": "Neg", "currency": "USD", "items": [{"sku": "SKU-1", "unit_price": "-1"}]},
            "items.0.unit_price",
        ),
        ({"name": "Unk", "currency": "USD", "items": [{"sku": "X", "unit_price": "1"}]}, "items.0.sku"),
    ],
)
def test_bad_price_lists_are_a_400(api_as, admin_user, catalogue, body, key) -> None:
    response = api_as(admin_user).post("/api/v1/sales/price-lists/", body, format="json")
    assert response.status_code == 400
    assert key in response.json()["errors"], response.json()
    assert PriceList.objects.count() == 1


def test_a_second_active_list_for_a_currency_and_tier_is_a_409(api_as, admin_user, catalogue) -> None:
    # when: a valid list that clashes with the active EUR standard one
    body = {"name": "Dup", "currency": "EUR", "tier": "standard"}
    response = api_as(admin_user).post("/api/v1/sales/price-lists/", body, format="json")
    # then: the state is in the way, not the input
    assert response.status_code == 409
    assert "active" in response.json()["errors"], response.json()
    assert PriceList.objects.count() == 1


def test_products_show_the_price_of_a_list(api_as, sales_rep, catalogue) -> None:
    a_product("SKU-3")
    response = api_as(sales_rep).get("/api/v1/sales/products/", {"price_list": catalogue.pk})
    assert response.status_code == 200
    prices = {p["sku"]: p["price"] for p in response.json()["results"]}
    assert prices == {"SKU-1": "10.00", "SKU-2": "2.50", "SKU-3": None}
    assert api_as(sales_rep).get("/api/v1/sales/products/", {"price_list": "x"}).status_code == 400


def test_nothing_is_half_written_when_a_later_line_fails(api_as, sales_rep, catalogue) -> None:
    client = api_as(sales_rep)
    quote = a_quote(sales_rep, an_opportunity(sales_rep))
    response = client.patch(
        f"{QUOTES}{quote.pk}/",
        {"tax_rate": "10", "lines": [{"sku": "SKU-2", "quantity": 1}, {"sku": "NOPE", "quantity": 1}]},
        format="json",
        HTTP_IF_MATCH='"1"',
    )
    assert response.status_code == 400
    quote.refresh_from_db()
    assert (quote.version, quote.tax_rate) == (1, Decimal("0.00"))
    assert list(QuoteLine.objects.filter(quote=quote).values_list("product_id", flat=True)) == ["SKU-1"]


def test_the_quote_list_filters_by_opportunity_and_status(api_as, sales_rep, catalogue) -> None:
    # given
    first, second = an_opportunity(sales_rep), an_opportunity(sales_rep)
    a_quote(sales_rep, first)
    wanted = a_quote(sales_rep, second)
    client = api_as(sales_rep)
    # when / then
    by_opportunity = client.get(QUOTES, {"opportunity": second.pk}).json()["results"]
    assert [q["id"] for q in by_opportunity] == [wanted.pk]
    assert client.get(QUOTES, {"status": "sent"}).json()["results"] == []
    assert len(client.get(QUOTES, {"status": "draft"}).json()["results"]) == 2
    assert client.get(QUOTES, {"status": "nonsense"}).status_code == 400


def test_a_draft_quote_shows_each_lines_available_date_and_the_date_sending_would_promise(
    api_as, sales_rep, django_assert_max_num_queries
) -> None:
    # given: SKU-1 in stock, SKU-2 only after its 14-day lead time
    a_product("SKU-1", on_hand=100)
    a_product("SKU-2", on_hand=0, lead_time_days=14)
    a_price_list({"SKU-1": "10.00", "SKU-2": "2.50"})
    quote = a_quote(
        sales_rep,
        an_opportunity(sales_rep),
        [{"sku": "SKU-1", "quantity": 2}, {"sku": "SKU-2", "quantity": 1}],
        requested_delivery_on=in_days(60),
    )
    # when
    with django_assert_max_num_queries(14):
        response = api_as(sales_rep).get(f"{QUOTES}{quote.pk}/")
    # then: the page's numbers, before anything is promised
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == QuoteStatus.DRAFT
    assert body["promised_delivery_on"] is None
    delivery = body["delivery"]
    assert [(row["sku"], row["available_on"], row["supply"]) for row in delivery["lines"]] == [
        ("SKU-1", promised_in(0).isoformat(), "stock"),
        ("SKU-2", promised_in(14).isoformat(), "lead_time"),
    ]
    assert delivery["promised_on"] == promised_in(14).isoformat()
    assert (delivery["requested_on"], delivery["meets_request"]) == (in_days(60).isoformat(), True)
    assert delivery["error"] == ""


def test_sending_promises_the_date_the_quote_showed(
    api_as, sales_rep, catalogue, django_capture_on_commit_callbacks
) -> None:
    # given
    client = api_as(sales_rep)
    quote = a_quote(sales_rep, an_opportunity(sales_rep))
    shown = client.get(f"{QUOTES}{quote.pk}/").json()["delivery"]["promised_on"]
    # when
    with django_capture_on_commit_callbacks(execute=True):
        sent = client.post(f"{QUOTES}{quote.pk}/send/", {}, format="json", HTTP_IF_MATCH='"1"')
    # then
    assert sent.status_code == 200, sent.json()
    assert sent.json()["promised_delivery_on"] == shown
    assert sent.json()["delivery"]["promised_on"] == shown


def test_the_quote_list_filters_by_customer(api_as, sales_rep, catalogue) -> None:
    # given: quotes of two customers
    mine, other = an_opportunity(sales_rep), an_opportunity(sales_rep)
    wanted = {a_quote(sales_rep, mine).pk, a_quote(sales_rep, mine).pk}
    a_quote(sales_rep, other)
    # when
    response = api_as(sales_rep).get(QUOTES, {"customer": mine.customer_id})
    # then
    assert response.status_code == 200
    assert {row["id"] for row in response.json()["results"]} == wanted
    assert {row["customer"] for row in response.json()["results"]} == {mine.customer_id}
    assert "delivery" not in response.json()["results"][0]  # the list stays within its budget
