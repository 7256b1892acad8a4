"""End to end with the stub simulator: accept a quote, relay the outbox, let the ERP
work, pull its events: the order page shows what the ERP did, from the mirror."""

from __future__ import annotations

import datetime as dt

import pytest
from django.conf import settings
from django.utils import timezone

from backoffice_sync.models import ErpOrder, OutboxMessage, OutboxStatus
from sales.orders import services as order_services
from sales.orders.selectors import PromiseState, order_page
from sales.quotes import services as quote_services
from sales.tests.order_erp import SKU, an_erp_with_stock, erp_lives
from sales.tests.quote_setup import a_quote, an_opportunity

pytestmark = pytest.mark.django_db


def test_an_accepted_quote_is_confirmed_and_shipped_by_the_erp(client, sales_rep) -> None:
    # given: a sent quote for a product the ERP has in stock
    erp = an_erp_with_stock()
    quote = a_quote(sales_rep, an_opportunity(sales_rep), [{"sku": SKU, "quantity": 2}])
    quote = quote_services.quote_send(actor=sales_rep, quote_id=quote.pk, expected_version=quote.version)
    order = order_services.quote_accept(actor=sales_rep, quote_id=quote.pk, expected_version=quote.version)
    client.force_login(sales_rep)
    assert "Submitted" in client.get(f"/sales/orders/{order.pk}/").content.decode()
    # when: relay, 48 hours of ERP, pull
    erp_lives(erp, 48)
    # then: the submit was delivered; the mirror shows the order confirmed then shipped
    assert OutboxMessage.objects.get(kind="order.submit").status == OutboxStatus.DELIVERED
    mirror = ErpOrder.objects.get(order_ref=order.order_ref)
    assert mirror.customer_id == order.customer_id
    statuses = list(mirror.status_history.values_list("status", flat=True))
    assert statuses[:2] == ["confirmed", "shipped"]
    html = client.get(f"/sales/orders/{order.pk}/").content.decode()
    assert "Confirmed" in html
    assert "Shipped" in html
    assert mirror.shipments.get().tracking_number in html
    # and it can no longer be cancelled
    with pytest.raises(order_services.OrderConflict):
        order_services.order_cancel(actor=sales_rep, order_id=order.pk, reason="too late")


def test_a_cancel_before_the_erp_confirms_ends_cancelled(client, sales_rep) -> None:
    # given: an order submitted, then its cancellation requested before any relay
    erp = an_erp_with_stock()
    quote = a_quote(sales_rep, an_opportunity(sales_rep), [{"sku": SKU, "quantity": 1}])
    quote = quote_services.quote_send(actor=sales_rep, quote_id=quote.pk, expected_version=quote.version)
    order = order_services.quote_accept(actor=sales_rep, quote_id=quote.pk, expected_version=quote.version)
    order_services.order_cancel(actor=sales_rep, order_id=order.pk, reason="Ordered twice")
    client.force_login(sales_rep)
    assert "Cancel requested" in client.get(f"/sales/orders/{order.pk}/").content.decode()
    # when: the outbox relays submit then cancel (in order), the ERP works, we pull
    for _ in range(3):
        erp_lives(erp, 1)
    # then
    assert set(OutboxMessage.objects.values_list("status", flat=True)) == {OutboxStatus.DELIVERED}
    assert ErpOrder.objects.get(order_ref=order.order_ref).status == "cancelled"
    assert 'order-status--cancelled"' in client.get(f"/sales/orders/{order.pk}/").content.decode()


def test_an_order_from_stock_is_delivered_on_the_promised_day_and_the_promise_is_kept(
    client, sales_rep, time_machine
) -> None:
    # given: mid-morning, a quote for goods the ERP has in stock, accepted: the order
    # promises delivery after the ERP's dispatch and transit days
    time_machine.move_to(dt.datetime(2026, 3, 10, 9, 30, tzinfo=dt.UTC), tick=False)
    erp = an_erp_with_stock()
    quote = a_quote(sales_rep, an_opportunity(sales_rep), [{"sku": SKU, "quantity": 2}])
    quote = quote_services.quote_send(actor=sales_rep, quote_id=quote.pk, expected_version=quote.version)
    order = order_services.quote_accept(actor=sales_rep, quote_id=quote.pk, expected_version=quote.version)
    promised = timezone.localdate() + dt.timedelta(
        days=settings.ERP_DISPATCH_DAYS + settings.ERP_TRANSIT_DAYS
    )
    assert order.promised_delivery_on == promised
    # when: the ERP works a day at a time (the front office's days pass with it) until
    # the promised day
    while timezone.localdate() < promised:
        time_machine.move_to(timezone.now() + dt.timedelta(days=1), tick=False)
        erp_lives(erp, 24)
    # then: delivered on the promised day, and the order says the promise was kept
    (shipment,) = ErpOrder.objects.get(order_ref=order.order_ref).shipments.all()
    assert shipment.delivered_on == promised
    page = order_page(order_id=order.pk)
    assert (page.order.actual_delivery_on, page.order.promise) == (promised, PromiseState.KEPT)
    client.force_login(sales_rep)
    assert PromiseState.KEPT.label in client.get(f"/sales/orders/{order.pk}/").content.decode()
