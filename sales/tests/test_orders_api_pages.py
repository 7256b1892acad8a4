"""The orders API and pages: accept (If-Match), list with filters, retrieve with the
mirror's history, cancel; the order list and page with bounded queries; the builder's
Accept button; the navigation entry."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from backoffice_sync.models import ErpOrder, ErpOrderStatusChange, OutboxMessage, Shipment
from sales.models import Quote, QuoteLine, QuoteStatus, SalesOrder, SalesOrderLine
from sales.orders import services as order_services
from sales.tests.order_setup import a_sent_quote

pytestmark = pytest.mark.django_db


def shipped(order: SalesOrder) -> None:
    erp = ErpOrder.objects.create(
        order_ref=order.order_ref,
        customer_id=order.customer_id,
        status="shipped",
        status_changed_at=timezone.now(),
        erp_version=2,
    )
    ErpOrderStatusChange.objects.create(
        order=erp, status="shipped", erp_version=2, occurred_at=timezone.now()
    )
    Shipment.objects.create(
        order=erp,
        number=f"SH-{order.pk}",
        carrier="DHL",
        tracking_number="TRK-7",
        shipped_on=timezone.localdate(),
    )


# --- API ---------------------------------------------------------------------------------


def test_accepting_through_the_api_answers_the_order(api_as, sales_rep) -> None:
    quote = a_sent_quote(sales_rep)
    client = api_as(sales_rep)
    url = f"/api/v1/sales/quotes/{quote.pk}/accept/"
    # without If-Match: 428; with an old one: 412
    assert client.post(url, {}, format="json").status_code == 428
    assert client.post(url, {}, format="json", HTTP_IF_MATCH='"1"').status_code == 412
    # when
    response = client.post(url, {}, format="json", HTTP_IF_MATCH=f'"{quote.version}"')
    # then
    assert response.status_code == 201, response.content
    body = response.json()
    order = SalesOrder.objects.get()
    assert body["order_ref"] == order.order_ref
    assert body["status"] == "submitted"
    assert [line["sku"] for line in body["lines"]] == ["SKU-1"]
    assert response["Location"].endswith(f"/api/v1/sales/orders/{order.pk}/")
    # and twice: 409, nothing more written
    again = client.post(url, {}, format="json", HTTP_IF_MATCH=f'"{quote.version + 1}"')
    assert again.status_code == 409
    assert OutboxMessage.objects.count() == 1


def test_others_cannot_accept_through_the_api(api_as, sales_rep, other_rep, back_office) -> None:
    quote = a_sent_quote(sales_rep)
    for user in (other_rep, back_office):
        response = api_as(user).post(
            f"/api/v1/sales/quotes/{quote.pk}/accept/", {}, format="json", HTTP_IF_MATCH=f'"{quote.version}"'
        )
        assert response.status_code == 403
    assert not SalesOrder.objects.exists()


def test_the_order_list_filters_by_customer_and_status(api_as, sales_rep, back_office) -> None:
    first = order_services.quote_accept(
        actor=sales_rep, quote_id=a_sent_quote(sales_rep).pk, expected_version=None
    )
    second = order_services.quote_accept(
        actor=sales_rep, quote_id=a_sent_quote(sales_rep, catalogue=False).pk, expected_version=None
    )
    shipped(second)
    client = api_as(back_office)
    refs = lambda response: [row["order_ref"] for row in response.json()["results"]]  # noqa: E731
    assert refs(client.get("/api/v1/sales/orders/")) == [second.order_ref, first.order_ref]
    assert refs(client.get("/api/v1/sales/orders/", {"customer": first.customer_id})) == [first.order_ref]
    assert refs(client.get("/api/v1/sales/orders/", {"status": "shipped"})) == [second.order_ref]
    assert refs(client.get("/api/v1/sales/orders/", {"status": "submitted"})) == [first.order_ref]
    assert client.get("/api/v1/sales/orders/", {"status": "nonsense"}).status_code == 400
    detail = client.get(f"/api/v1/sales/orders/{second.pk}/").json()
    assert detail["erp_status"] == "shipped"
    assert [row["status"] for row in detail["history"]] == ["shipped"]
    assert detail["shipments"][0]["tracking_number"] == "TRK-7"


def test_cancelling_through_the_api(api_as, sales_rep, back_office) -> None:
    order = order_services.quote_accept(
        actor=sales_rep, quote_id=a_sent_quote(sales_rep).pk, expected_version=None
    )
    url = f"/api/v1/sales/orders/{order.pk}/cancel/"
    client = api_as(sales_rep)
    assert (
        api_as(back_office).post(url, {"reason": "x"}, format="json", HTTP_IF_MATCH='"1"').status_code == 403
    )
    assert client.post(url, {}, format="json", HTTP_IF_MATCH='"1"').status_code == 400
    response = client.post(url, {"reason": "Wrong size"}, format="json", HTTP_IF_MATCH='"1"')
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "cancel_requested"
    assert client.post(url, {"reason": "again"}, format="json", HTTP_IF_MATCH='"2"').status_code == 409


def test_cancelling_a_shipped_order_through_the_api_is_a_conflict(api_as, sales_rep) -> None:
    order = order_services.quote_accept(
        actor=sales_rep, quote_id=a_sent_quote(sales_rep).pk, expected_version=None
    )
    shipped(order)
    response = api_as(sales_rep).post(
        f"/api/v1/sales/orders/{order.pk}/cancel/", {"reason": "late"}, format="json", HTTP_IF_MATCH='"1"'
    )
    assert response.status_code == 409


# --- pages -------------------------------------------------------------------------------


def test_the_builder_offers_accept_on_a_sent_quote_and_accepting_opens_the_order(client, sales_rep) -> None:
    quote = a_sent_quote(sales_rep)
    client.force_login(sales_rep)
    page = client.get(f"/sales/quotes/{quote.pk}/")
    assert 'id="quote-accept"' in page.content.decode()
    response = client.post(f"/sales/quotes/{quote.pk}/accept/", {"version": quote.version})
    order = SalesOrder.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/sales/orders/{order.pk}/"
    html = client.get(response["Location"]).content.decode()
    assert order.order_ref in html
    assert "Submitted" in html
    # the accepted quote links to its order instead
    html = client.get(f"/sales/quotes/{quote.pk}/").content.decode()
    assert 'id="quote-accept"' not in html
    assert f"/sales/orders/{order.pk}/" in html


def test_cancelling_from_the_order_page(client, sales_rep) -> None:
    order = order_services.quote_accept(
        actor=sales_rep, quote_id=a_sent_quote(sales_rep).pk, expected_version=None
    )
    client.force_login(sales_rep)
    response = client.post(f"/sales/orders/{order.pk}/cancel/", {"version": 1, "reason": "Duplicate"})
    assert response.status_code == 302
    assert "Cancel requested" in client.get(f"/sales/orders/{order.pk}/").content.decode()


def test_the_orders_nav_entry_and_pages_need_the_permission(client, sales_rep, marketer) -> None:
    client.force_login(sales_rep)
    assert 'href="/sales/orders/"' in client.get("/sales/orders/").content.decode()
    client.force_login(marketer)
    assert client.get("/sales/orders/").status_code == 403


def many_orders(count: int, rep) -> None:
    """`count` orders (half shipped) made in bulk from copies of one sent quote."""
    template = a_sent_quote(rep)
    line = template.lines.get()
    quotes = Quote.objects.bulk_create(
        [
            Quote(
                opportunity_id=template.opportunity_id,
                reference=f"Q-B{n:05d}",
                status=QuoteStatus.ACCEPTED,
                currency="EUR",
                price_list_id=template.price_list_id,
                valid_until=template.valid_until,
                sent_at=template.sent_at,
            )
            for n in range(count)
        ]
    )
    QuoteLine.objects.bulk_create(
        [
            QuoteLine(
                quote=q, position=1, product_id="SKU-1", quantity=1, unit_price=line.unit_price, net_amount=1
            )
            for q in quotes
        ]
    )
    made = SalesOrder.objects.bulk_create(
        [
            SalesOrder(
                order_ref=f"SO-B{n:05d}",
                quote=q,
                opportunity_id=template.opportunity_id,
                customer_id=template.opportunity.customer_id,
                currency="EUR",
                promised_delivery_on=timezone.localdate() + dt.timedelta(days=n % 7 - 3),
                total=Decimal("10.00"),
            )
            for n, q in enumerate(quotes)
        ]
    )
    SalesOrderLine.objects.bulk_create(
        [
            SalesOrderLine(order=o, line_no=1, product_id="SKU-1", quantity=1, unit_price=1, net_amount=1)
            for o in made
        ]
    )
    for order in made[::2]:
        shipped(order)


@pytest.mark.parametrize("count", [0, 300])
def test_the_order_list_page_and_api_run_bounded_queries(
    client, api_as, sales_rep, count, django_assert_max_num_queries
) -> None:
    # given
    if count:
        many_orders(count, sales_rep)
    api = api_as(sales_rep)
    client.force_login(sales_rep)
    # when / then: the same few queries with 0 or 300 orders
    with django_assert_max_num_queries(10):
        response = client.get("/sales/orders/")
    assert response.status_code == 200
    assert response.content.decode().count("order-status--") == min(count, 25)
    with django_assert_max_num_queries(8):
        response = api.get("/api/v1/sales/orders/", {"page_size": 100})
    assert len(response.json()["results"]) == min(count, 100)


def test_the_order_page_runs_bounded_queries(client, sales_rep, django_assert_max_num_queries) -> None:
    many_orders(3, sales_rep)
    order = SalesOrder.objects.first()
    client.force_login(sales_rep)
    with django_assert_max_num_queries(16):
        response = client.get(f"/sales/orders/{order.pk}/")
    assert response.status_code == 200


def test_a_delivery_reported_before_its_shipment_keeps_the_delivered_date(api_as, sales_rep) -> None:
    # given: an order the ERP shipped on 2027-02-17 and delivered on 2027-02-19, whose
    # "delivered" event arrived before "shipped" (reordered webhooks)
    from backoffice_sync.erp import EventType
    from backoffice_sync.tests.inbox_helpers import order_event, receive_and_apply

    order = order_services.quote_accept(
        actor=sales_rep, quote_id=(quote := a_sent_quote(sales_rep)).pk, expected_version=quote.version
    )
    lines = [{"sku": "SKU-1", "quantity": 1, "shipped": 1}]
    customer = str(order.customer_id)
    delivered = order_event(
        EventType.ORDER_DELIVERED,
        customer,
        3,
        order_ref=order.order_ref,
        lines=lines,
        delivered_on="2027-02-19",
    )
    shipped_event = order_event(
        EventType.ORDER_SHIPPED,
        customer,
        2,
        order_ref=order.order_ref,
        lines=lines,
        shipment_number="SH-9",
        carrier="DHL",
        tracking_number="T9",
        shipped_on="2027-02-17",
    )
    # when: delivered, then (late) shipped
    receive_and_apply(delivered)
    api = api_as(sales_rep)
    before = api.get(f"/api/v1/sales/orders/{order.pk}/").json()
    receive_and_apply(shipped_event)
    after = api.get(f"/api/v1/sales/orders/{order.pk}/").json()
    # then: the delivery date is the ERP's, never the ship date, before and after
    assert before["actual_delivery_on"] == "2027-02-19"
    assert after["actual_delivery_on"] == "2027-02-19"
    assert [(s["shipped_on"], s["delivered_on"]) for s in after["shipments"]] == [
        ("2027-02-17", "2027-02-19")
    ]


def test_a_shipped_order_not_yet_delivered_shows_no_delivery_date(api_as, sales_rep) -> None:
    order = order_services.quote_accept(
        actor=sales_rep, quote_id=(quote := a_sent_quote(sales_rep)).pk, expected_version=quote.version
    )
    shipped(order)
    body = api_as(sales_rep).get(f"/api/v1/sales/orders/{order.pk}/").json()
    assert (body["status"], body["actual_delivery_on"]) == ("shipped", None)
