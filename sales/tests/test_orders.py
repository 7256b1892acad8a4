"""Accepting a quote places an order and submits it to the ERP through the outbox in the
same transaction; cancelling goes through the outbox too; the order's state is read
from the ERP mirrors."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from backoffice_sync.erp import MessageKind
from backoffice_sync.models import ErpOrder, ErpOrderStatusChange, Invoice, OutboxMessage, Shipment
from customers.models import Activity, Customer
from sales.models import OpportunityStatus, QuoteStatus, SalesOrder
from sales.orders import services as order_services
from sales.orders.selectors import order_page, order_queryset, promise_state
from sales.orders.services import OrderConflict
from sales.quotes.services import quote_revise
from sales.tests.order_setup import a_sent_quote
from sales.tests.quote_setup import a_quote, an_opportunity, in_days

pytestmark = pytest.mark.django_db


def accept(actor, quote):
    return order_services.quote_accept(actor=actor, quote_id=quote.pk, expected_version=quote.version)


def a_mirror(order: SalesOrder, status: str, **shipment) -> ErpOrder:
    erp = ErpOrder.objects.create(
        order_ref=order.order_ref,
        customer_id=order.customer_id,
        status=status,
        status_changed_at=timezone.now(),
        erp_version=2,
        erp_order_number="SO-9001",
    )
    ErpOrderStatusChange.objects.create(
        order=erp, status="confirmed", erp_version=1, occurred_at=timezone.now()
    )
    ErpOrderStatusChange.objects.create(order=erp, status=status, erp_version=2, occurred_at=timezone.now())
    if shipment:
        Shipment.objects.create(order=erp, number="SH-1", carrier="DHL", tracking_number="TRK-42", **shipment)
    return erp


# --- accepting ---------------------------------------------------------------------------


def test_accepting_places_the_order_submits_it_and_wins_the_opportunity(sales_rep) -> None:
    # given
    quote = a_sent_quote(sales_rep, lines=[{"sku": "SKU-1", "quantity": 3}, {"sku": "SKU-2", "quantity": 2}])
    Customer.objects.filter(pk=quote.opportunity.customer_id).update(erp_customer_number="C100260")
    # when
    order = accept(sales_rep, quote)
    # then: the order copies the quote
    assert order.order_ref == f"SO-{order.pk:06d}"
    assert (order.customer_id, order.currency, order.total) == (
        quote.opportunity.customer_id,
        "EUR",
        quote.total,
    )
    assert order.promised_delivery_on == quote.promised_delivery_on
    lines = list(order.lines.order_by("line_no"))
    assert [(ln.line_no, ln.sku, ln.quantity, ln.unit_price) for ln in lines] == [
        (1, "SKU-1", 3, Decimal("10.00")),
        (2, "SKU-2", 2, Decimal("2.50")),
    ]
    # and one outbox message carries it to the ERP
    message = OutboxMessage.objects.get()
    assert (message.kind, message.aggregate, message.sequence) == (
        MessageKind.ORDER_SUBMIT,
        f"order:{order.order_ref}",
        1,
    )
    assert message.payload == {
        "order_ref": order.order_ref,
        "customer_ref": str(order.customer_id),
        "erp_customer_number": "C100260",
        "currency": "EUR",
        "requested_date": quote.promised_delivery_on.isoformat(),
        "lines": [
            {"line_no": 1, "sku": "SKU-1", "quantity": 3, "unit_price": "10.00"},
            {"line_no": 2, "sku": "SKU-2", "quantity": 2, "unit_price": "2.50"},
        ],
        "ship_to": None,
    }
    # and the quote is accepted, the opportunity won, the timeline written
    quote.refresh_from_db()
    assert quote.status == QuoteStatus.ACCEPTED
    quote.opportunity.refresh_from_db()
    assert quote.opportunity.status == OpportunityStatus.WON
    kinds = set(Activity.objects.filter(customer_id=order.customer_id).values_list("kind", flat=True))
    assert "order_placed" in kinds
    assert "opportunity_won" in kinds


def test_a_discounted_line_is_submitted_at_its_net_unit_price(sales_rep, admin_user) -> None:
    # given: an admin gives 10% (no approval needed for a superuser-like limit)
    quote = a_sent_quote(admin_user, lines=[{"sku": "SKU-1", "quantity": 3, "discount_percent": 10}])
    # when
    order = accept(admin_user, quote)
    # then
    (line,) = OutboxMessage.objects.get().payload["lines"]
    assert line["unit_price"] == "9.00"
    assert order.lines.get().net_amount == Decimal("27.00")


def test_a_failure_after_accepting_leaves_nothing_behind(sales_rep, monkeypatch) -> None:
    # given: the timeline write (the last step) fails
    quote = a_sent_quote(sales_rep)

    def boom(**kwargs):
        raise RuntimeError("timeline down")

    monkeypatch.setattr(order_services, "activity_record", boom)
    # when
    with pytest.raises(RuntimeError):
        accept(sales_rep, quote)
    # then: no order, no message, the quote still sent, the opportunity still open
    assert not SalesOrder.objects.exists()
    assert not OutboxMessage.objects.exists()
    quote.refresh_from_db()
    assert quote.status == QuoteStatus.SENT
    quote.opportunity.refresh_from_db()
    assert quote.opportunity.status == OpportunityStatus.OPEN


def test_accepting_twice_is_a_conflict_and_writes_nothing(sales_rep) -> None:
    quote = a_sent_quote(sales_rep)
    accept(sales_rep, quote)
    quote.refresh_from_db()
    with pytest.raises(OrderConflict, match="already accepted"):
        accept(sales_rep, quote)
    assert SalesOrder.objects.count() == 1
    assert OutboxMessage.objects.count() == 1


def test_an_expired_quote_cannot_be_accepted(sales_rep) -> None:
    quote = a_sent_quote(sales_rep, valid_until=in_days(5))
    with (
        time_machine.travel(timezone.now() + dt.timedelta(days=7)),
        pytest.raises(OrderConflict, match="expired"),
    ):
        accept(sales_rep, quote)
    assert not SalesOrder.objects.exists()


def test_a_draft_cannot_be_accepted(sales_rep) -> None:
    from sales.tests.quote_setup import a_catalogue

    a_catalogue()
    quote = a_quote(sales_rep, an_opportunity(sales_rep))
    with pytest.raises(OrderConflict, match="Only a sent quote"):
        accept(sales_rep, quote)


def test_a_superseded_revision_cannot_be_accepted(sales_rep) -> None:
    quote = a_sent_quote(sales_rep)
    quote_revise(actor=sales_rep, quote_id=quote.pk, expected_version=quote.version)
    quote.refresh_from_db()
    with pytest.raises(OrderConflict):
        accept(sales_rep, quote)
    assert not OutboxMessage.objects.exists()


def test_only_a_rep_who_may_edit_the_opportunity_or_an_admin_accepts(
    sales_rep, other_rep, teammate, back_office, admin_user
) -> None:
    quote = a_sent_quote(sales_rep)
    for outsider in (other_rep, back_office):
        with pytest.raises(PermissionDenied):
            accept(outsider, quote)
    assert not SalesOrder.objects.exists()
    # a teammate may; so may an admin (on another quote)
    assert accept(teammate, quote).pk
    other = a_sent_quote(sales_rep, catalogue=False)
    assert accept(admin_user, other).pk


def test_the_shipping_address_goes_to_the_erp(sales_rep) -> None:
    from customers.models import ContactPoint

    quote = a_sent_quote(sales_rep)
    ContactPoint.objects.create(
        customer_id=quote.opportunity.customer_id,
        kind="address",
        label="shipping",
        value="1 Dock Road, 1000 Brussels",
        street="1 Dock Road",
        postal_code="1000",
        city="Brussels",
        country="BE",
    )
    order = accept(sales_rep, quote)
    assert order.ship_to["city"] == "Brussels"
    assert OutboxMessage.objects.get().payload["ship_to"]["country"] == "BE"


# --- cancelling --------------------------------------------------------------------------


def test_cancelling_goes_through_the_outbox_after_the_submit(sales_rep) -> None:
    # given
    order = accept(sales_rep, a_sent_quote(sales_rep))
    # when
    order = order_services.order_cancel(
        actor=sales_rep, order_id=order.pk, reason="Customer changed their mind"
    )
    # then: the cancel message queues behind the submit, on the same aggregate
    cancel = OutboxMessage.objects.get(kind=MessageKind.ORDER_CANCEL)
    assert (cancel.aggregate, cancel.sequence) == (f"order:{order.order_ref}", 2)
    assert cancel.payload == {"order_ref": order.order_ref, "reason": "Customer changed their mind"}
    assert order_page(order_id=order.pk).order.state == "cancel_requested"
    # and twice is a conflict
    with pytest.raises(OrderConflict):
        order_services.order_cancel(actor=sales_rep, order_id=order.pk, reason="again")
    # when the ERP confirms
    a_mirror(order, "cancelled")
    # then
    assert order_page(order_id=order.pk).order.state == "cancelled"


@pytest.mark.parametrize("status", ["shipped", "partially_shipped", "delivered"])
def test_cancelling_is_refused_once_the_mirror_says_shipped(sales_rep, status) -> None:
    order = accept(sales_rep, a_sent_quote(sales_rep))
    a_mirror(order, status, shipped_on=timezone.localdate())
    with pytest.raises(OrderConflict, match="can no longer be cancelled"):
        order_services.order_cancel(actor=sales_rep, order_id=order.pk, reason="too late")
    assert OutboxMessage.objects.filter(kind=MessageKind.ORDER_CANCEL).count() == 0


def test_cancelling_needs_a_reason_and_the_right_to_edit(sales_rep, other_rep) -> None:
    from django.core.exceptions import ValidationError

    order = accept(sales_rep, a_sent_quote(sales_rep))
    with pytest.raises(ValidationError):
        order_services.order_cancel(actor=sales_rep, order_id=order.pk, reason="  ")
    with pytest.raises(PermissionDenied):
        order_services.order_cancel(actor=other_rep, order_id=order.pk, reason="not mine")


# --- reading the mirror ------------------------------------------------------------------


def test_the_promise_is_kept_or_missed_against_the_delivered_date(sales_rep) -> None:
    order = accept(sales_rep, a_sent_quote(sales_rep))
    promised = order.promised_delivery_on
    a_mirror(order, "delivered", shipped_on=promised - dt.timedelta(days=2), delivered_on=promised)
    page = order_page(order_id=order.pk)
    assert (page.order.state, page.order.actual_delivery_on, page.order.promise) == (
        "delivered",
        promised,
        "kept",
    )
    Shipment.objects.update(delivered_on=promised + dt.timedelta(days=1))
    assert order_page(order_id=order.pk).order.promise == "missed"


def test_an_undelivered_order_past_its_promise_is_missed(sales_rep) -> None:
    order = accept(sales_rep, a_sent_quote(sales_rep))
    row = order_queryset().get(pk=order.pk)
    assert promise_state(row, today=order.promised_delivery_on) == "open"
    assert promise_state(row, today=order.promised_delivery_on + dt.timedelta(days=1)) == "missed"


def test_the_order_page_shows_history_shipments_and_invoices(sales_rep) -> None:
    order = accept(sales_rep, a_sent_quote(sales_rep))
    a_mirror(order, "shipped", shipped_on=timezone.localdate())
    Invoice.objects.create(
        number="INV-1",
        customer_id=order.customer_id,
        order_ref=order.order_ref,
        amount=Decimal("30.00"),
        currency="EUR",
        issued_on=timezone.localdate(),
        due_on=timezone.localdate() + dt.timedelta(days=30),
    )
    page = order_page(order_id=order.pk)
    assert [row["status"] for row in page.history] == ["confirmed", "shipped", "invoiced"]
    assert [s.tracking_number for s in page.shipments] == ["TRK-42"]
    assert [i.number for i in page.invoices] == ["INV-1"]


def test_a_won_opportunity_is_worth_what_its_accepted_quote_sold(sales_rep) -> None:
    # given: an opportunity of 0.00 (as a rep leaves it when the quote has the lines)
    quote = a_sent_quote(sales_rep, lines=[{"sku": "SKU-1", "quantity": 3}, {"sku": "SKU-2", "quantity": 2}])
    assert quote.opportunity.amount == Decimal("0.00")
    # when
    accept(sales_rep, quote)
    # then: the amount is the quote's net value (tax is not revenue), in its currency
    opportunity = quote.opportunity
    opportunity.refresh_from_db()
    assert opportunity.status == OpportunityStatus.WON
    assert opportunity.amount == quote.subtotal == Decimal("35.00")
    assert opportunity.currency == quote.currency
    won = Activity.objects.get(customer_id=opportunity.customer_id, kind="opportunity_won")
    assert "35.00 EUR" in won.subject


def test_a_won_opportunity_already_won_follows_its_accepted_quote_too(sales_rep) -> None:
    # given: the rep marked the opportunity won before the customer accepted
    from sales.pipeline import services as opportunity_services

    quote = a_sent_quote(sales_rep)
    opportunity_services.opportunity_win(actor=sales_rep, opportunity_id=quote.opportunity_id)
    # when
    accept(sales_rep, quote)
    # then
    quote.opportunity.refresh_from_db()
    assert quote.opportunity.amount == quote.subtotal == Decimal("30.00")


def test_the_data_migration_gives_won_opportunities_the_amount_of_their_accepted_quote(sales_rep) -> None:
    # given: an order placed before the rule (the opportunity stayed at 0.00)
    import importlib

    from django.apps import apps

    from sales.models import Opportunity

    quote = a_sent_quote(sales_rep)
    accept(sales_rep, quote)
    Opportunity.objects.filter(pk=quote.opportunity_id).update(amount=Decimal("0.00"))
    untouched = an_opportunity(sales_rep)
    migration = importlib.import_module("sales.migrations.0010_won_amount_follows_accepted_quote")
    # when
    migration.amounts_from_accepted_quotes(apps, None)
    # then
    assert Opportunity.objects.get(pk=quote.opportunity_id).amount == quote.subtotal == Decimal("30.00")
    assert Opportunity.objects.get(pk=untouched.pk).amount == untouched.amount
