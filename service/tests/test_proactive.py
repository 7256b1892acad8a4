"""Proactive messages: the ERP's facts reach the customer through the outbound room
(consent, preferred channel, timeline), once each; a late order also gives its owner a
follow-up."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.core import mail
from django.utils import timezone

from backoffice_sync.events import InvoiceOverdue, OrderConfirmed, OrderShipped
from customers import services as customer_services
from customers.consent import consent_record
from customers.models import Activity, Customer
from customers.outbound.choices import MessageStatus
from customers.outbound.models import MessageTemplate, OutboundMessage
from customers.outbound.services import customer_preferred_channel_set
from frontoffice import events
from sales.orders import services as order_services
from sales.orders.models import SalesOrder
from sales.tests.order_setup import a_sent_quote
from service.loop import proactive
from service.loop.models import FollowUp
from tests.fixtures import client_for

pytestmark = pytest.mark.django_db
NOW = timezone.now()


@pytest.fixture
def ada(agent: Any) -> Customer:
    return customer_services.customer_create(
        actor=agent,
        kind="person",
        first_name="Ada",
        last_name="Lovelace",
        contact_points=[
            {"kind": "email", "value": "ada@example.com"},
            {"kind": "phone", "value": "+44 20 7946 0002"},
        ],
    )


def shipped(customer: Customer, *, shipment: str = "SH-1") -> OrderShipped:
    return OrderShipped(
        customer_id=customer.pk,
        order_ref="SO-000001",
        erp_order_number="E-1",
        shipment_number=shipment,
        carrier="DHL",
        tracking_number="TRK123",
        shipped_on=dt.date(2026, 11, 3),
        complete=False,
        occurred_at=NOW,
        erp_event_id=f"ev-{shipment}",
    )


def test_every_database_has_the_proactive_templates() -> None:
    assert set(proactive.DEFAULT_TEMPLATES) <= set(MessageTemplate.objects.values_list("key", flat=True))


def test_a_shipment_is_e_mailed_with_its_tracking_once(
    ada: Customer, django_capture_on_commit_callbacks: Any
) -> None:
    # when: the event is published, and delivered twice by the ERP
    with django_capture_on_commit_callbacks(execute=True):
        events.publish(shipped(ada))
    with django_capture_on_commit_callbacks(execute=True):
        events.publish(shipped(ada))
    # then
    assert len(mail.outbox) == 1
    assert "TRK123" in mail.outbox[0].body
    assert "DHL" in mail.outbox[0].body
    assert "later shipment" in mail.outbox[0].body
    assert mail.outbox[0].subject == "Your order SO-000001 has shipped"
    assert Activity.objects.filter(customer=ada, kind="message_sent").count() == 1


def test_a_second_shipment_of_one_order_is_a_second_message(
    ada: Customer, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        events.publish(shipped(ada, shipment="SH-1"))
        events.publish(shipped(ada, shipment="SH-2"))
    assert len(mail.outbox) == 2


def test_the_preferred_channel_and_an_opt_out_are_respected(
    ada: Customer, agent: Any, django_capture_on_commit_callbacks: Any
) -> None:
    # given: Ada prefers SMS, and then opts out of service SMS
    customer_preferred_channel_set(actor=agent, customer_id=ada.pk, channel="sms")
    with django_capture_on_commit_callbacks(execute=True):
        events.publish(
            OrderConfirmed(
                customer_id=ada.pk,
                order_ref="SO-9",
                erp_order_number=None,
                occurred_at=NOW,
                erp_event_id="c1",
            )
        )
    consent_record(
        actor=agent, customer_id=ada.pk, channel="sms", purpose="service", granted=False, source="Call"
    )
    with django_capture_on_commit_callbacks(execute=True):
        events.publish(shipped(ada))
    # then
    confirmed, shipment = OutboundMessage.objects.order_by("pk")
    assert (confirmed.channel, confirmed.status, confirmed.tracked_only) == ("sms", MessageStatus.SENT, True)
    assert shipment.status == MessageStatus.SUPPRESSED
    assert mail.outbox == []


def test_an_overdue_invoice_is_announced_with_its_amount(
    ada: Customer, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        events.publish(
            InvoiceOverdue(
                customer_id=ada.pk,
                invoice_number="INV-7",
                amount_due=Decimal("120.50"),
                currency="EUR",
                due_on=dt.date(2026, 11, 1),
                occurred_at=NOW,
                erp_event_id="i1",
            )
        )
    assert "120.50 EUR" in mail.outbox[0].body
    assert "01 Nov 2026" in mail.outbox[0].body


def test_a_switched_off_template_sends_nothing(
    ada: Customer, admin_user: Any, django_capture_on_commit_callbacks: Any
) -> None:
    MessageTemplate.objects.filter(key="order-shipped").update(is_active=False)
    with django_capture_on_commit_callbacks(execute=True):
        events.publish(shipped(ada))
    assert not OutboundMessage.objects.exists()


def _late_order(rep: Any, *, catalogue: bool = True) -> SalesOrder:
    quote = a_sent_quote(rep, catalogue=catalogue)
    order = order_services.quote_accept(actor=rep, quote_id=quote.pk, expected_version=quote.version)
    SalesOrder.objects.filter(pk=order.pk).update(
        promised_delivery_on=timezone.localdate() - dt.timedelta(days=2)
    )
    return SalesOrder.objects.get(pk=order.pk)


def test_a_late_order_tells_the_customer_and_gives_its_owner_a_follow_up_once(
    sales_rep: Any, django_capture_on_commit_callbacks: Any
) -> None:
    # given
    order = _late_order(sales_rep)
    # when: the sweep runs twice
    with django_capture_on_commit_callbacks(execute=True):
        first = proactive.proactive_delay_sweep()
    with django_capture_on_commit_callbacks(execute=True):
        second = proactive.proactive_delay_sweep()
    # then
    assert (first.messaged, second.messaged) == (1, 0)
    message = OutboundMessage.objects.get(dedupe_key=f"order-delayed:{order.order_ref}")
    assert message.customer_id == order.customer_id
    assert "running late" in mail.outbox[-1].subject
    follow_up = FollowUp.objects.get()
    assert follow_up.assignee == sales_rep
    assert follow_up.order_ref == order.order_ref
    assert Activity.objects.filter(
        customer_id=order.customer_id, kind="message_sent", ref_id=str(message.pk)
    ).exists()


def test_an_order_still_in_time_is_left_alone(sales_rep: Any) -> None:
    order = _late_order(sales_rep)
    SalesOrder.objects.filter(pk=order.pk).update(
        promised_delivery_on=timezone.localdate() + dt.timedelta(days=1)
    )
    assert proactive.proactive_delay_sweep().messaged == 0
    assert not FollowUp.objects.exists()


def test_the_owner_sees_and_ticks_off_the_follow_up(sales_rep: Any, client: Any) -> None:
    # given
    _late_order(sales_rep)
    proactive.proactive_delay_sweep()
    follow_up = FollowUp.objects.get()
    client.force_login(sales_rep)
    # when
    page = client.get("/service/follow-ups/").content.decode()
    api = client_for(sales_rep).get("/api/v1/service/follow-ups/").json()
    done = client.post(f"/service/follow-ups/{follow_up.pk}/done/")
    # then
    assert follow_up.title in page
    assert [item["id"] for item in api["results"]] == [follow_up.pk]
    assert done.status_code == 302
    follow_up.refresh_from_db()
    assert follow_up.done_by == sales_rep
    assert client_for(sales_rep).get("/api/v1/service/follow-ups/").json()["results"] == []


def test_the_demo_replays_the_sweep_for_an_order_that_shipped_after_its_promise(
    sales_rep: Any, django_capture_on_commit_callbacks: Any
) -> None:
    # given: an order promised 10 days ago that shipped 3 days ago, and one shipped in time
    from backoffice_sync.models import ErpOrder, Shipment
    from service.loop.demo import replay_delay_sweeps

    today = timezone.localdate()
    late = _late_order(sales_rep)
    quote = a_sent_quote(sales_rep, catalogue=False)
    on_time = order_services.quote_accept(actor=sales_rep, quote_id=quote.pk, expected_version=quote.version)
    SalesOrder.objects.filter(pk=late.pk).update(promised_delivery_on=today - dt.timedelta(days=10))
    for n, (order, shipped_on) in enumerate(
        [(late, today - dt.timedelta(days=3)), (on_time, today - dt.timedelta(days=3))]
    ):
        erp = ErpOrder.objects.create(
            order_ref=order.order_ref,
            customer=order.customer,
            status="shipped",
            status_changed_at=timezone.now(),
        )
        Shipment.objects.create(number=f"SH-{n}", order=erp, carrier="DHL", shipped_on=shipped_on)
    SalesOrder.objects.filter(pk=on_time.pk).update(promised_delivery_on=today - dt.timedelta(days=2))
    # when: the demo replays the sweep as beat ran it
    with django_capture_on_commit_callbacks(execute=True):
        told = replay_delay_sweeps()
    # then: the late one was told the morning after its promise; its owner's follow-up
    # was opened then and ticked off the day it shipped; nothing is dated after now
    assert told == 1
    message = OutboundMessage.objects.get()
    assert message.dedupe_key == f"order-delayed:{late.order_ref}"
    found = timezone.localtime(message.created_at)
    assert (found.date(), found.hour) == (today - dt.timedelta(days=9), 8)
    follow_up = FollowUp.objects.get()
    assert follow_up.due_on == today - dt.timedelta(days=9)
    assert follow_up.done_at is not None
    assert timezone.localdate(follow_up.done_at) == today - dt.timedelta(days=3)
    assert follow_up.done_by == sales_rep
    now = timezone.now()
    assert not Activity.objects.filter(occurred_at__gt=now).exists()
    # ... and replaying again tells nobody twice
    replay_delay_sweeps()
    assert OutboundMessage.objects.count() == 1


def _mirror(order: SalesOrder, status: str, *shipped_on: dt.date) -> None:
    from backoffice_sync.models import ErpOrder, Shipment

    erp = ErpOrder.objects.create(
        order_ref=order.order_ref, customer=order.customer, status=status, status_changed_at=timezone.now()
    )
    for n, day in enumerate(shipped_on):
        Shipment.objects.create(number=f"SH-{order.pk}-{n}", order=erp, carrier="DHL", shipped_on=day)


def test_a_late_order_shipped_in_part_is_told_and_one_shipped_in_full_is_not(
    sales_rep: Any, django_capture_on_commit_callbacks: Any
) -> None:
    # given: two orders promised two days ago; the ERP shipped part of one (a backorder
    # waits for its supplier) and all of the other
    today = timezone.localdate()
    in_part, in_full = _late_order(sales_rep), _late_order(sales_rep, catalogue=False)
    _mirror(in_part, "partially_shipped", today - dt.timedelta(days=4))
    _mirror(in_full, "shipped", today - dt.timedelta(days=4))
    # when
    with django_capture_on_commit_callbacks(execute=True):
        sweep = proactive.proactive_delay_sweep()
    # then: only the one still waiting for the rest is late
    assert sweep.messaged == 1
    message = OutboundMessage.objects.get()
    assert message.dedupe_key == f"order-delayed:{in_part.order_ref}"
    assert "not shipped in full" in mail.outbox[-1].body


def test_the_demo_replay_dates_a_backorder_by_its_last_parcel(
    sales_rep: Any, django_capture_on_commit_callbacks: Any
) -> None:
    # given: promised 10 days ago, a first parcel in time (12 days ago) and the rest 3
    # days ago; another with its first parcel in time and the rest still to come
    from service.loop.demo import replay_delay_sweeps

    today = timezone.localdate()
    done, waiting = _late_order(sales_rep), _late_order(sales_rep, catalogue=False)
    SalesOrder.objects.filter(pk__in=[done.pk, waiting.pk]).update(
        promised_delivery_on=today - dt.timedelta(days=10)
    )
    _mirror(done, "shipped", today - dt.timedelta(days=12), today - dt.timedelta(days=3))
    _mirror(waiting, "partially_shipped", today - dt.timedelta(days=12))
    # when
    with django_capture_on_commit_callbacks(execute=True):
        told = replay_delay_sweeps() + proactive.proactive_delay_sweep().messaged
    # then: both were told; the first's follow-up was ticked off when the rest shipped,
    # the second's is still open
    assert told == 2
    keys = set(OutboundMessage.objects.values_list("dedupe_key", flat=True))
    assert keys == {f"order-delayed:{done.order_ref}", f"order-delayed:{waiting.order_ref}"}
    follow_ups = {f.order_ref: f for f in FollowUp.objects.all()}
    assert timezone.localdate(follow_ups[done.order_ref].done_at) == today - dt.timedelta(days=3)
    assert follow_ups[waiting.order_ref].done_at is None
