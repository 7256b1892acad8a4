"""The inbox services and the apply handlers: stored first, applied once, never an
older version over a newer one, rejected events kept with a clear error."""

from __future__ import annotations

from decimal import Decimal
from importlib import import_module
from typing import Any

import pytest
from django.apps import apps as django_apps
from django.core.exceptions import PermissionDenied

from backoffice_sync import inbox
from backoffice_sync.apply import customers as apply_customers
from backoffice_sync.apply import rules
from backoffice_sync.erp import EventType
from backoffice_sync.events import InvoiceOverdue, OrderConfirmed, OrderShipped, PaymentReceived
from backoffice_sync.models import (
    CustomerBalance,
    ErpOrder,
    ErpOrderLine,
    ErpOrderStatusChange,
    InboxAggregate,
    InboxEvent,
    InboxStatus,
    Invoice,
    Payment,
    Product,
    Shipment,
    StockLevel,
)
from backoffice_sync.selectors_mirrors import available_to_promise, customer_balances
from backoffice_sync.tests.inbox_helpers import (
    a_customer,
    erp_event,
    invoice_event,
    order_event,
    overdue_event,
    payment_event,
    product_event,
    published,
    receive_and_apply,
    stock_event,
)
from customers import services as customer_services
from customers.merge import customer_merge
from customers.models import Activity, Customer
from frontoffice.actors import ERP_SYNC, MAINTENANCE
from frontoffice.write_path import MissingActor

pytestmark = pytest.mark.django_db


def timeline(customer: Customer) -> list[str]:
    return list(
        Activity.objects.filter(customer=customer, source_app="backoffice_sync")
        .order_by("occurred_at", "id")
        .values_list("subject", flat=True)
    )


# --- stored first, applied once --------------------------------------------------------------


def test_a_redelivered_event_is_recognised_and_not_stored_again() -> None:
    # given
    event = product_event()
    first, created = inbox.inbox_receive(event=event, via="webhook")

    # when
    again, created_again = inbox.inbox_receive(event=event, via="poll")

    # then
    assert created is True
    assert created_again is False
    assert again.pk == first.pk
    assert InboxEvent.objects.count() == 1


def test_applying_an_applied_event_again_changes_nothing(django_capture_on_commit_callbacks: Any) -> None:
    # given
    row = receive_and_apply(order_event(EventType.ORDER_CONFIRMED, a_customer(), 1))

    # when
    with published() as seen, django_capture_on_commit_callbacks(execute=True):
        again = inbox.inbox_apply(inbox_event_id=row.pk)

    # then
    assert again is not None
    assert again.status == InboxStatus.APPLIED
    assert again.applied_at == row.applied_at
    assert seen == []


def test_stock_updates_arriving_out_of_order_end_at_the_newest_version() -> None:
    # given
    receive_and_apply(product_event())
    newest, middle, oldest = (
        stock_event(version=3, on_hand=30, incoming=[{"quantity": 5, "expected_on": "2025-03-01"}]),
        stock_event(version=2, on_hand=20),
        stock_event(version=1, on_hand=10),
    )

    # when
    rows = [receive_and_apply(event) for event in (middle, newest, oldest)]
    late = receive_and_apply(stock_event(version=2, on_hand=99))

    # then
    assert [row.status for row in rows] == ["applied", "applied", "stale"]
    assert late.status == InboxStatus.STALE
    level = StockLevel.objects.get()
    assert (level.on_hand, level.erp_version) == (30, 3)
    assert [(i.quantity, i.expected_on.isoformat()) for i in level.incoming.all()] == [(5, "2025-03-01")]
    assert InboxAggregate.objects.get(aggregate="stock:SKU-1:MAIN").version == 3


def test_facts_are_published_only_after_commit(django_capture_on_commit_callbacks: Any) -> None:
    # given
    customer = a_customer()
    with published() as seen:
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            # when
            receive_and_apply(order_event(EventType.ORDER_CONFIRMED, customer, 1))

            # then: nothing yet, inside the transaction
            assert seen == []
        for callback in callbacks:  # the commit
            callback()
    assert seen == [
        OrderConfirmed(
            customer_id=customer.pk,
            order_ref="FO-12",
            erp_order_number="SO-4711",
            occurred_at=seen[0].occurred_at,
            erp_event_id=seen[0].erp_event_id,
        )
    ]


@pytest.mark.parametrize(
    "event",
    [
        pytest.param(lambda customer: product_event(sku="SKU-9"), id="product.changed"),
        pytest.param(lambda customer: stock_event(), id="stock.changed"),
        pytest.param(lambda customer: invoice_event(customer), id="invoice.issued"),
        pytest.param(
            lambda customer: order_event(EventType.ORDER_CANCELLED, customer, 1, reason="changed mind"),
            id="order.cancelled",
        ),
        pytest.param(
            lambda customer: order_event(EventType.ORDER_DELIVERED, customer, 1), id="order.delivered"
        ),
    ],
)
def test_events_that_only_update_the_mirrors_publish_nothing(
    event: Any, django_capture_on_commit_callbacks: Any
) -> None:
    # given
    customer = a_customer()
    receive_and_apply(product_event())  # stock needs its product

    # when
    with published() as seen, django_capture_on_commit_callbacks(execute=True):
        row = receive_and_apply(event(customer))

    # then
    assert row.status == InboxStatus.APPLIED
    assert seen == []


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"sku": "SKU-1", "warehouse": "MAIN", "on_hand": "many", "reserved": 0}, "on_hand: A valid integer"),
        ({"sku": "SKU-1", "warehouse": "MAIN", "reserved": 0}, "on_hand: This field is required."),
        ({"sku": "SKU-1", "warehouse": "MAIN", "on_hand": -1, "reserved": 0}, "on_hand: Ensure this value"),
        (
            {"sku": "SKU-1", "warehouse": "MAIN", "on_hand": 1, "reserved": 0, "incoming": [{"quantity": 2}]},
            "incoming.0.expected_on: This field is required.",
        ),
    ],
)
def test_an_event_with_malformed_data_is_rejected_with_a_clear_error(
    data: dict[str, Any], message: str
) -> None:
    # given
    receive_and_apply(product_event())
    event = erp_event(EventType.STOCK_CHANGED, "stock:SKU-1:MAIN", 1, data)

    # when
    row = receive_and_apply(event)

    # then
    assert row.status == InboxStatus.REJECTED
    assert message in row.error
    assert not StockLevel.objects.exists()
    assert InboxAggregate.objects.get(aggregate="stock:SKU-1:MAIN").version == 0


def test_a_rejection_undoes_everything_the_handler_had_written() -> None:
    # given: the order exists for one customer; an event names another
    owner, other = a_customer("Owner"), a_customer("Other")
    receive_and_apply(order_event(EventType.ORDER_CONFIRMED, owner, 1))

    # when
    row = receive_and_apply(order_event(EventType.ORDER_CANCELLED, other, 2))

    # then
    assert row.status == InboxStatus.REJECTED
    assert f"belongs to customer {owner.pk}" in row.error
    assert ErpOrder.objects.get().status == "confirmed"
    assert ErpOrderStatusChange.objects.count() == 1


def test_stock_of_an_unknown_sku_waits_for_its_product_then_applies() -> None:
    # given: a reordered batch, stock ahead of its product
    waiting = receive_and_apply(stock_event(on_hand=7))

    # when
    receive_and_apply(product_event())
    swept = inbox.inbox_apply_pending()

    # then
    assert waiting.status == InboxStatus.RECEIVED
    assert waiting.error == "Unknown SKU SKU-1: no product mirror."
    assert swept == 1
    assert StockLevel.objects.get().on_hand == 7


def test_stock_of_a_sku_that_never_comes_is_rejected_for_inspection_and_can_be_retried(
    django_user_model: Any,
) -> None:
    # given
    row, _ = inbox.inbox_receive(event=stock_event(on_hand=7), via="poll")
    for _ in range(inbox.MAX_APPLY_ATTEMPTS):
        inbox.inbox_apply_or_defer(inbox_event_id=row.pk)
    row.refresh_from_db()
    assert row.status == InboxStatus.REJECTED
    assert row.error == "Gave up after 5 attempts. Unknown SKU SKU-1: no product mirror."
    assert not StockLevel.objects.exists()

    # when: the product turns up, and someone retries from the admin
    receive_and_apply(product_event())
    root = django_user_model.objects.create_superuser("root", "root@example.com", "pw")
    retried = inbox.inbox_retry(actor=root, inbox_event_id=row.pk)

    # then
    assert retried is not None
    assert retried.status == InboxStatus.APPLIED
    assert StockLevel.objects.get().on_hand == 7


@pytest.mark.parametrize("who", ["back_office", "nobody"])
def test_only_who_may_change_inbox_events_applies_a_rejected_one_again(
    who: str, request: pytest.FixtureRequest
) -> None:
    # given
    row, _ = inbox.inbox_reject(external_id="evt-broken", via="poll", error="broken")

    # when / then
    with pytest.raises(PermissionDenied):
        inbox.inbox_retry(actor=request.getfixturevalue(who), inbox_event_id=row.pk)
    with pytest.raises(MissingActor):
        inbox.inbox_retry(actor=None, inbox_event_id=row.pk)


def test_an_event_whose_data_no_database_stores_is_kept_as_rejected() -> None:
    # given
    event = product_event(name="Wid\x00get")

    # when
    row, created = inbox.inbox_receive(event=event, via="poll")

    # then
    assert created is True
    assert row.status == InboxStatus.REJECTED
    assert "Null characters" in row.error
    assert row.data == {}
    assert not Product.objects.exists()


def test_an_unexpected_failure_leaves_the_event_stored_for_the_sweep(monkeypatch: pytest.MonkeyPatch) -> None:
    # given
    row, _ = inbox.inbox_receive(event=product_event(), via="poll")

    def broken(event: Any, *, stale: bool) -> Any:
        raise RuntimeError("database went away")

    monkeypatch.setattr(inbox.apply, "apply_event", broken)

    # when
    result = inbox.inbox_apply_or_defer(inbox_event_id=row.pk)

    # then
    assert result is not None
    assert result.status == InboxStatus.RECEIVED
    assert result.apply_attempts == 1
    assert "database went away" in result.error
    monkeypatch.undo()
    assert inbox.inbox_apply_pending() == 1
    assert InboxEvent.objects.get().status == InboxStatus.APPLIED


# --- orders and shipments ------------------------------------------------------------------------


def test_an_order_moves_through_its_erp_statuses_with_history_shipments_and_timeline(
    django_capture_on_commit_callbacks: Any,
) -> None:
    # given
    customer = a_customer()
    lines = [
        {"sku": "SKU-1", "quantity": 2, "shipped": 0},
        {"sku": "SKU-2", "quantity": 1, "shipped": 0},
        {"sku": "SKU-3", "quantity": 4, "shipped": 0},
    ]
    partial = [dict(line, shipped=line["quantity"]) for line in lines[:2]] + [lines[2]]
    full = [dict(line, shipped=line["quantity"]) for line in lines]

    # when
    with published() as seen, django_capture_on_commit_callbacks(execute=True):
        for event in (
            order_event(EventType.ORDER_CONFIRMED, customer, 1, lines=lines),
            order_event(
                EventType.ORDER_PARTIALLY_SHIPPED,
                customer,
                2,
                lines=partial,
                shipment_number="SH-1",
                carrier="DHL",
                tracking_number="123",
            ),
            order_event(
                EventType.ORDER_SHIPPED,
                customer,
                3,
                lines=full,
                shipment_number="SH-2",
                carrier="UPS",
                tracking_number="1Z9",
                shipment_lines=[{"sku": "SKU-3", "quantity": 4}],
            ),
            order_event(EventType.ORDER_DELIVERED, customer, 4, lines=full),
        ):
            receive_and_apply(event)

    # then
    order = ErpOrder.objects.get()
    assert (order.status, order.erp_order_number, order.erp_version) == ("delivered", "SO-4711", 4)
    assert list(order.status_history.values_list("status", flat=True)) == [
        "confirmed",
        "partially_shipped",
        "shipped",
        "delivered",
    ]
    first, second = Shipment.objects.order_by("number")
    assert [(line.sku, line.quantity) for line in first.lines.all()] == [("SKU-1", 2), ("SKU-2", 1)]
    assert [(line.sku, line.quantity) for line in second.lines.all()] == [("SKU-3", 4)]
    assert first.delivered_on is not None
    assert second.delivered_on is not None
    assert timeline(customer) == [
        "Order FO-12 confirmed by the ERP as SO-4711",
        "Order FO-12 partially shipped (2 of 3 lines), tracking DHL 123",
        "Order FO-12 shipped (3 of 3 lines), tracking UPS 1Z9",
        "Order FO-12 delivered",
    ]
    assert [type(fact) for fact in seen] == [OrderConfirmed, OrderShipped, OrderShipped]
    assert all(fact.customer_id == customer.pk and fact.order_ref == "FO-12" for fact in seen)
    shipped = [f for f in seen if isinstance(f, OrderShipped)]
    assert [(f.shipment_number, f.carrier, f.tracking_number, f.complete) for f in shipped] == [
        ("SH-1", "DHL", "123", False),
        ("SH-2", "UPS", "1Z9", True),
    ]


def test_a_late_order_event_keeps_the_newer_status_but_records_its_shipment() -> None:
    # given: shipped (v3) arrives before partially shipped (v2)
    customer = a_customer()
    receive_and_apply(order_event(EventType.ORDER_SHIPPED, customer, 3, shipment_number="SH-2"))

    # when
    late = receive_and_apply(
        order_event(
            EventType.ORDER_PARTIALLY_SHIPPED,
            customer,
            2,
            shipment_number="SH-1",
            lines=[{"sku": "SKU-1", "quantity": 2, "shipped": 2}],
        )
    )

    # then
    assert late.status == InboxStatus.STALE
    order = ErpOrder.objects.get()
    assert (order.status, order.erp_version) == ("shipped", 3)
    assert order.lines.count() == 2
    assert set(Shipment.objects.values_list("number", flat=True)) == {"SH-1", "SH-2"}
    assert list(order.status_history.values_list("erp_version", flat=True)) == [2, 3]
    assert len(timeline(customer)) == 1


def test_a_shipment_first_recorded_by_a_late_event_is_still_published_once(
    django_capture_on_commit_callbacks: Any,
) -> None:
    # given: shipped (v3) arrives before partially shipped (v2), which brings parcel SH-1
    customer = a_customer()
    receive_and_apply(order_event(EventType.ORDER_SHIPPED, customer, 3, shipment_number="SH-2"))
    late = order_event(
        EventType.ORDER_PARTIALLY_SHIPPED,
        customer,
        2,
        shipment_number="SH-1",
        carrier="DHL",
        tracking_number="9",
    )

    # when: the late event, then another event naming the same parcel
    with published(OrderShipped) as seen, django_capture_on_commit_callbacks(execute=True):
        row = receive_and_apply(late)
        receive_and_apply(order_event(EventType.ORDER_DELIVERED, customer, 4, shipment_number="SH-1"))

    # then
    assert row.status == InboxStatus.STALE
    assert [(f.shipment_number, f.tracking_number, f.complete) for f in seen] == [("SH-1", "9", False)]


def test_an_order_keeps_the_currency_and_line_prices_the_erp_reported() -> None:
    # given
    customer = a_customer()
    priced = [
        {"sku": "SKU-1", "quantity": 2, "shipped": 0, "unit_price": "15.00"},
        {"sku": "SKU-2", "quantity": 1, "shipped": 0, "unit_price": "7.25"},
    ]
    # when: confirmed in GBP; then shipped by an event that names neither
    receive_and_apply(order_event(EventType.ORDER_CONFIRMED, customer, 1, currency="GBP", lines=priced))
    confirmed = ErpOrder.objects.get()
    confirmed_prices = list(confirmed.lines.values_list("sku", "unit_price"))
    receive_and_apply(order_event(EventType.ORDER_SHIPPED, customer, 2, shipment_number="SH-1"))
    # then
    assert confirmed.currency == "GBP"
    assert confirmed_prices == [("SKU-1", Decimal("15.00")), ("SKU-2", Decimal("7.25"))]
    shipped = ErpOrder.objects.get()
    assert shipped.currency == "GBP"
    assert list(shipped.lines.values_list("unit_price", flat=True)) == [None, None]


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"currency": "pounds"}, "currency"),
        ({"lines": [{"sku": "SKU-1", "quantity": 1, "unit_price": "-1.00"}]}, "unit_price"),
    ],
)
def test_an_order_with_a_malformed_currency_or_price_is_rejected(extra: dict[str, Any], field: str) -> None:
    # when
    stored = receive_and_apply(order_event(EventType.ORDER_CONFIRMED, a_customer(), 1, **extra))
    # then
    assert stored.status == InboxStatus.REJECTED
    assert field in stored.error
    assert not ErpOrder.objects.exists()


def test_the_backfill_takes_currency_and_prices_from_the_stored_order_events() -> None:
    # given: an order mirrored before the mirror kept currency and prices
    customer = a_customer()
    receive_and_apply(
        order_event(
            EventType.ORDER_CONFIRMED,
            customer,
            1,
            currency="USD",
            lines=[
                {"sku": "SKU-1", "quantity": 2, "unit_price": "15.00"},
                {"sku": "SKU-2", "quantity": 1, "unit_price": "7.25"},
            ],
        )
    )
    receive_and_apply(
        order_event(EventType.ORDER_CONFIRMED, customer, 1, order_ref="FO-13", erp_order_number="SO-4712")
    )
    ErpOrder.objects.update(currency="")
    ErpOrderLine.objects.update(unit_price=None)
    backfill = import_module(
        "backoffice_sync.migrations.0005_backfill_erp_order_currency_and_line_prices"
    ).backfill
    # when
    backfill(django_apps, None)
    # then
    by_ref = {order.order_ref: order for order in ErpOrder.objects.all()}
    assert (by_ref["FO-12"].currency, by_ref["FO-13"].currency) == ("USD", "")
    assert list(by_ref["FO-12"].lines.values_list("unit_price", flat=True)) == [
        Decimal("15.00"),
        Decimal("7.25"),
    ]
    assert list(by_ref["FO-13"].lines.values_list("unit_price", flat=True)) == [None, None]


def test_a_shipping_event_without_its_shipment_number_is_rejected() -> None:
    # given
    customer = a_customer()

    # when
    row = receive_and_apply(order_event(EventType.ORDER_SHIPPED, customer, 1))

    # then
    assert row.status == InboxStatus.REJECTED
    assert "shipment_number" in row.error
    assert not ErpOrder.objects.exists()


# --- customers ---------------------------------------------------------------------------------


def test_a_merged_customers_events_land_on_the_survivor() -> None:
    # given
    survivor, duplicate = a_customer("Survivor"), a_customer("Duplicate")
    customer_merge(actor=MAINTENANCE, survivor_id=survivor.pk, duplicate_id=duplicate.pk)

    # when
    order_row = receive_and_apply(order_event(EventType.ORDER_CONFIRMED, duplicate, 1))
    invoice_row = receive_and_apply(invoice_event(duplicate))

    # then
    assert order_row.status == invoice_row.status == InboxStatus.APPLIED
    assert ErpOrder.objects.get().customer_id == survivor.pk
    assert Invoice.objects.get().customer_id == survivor.pk
    assert len(timeline(survivor)) == 2
    assert timeline(duplicate) == []


def test_merging_customers_moves_their_mirrors_and_keeps_the_balance_right() -> None:
    # given: both owe money in EUR
    survivor, duplicate = a_customer("Survivor"), a_customer("Duplicate")
    receive_and_apply(invoice_event(survivor, number="INV-1", amount="100.00"))
    receive_and_apply(invoice_event(duplicate, number="INV-2", amount="50.00"))
    receive_and_apply(order_event(EventType.ORDER_CONFIRMED, duplicate, 1))

    # when
    customer_merge(actor=MAINTENANCE, survivor_id=survivor.pk, duplicate_id=duplicate.pk)

    # then
    assert set(Invoice.objects.values_list("customer_id", flat=True)) == {survivor.pk}
    assert ErpOrder.objects.get().customer_id == survivor.pk
    assert customer_balances(customer_id=survivor.pk) == [
        {"currency": "EUR", "open_amount": Decimal("150.00"), "overdue_amount": Decimal("0.00")}
    ]
    # and the next change folds the balance rows into one
    receive_and_apply(payment_event(survivor, "PAY-1", "50.00", number="INV-2"))
    assert CustomerBalance.objects.get(customer=survivor).open_amount == Decimal("100.00")


def test_customer_changed_sets_the_erp_customer_number() -> None:
    # given
    customer = a_customer()
    event = erp_event(
        EventType.CUSTOMER_CHANGED,
        f"customer:{customer.pk}",
        1,
        {"customer_ref": str(customer.pk), "erp_customer_number": "C-1001"},
    )

    # when
    row = receive_and_apply(event)

    # then
    assert row.status == InboxStatus.APPLIED
    customer.refresh_from_db()
    assert customer.erp_customer_number == "C-1001"
    assert timeline(customer) == ["ERP customer number set to C-1001"]


def test_an_erp_customer_number_taken_by_another_customer_is_rejected() -> None:
    # given
    holder, other = a_customer("Holder"), a_customer("Other")
    customer_services.customer_update(
        actor=MAINTENANCE, customer_id=holder.pk, expected_version=None, erp_customer_number="C-1"
    )
    event = erp_event(
        EventType.CUSTOMER_CHANGED,
        f"customer:{other.pk}",
        1,
        {"customer_ref": str(other.pk), "erp_customer_number": "C-1"},
    )

    # when
    row = receive_and_apply(event)

    # then
    assert row.status == InboxStatus.REJECTED
    assert "Another customer has this ERP customer number" in row.error


def test_the_erps_news_of_a_merged_duplicates_account_leaves_the_survivors_number(admin_user: Any) -> None:
    # given: the survivor kept its own number when the duplicate was merged into it
    survivor, duplicate = a_customer("Survivor"), a_customer("Duplicate")
    customer_services.customer_update(
        actor=admin_user, customer_id=survivor.pk, expected_version=None, erp_customer_number="C-1"
    )
    customer_merge(actor=admin_user, survivor_id=survivor.pk, duplicate_id=duplicate.pk)
    echo = erp_event(
        EventType.CUSTOMER_CHANGED,
        f"customer:{duplicate.pk}",
        1,
        {"customer_ref": str(duplicate.pk), "erp_customer_number": "C-2"},
    )

    # when: the ERP reports the duplicate's account
    row = receive_and_apply(echo)

    # then
    assert row.status == InboxStatus.APPLIED
    survivor.refresh_from_db()
    assert survivor.erp_customer_number == "C-1"
    assert timeline(survivor) == []


def test_what_the_erp_writes_on_the_timeline_and_the_profile_names_the_erp_sync_as_its_actor(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # given
    customer = a_customer()
    actors: list[tuple[str, Any]] = []

    def recording(name: str, service: Any) -> Any:
        def record(**kwargs: Any) -> Any:
            actors.append((name, kwargs["actor"]))
            return service(**kwargs)

        return record

    monkeypatch.setattr(rules, "activity_record", recording("timeline", rules.activity_record))
    monkeypatch.setattr(
        apply_customers, "customer_update", recording("profile", apply_customers.customer_update)
    )
    number = {"customer_ref": str(customer.pk), "erp_customer_number": "C-1001"}

    # when
    receive_and_apply(order_event(EventType.ORDER_CONFIRMED, customer, 1))
    receive_and_apply(erp_event(EventType.CUSTOMER_CHANGED, f"customer:{customer.pk}", 1, number))

    # then
    assert actors == [("timeline", ERP_SYNC), ("profile", ERP_SYNC), ("timeline", ERP_SYNC)]


# --- invoices, payments, balance -----------------------------------------------------------------


def test_invoices_and_payments_keep_the_balance_and_overdue_flag_up_to_date(
    django_capture_on_commit_callbacks: Any,
) -> None:
    # given
    customer = a_customer()

    def balance() -> tuple[Decimal, Decimal, bool]:
        row = CustomerBalance.objects.get(customer=customer, currency="EUR")
        return row.open_amount, row.overdue_amount, row.is_overdue

    with published() as seen, django_capture_on_commit_callbacks(execute=True):
        # when / then: issued
        receive_and_apply(invoice_event(customer, amount="100.00"))
        assert balance() == (Decimal("100.00"), Decimal("0.00"), False)

        # when / then: overdue
        receive_and_apply(overdue_event(customer))
        assert balance() == (Decimal("100.00"), Decimal("100.00"), True)
        assert Invoice.objects.get().status == "overdue"

        # when / then: part paid, still overdue
        receive_and_apply(payment_event(customer, "PAY-1", "40.00"))
        assert balance() == (Decimal("60.00"), Decimal("60.00"), True)

        # when / then: paid in full
        receive_and_apply(payment_event(customer, "PAY-2", "60.00"))
        assert balance() == (Decimal("0.00"), Decimal("0.00"), False)

    invoice = Invoice.objects.get()
    assert (invoice.status, invoice.amount_paid) == ("paid", Decimal("100.00"))
    overdue, part, rest = seen
    assert (type(overdue), overdue.invoice_number, overdue.amount_due, overdue.due_on.isoformat()) == (
        InvoiceOverdue,
        "INV-1",
        Decimal("100.00"),
        "2025-02-09",
    )
    assert [(type(p), p.reference, p.amount, p.invoice_paid) for p in (part, rest)] == [
        (PaymentReceived, "PAY-1", Decimal("40.00"), False),
        (PaymentReceived, "PAY-2", Decimal("60.00"), True),
    ]
    assert {fact.customer_id for fact in seen} == {customer.pk}
    assert timeline(customer) == [
        "Invoice INV-1 issued: 100.00 EUR, due 2025-02-09",
        "Invoice INV-1 is overdue: 100.00 EUR due since 2025-02-09",
        "Payment of 40.00 EUR received for invoice INV-1",
        "Payment of 60.00 EUR received for invoice INV-1",
    ]


def test_a_payment_that_arrives_before_its_invoice_is_counted_when_the_invoice_comes() -> None:
    # given
    customer = a_customer()
    receive_and_apply(payment_event(customer, "PAY-1", "30.00"))

    # when
    receive_and_apply(invoice_event(customer, amount="100.00"))

    # then
    invoice = Invoice.objects.get()
    assert Payment.objects.get().invoice_id == invoice.pk
    assert invoice.amount_paid == Decimal("30.00")
    assert CustomerBalance.objects.get(customer=customer).open_amount == Decimal("70.00")


def test_an_overdue_notice_ahead_of_its_invoice_waits_and_applies_once_the_invoice_is_there() -> None:
    # given
    customer = a_customer()
    row = receive_and_apply(overdue_event(customer, number="INV-1", version=2))
    assert row.status == InboxStatus.RECEIVED
    assert row.error == "Waiting for invoice INV-1: no invoice mirror yet."

    # when
    receive_and_apply(invoice_event(customer, number="INV-1", version=1))
    swept = inbox.inbox_apply_pending()

    # then
    assert swept == 1
    assert InboxEvent.objects.get(pk=row.pk).status == InboxStatus.APPLIED
    assert Invoice.objects.get().status == "overdue"
    assert CustomerBalance.objects.get(customer=customer).overdue_amount == Decimal("100.00")


def test_an_overdue_notice_whose_invoice_never_comes_is_rejected_after_the_last_attempt() -> None:
    # given
    customer = a_customer()
    row, _ = inbox.inbox_receive(event=overdue_event(customer, number="INV-404"), via="poll")

    # when
    for _ in range(inbox.MAX_APPLY_ATTEMPTS):
        inbox.inbox_apply_or_defer(inbox_event_id=row.pk)

    # then
    row.refresh_from_db()
    assert row.status == InboxStatus.REJECTED
    assert "Gave up after 5 attempts. Waiting for invoice INV-404" in row.error


def test_a_payment_that_overtook_its_invoice_on_the_same_aggregate_still_lets_the_invoice_in() -> None:
    # given: the simulator's shapes, where payments are later versions of the invoice's aggregate
    customer = a_customer()
    issued = invoice_event(customer, number="INV-7", amount="80.00", version=1)
    paid = erp_event(
        EventType.PAYMENT_RECEIVED,
        "invoice:INV-7",
        2,
        {
            "payment_ref": "PAY-7",
            "invoice_number": "INV-7",
            "customer_ref": str(customer.pk),
            "amount": "80.00",
            "currency": "EUR",
            "received_on": "2025-02-01",
        },
    )
    overdue = overdue_event(customer, number="INV-7", amount_due="80.00", version=2)

    # when: delivered newest first
    rows = [receive_and_apply(event) for event in (paid, issued, overdue)]

    # then
    assert [row.status for row in rows] == ["applied", "applied", "stale"]
    invoice = Invoice.objects.get()
    assert (invoice.status, invoice.amount_paid, invoice.erp_version) == ("paid", Decimal("80.00"), 1)
    assert Payment.objects.get().reference == "PAY-7"
    assert CustomerBalance.objects.get(customer=customer).open_amount == Decimal("0.00")


def test_a_credit_note_against_an_invoice_reduces_what_is_open() -> None:
    # given
    customer = a_customer()
    receive_and_apply(invoice_event(customer, amount="100.00"))
    credit = erp_event(
        EventType.CREDIT_NOTE_ISSUED,
        "credit_note:CN-1",
        1,
        {
            "number": "CN-1",
            "credit_ref": "CR-9",
            "customer_ref": str(customer.pk),
            "invoice_number": "INV-1",
            "amount": "30.00",
            "currency": "EUR",
            "reason": "damaged",
            "issued_on": "2025-01-20",
        },
    )

    # when
    receive_and_apply(credit)
    receive_and_apply(payment_event(customer, "PAY-1", "70.00"))

    # then
    invoice = Invoice.objects.get()
    assert (invoice.status, invoice.amount_credited, invoice.amount_paid) == (
        "paid",
        Decimal("30.00"),
        Decimal("70.00"),
    )
    assert CustomerBalance.objects.get(customer=customer).open_amount == Decimal("0.00")
    assert "Credit note CN-1 issued: 30.00 EUR against invoice INV-1" in timeline(customer)


def test_a_payment_in_another_currency_than_its_invoice_is_rejected() -> None:
    # given
    customer = a_customer()
    receive_and_apply(invoice_event(customer, currency="USD"))

    # when
    row = receive_and_apply(payment_event(customer, "PAY-1", "10.00"))

    # then
    assert row.status == InboxStatus.REJECTED
    assert "Payment in EUR for invoice INV-1 in USD" in row.error
    assert not Payment.objects.exists()


def test_an_invoice_with_a_malformed_amount_is_rejected() -> None:
    # given
    customer = a_customer()

    # when
    row = receive_and_apply(invoice_event(customer, amount="NaN"))

    # then
    assert row.status == InboxStatus.REJECTED
    assert "amount" in row.error
    assert not Invoice.objects.exists()
    assert not CustomerBalance.objects.exists()


# --- stock ---------------------------------------------------------------------------------------


def test_available_to_promise_adds_warehouses_and_incoming_stock() -> None:
    # given
    receive_and_apply(product_event())
    receive_and_apply(
        stock_event(
            on_hand=10,
            reserved=4,
            incoming=[
                {"quantity": 5, "expected_on": "2025-03-01"},
                {"quantity": 20, "expected_on": "2025-04-01"},
            ],
        )
    )
    second = stock_event(on_hand=3, reserved=0)
    receive_and_apply(
        erp_event(EventType.STOCK_CHANGED, "stock:SKU-1:EAST", 1, {**second.data, "warehouse": "EAST"})
    )

    # when
    atp = available_to_promise(skus=["SKU-1", "SKU-404"])

    # then
    import datetime as dt

    today = dt.date(2025, 2, 1)
    assert atp["SKU-1"].free_now == 9
    assert atp["SKU-1"].available_on(dt.date(2025, 3, 1)) == 14
    assert atp["SKU-1"].earliest_date_for(9, today=today) == today
    assert atp["SKU-1"].earliest_date_for(20, today=today) == dt.date(2025, 4, 1)
    assert atp["SKU-1"].earliest_date_for(100, today=today) is None
    assert atp["SKU-404"].known is False
