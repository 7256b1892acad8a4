"""Proactive messages: the customer hears from us before they call.

When the back office confirms an order, ships it (with tracking), or an invoice falls
overdue (`backoffice_sync.events`), the customer gets a templated message through the
hub's outbound room, which checks consent and picks their preferred channel, and
records it on the timeline. The ERP reports no expected delivery date, so a delay is
found by a sweep (`proactive_delay_sweep`, hourly): an order past its promised date
and not yet shipped gets a message, and its owner a follow-up.

Every message has a dedupe key made of the ERP's own reference (order, shipment,
invoice): a re-delivered event or a re-run sweep sends nothing twice.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import Exists, OuterRef, Q, Value
from django.db.models.functions import Concat
from django.utils import timezone

from backoffice_sync.events import InvoiceOverdue, OrderConfirmed, OrderShipped
from backoffice_sync.models import ErpOrderStatus, Shipment
from customers.outbound.models import MessageTemplate, OutboundMessage
from customers.outbound.services import send_to_customer
from frontoffice.actors import SystemActor
from frontoffice.write_path import authorize
from sales.orders.models import SalesOrder
from sales.orders.selectors import with_erp_state
from service.loop.choices import FollowUpKind
from service.loop.followups import follow_up_raise
from service.loop.models import FollowUp

log = logging.getLogger(__name__)
PROACTIVE = SystemActor("proactive messages")
DELAY_BATCH = 200


class Templates:
    CONFIRMED = "order-confirmed"
    SHIPPED = "order-shipped"
    DELAYED = "order-delayed"
    OVERDUE = "invoice-overdue"
    PROBLEM_RESOLVED = "problem-resolved"
    CSAT = "csat-survey"


# The templates every database starts with (admins edit them on the templates page).
DEFAULT_TEMPLATES = {
    Templates.CONFIRMED: (
        "Order confirmed",
        "Your order {{ order.reference }} is confirmed",
        "Hello {{ customer.first_name }},\n\nGood news: we have confirmed your order {{ order.reference }}."
        "\nWe will tell you as soon as it ships.\n\nKind regards",
    ),
    Templates.SHIPPED: (
        "Order shipped",
        "Your order {{ order.reference }} has shipped",
        "Hello {{ customer.first_name }},\n\nYour order {{ order.reference }} left our warehouse on"
        " {{ shipment.shipped_on }} with {{ shipment.carrier }}.\nTracking number: {{ shipment.tracking }}"
        "\n{{ shipment.remainder }}\n\nKind regards",
    ),
    Templates.DELAYED: (
        "Order delayed",
        "Your order {{ order.reference }} is running late",
        "Hello {{ customer.first_name }},\n\nWe promised your order {{ order.reference }} for"
        " {{ order.promised_on }} and it has not shipped in full yet. We are sorry: {{ order.owner }} is looking into it"
        " and will be in touch with a new date.\n\nKind regards",
    ),
    Templates.OVERDUE: (
        "Invoice overdue",
        "Invoice {{ invoice.number }} is overdue",
        "Hello {{ customer.first_name }},\n\nOur invoice {{ invoice.number }} of {{ invoice.amount }}"
        " {{ invoice.currency }} was due on {{ invoice.due_on }}. If you have paid it already, thank you and"
        " please ignore this message; otherwise reply and we will help.\n\nKind regards",
    ),
    Templates.PROBLEM_RESOLVED: (
        "Problem fixed",
        "We fixed what you told us about ({{ case.reference }})",
        'Hello {{ customer.first_name }},\n\nYou told us about "{{ case.subject }}". It was not only you, and it'
        " is now fixed: {{ problem.fix }}\n\nThank you for telling us.\n\nKind regards",
    ),
    Templates.CSAT: (
        "Satisfaction survey",
        "How did we do? ({{ case.reference }})",
        "Hello {{ customer.first_name }},\n\nWe resolved your case {{ case.reference }} ({{ case.subject }})."
        " Please tell us how we did, from 1 to 5, here: {{ survey.url }}\nThe link works once, for"
        " {{ survey.valid_days }} days.\n\nKind regards",
    ),
}


# Who may read a message, where the message tells what only some may read elsewhere:
# an overdue invoice's number and amount are for those who see invoices (not marketing).
VIEW_PERMISSIONS = {Templates.OVERDUE: "backoffice_sync.view_invoice"}


def ensure_default_templates(*, using: str = "default", **_: Any) -> None:
    """A `post_migrate` receiver: the proactive templates exist (created once; admins'
    edits stay) and carry who may read their messages (this app decides that, not the
    template's editor)."""
    with transaction.atomic(using=using):
        existing = set(MessageTemplate.objects.using(using).values_list("key", flat=True))
        MessageTemplate.objects.using(using).bulk_create(
            MessageTemplate(
                key=key,
                name=name,
                subject=subject,
                body=body,
                view_permission=VIEW_PERMISSIONS.get(key, ""),
            )
            for key, (name, subject, body) in DEFAULT_TEMPLATES.items()
            if key not in existing
        )
        for key, permission in VIEW_PERMISSIONS.items():
            MessageTemplate.objects.using(using).filter(key=key).exclude(view_permission=permission).update(
                view_permission=permission
            )


def _send(customer_id: int, key: str, template: str, context: dict[str, Any]) -> OutboundMessage | None:
    if not MessageTemplate.objects.filter(key=template, is_active=True).exists():
        log.info("Proactive template %s is switched off: nothing sent for %s.", template, key)
        return None
    return send_to_customer(
        actor=PROACTIVE,
        customer=customer_id,
        dedupe_key=key,
        template=template,
        context=context,
        view_permission=VIEW_PERMISSIONS.get(template, ""),
    )


def on_order_confirmed(event: OrderConfirmed) -> None:
    _send(
        event.customer_id,
        f"order-confirmed:{event.order_ref}",
        Templates.CONFIRMED,
        {"order": {"reference": event.order_ref, "erp_number": event.erp_order_number or ""}},
    )


def on_order_shipped(event: OrderShipped) -> None:
    remainder = "" if event.complete else "The rest of your order follows in a later shipment."
    _send(
        event.customer_id,
        f"order-shipped:{event.order_ref}:{event.shipment_number}",
        Templates.SHIPPED,
        {
            "order": {"reference": event.order_ref},
            "shipment": {
                "number": event.shipment_number,
                "carrier": event.carrier or "our carrier",
                "tracking": event.tracking_number or "to follow",
                "shipped_on": event.shipped_on,
                "remainder": remainder,
            },
        },
    )


def on_invoice_overdue(event: InvoiceOverdue) -> None:
    _send(
        event.customer_id,
        f"invoice-overdue:{event.invoice_number}:{event.due_on.isoformat()}",
        Templates.OVERDUE,
        {
            "invoice": {
                "number": event.invoice_number,
                "amount": event.amount_due,
                "currency": event.currency,
                "due_on": event.due_on,
            }
        },
    )


@dataclass(frozen=True)
class DelaySweep:
    messaged: int
    more: bool


NOT_LATE = (
    ErpOrderStatus.SHIPPED,
    ErpOrderStatus.DELIVERED,
    ErpOrderStatus.CANCELLED,
    ErpOrderStatus.REJECTED,
)


def late_orders(*, today: dt.date) -> Any:
    """Orders past their promised date, not shipped in full, delivered or cancelled, and
    not yet told about (one query)."""
    told = FollowUp.objects.filter(dedupe_key=Concat(Value("order-delayed:"), OuterRef("order_ref")))
    return (
        with_erp_state(SalesOrder.objects.exclude(order_ref=""))
        .filter(promised_delivery_on__lt=today, cancel_requested_at__isnull=True)
        # Spelled out for NULLs: the ERP may not have answered yet (no status).
        .filter(Q(erp_status__isnull=True) | ~Q(erp_status__in=NOT_LATE), Q(erp_delivered_on__isnull=True))
        # Part of it shipped is still late for the rest (a backorder past the promise).
        .filter(
            Q(erp_status=ErpOrderStatus.PARTIALLY_SHIPPED)
            | ~Exists(Shipment.objects.filter(order__order_ref=OuterRef("order_ref")))
        )
        .exclude(Exists(told))
        .select_related("opportunity__owner", "customer")
        .order_by("promised_delivery_on", "pk")
    )


def proactive_delay_sweep(
    *, actor: SystemActor = PROACTIVE, today: dt.date | None = None, batch_size: int = DELAY_BATCH
) -> DelaySweep:
    """Tell customers whose order is late, and open a follow-up for its owner; one
    transaction per order, at most `batch_size` orders."""
    authorize(actor, "customers.add_outboundmessage", "service.add_followup")
    today = today or timezone.localdate()
    orders = list(late_orders(today=today)[: batch_size + 1])
    for order in orders[:batch_size]:
        order_delay_tell(actor=actor, order=order, today=today)
    return DelaySweep(messaged=min(len(orders), batch_size), more=len(orders) > batch_size)


def order_delay_tell(*, actor: Any, order: SalesOrder, today: dt.date) -> None:
    """Tell the customer that `order`, promised before `today`, has not shipped, and
    give its owner a follow-up (once per order: both carry the order's dedupe key).
    `order` comes with its opportunity's owner (`late_orders` selects it)."""
    authorize(actor, "customers.add_outboundmessage", "service.add_followup")
    with transaction.atomic():
        owner = order.opportunity.owner
        owner_name = owner.get_full_name() or owner.get_username() if owner else "our team"
        _send(
            order.customer_id,
            f"order-delayed:{order.order_ref}",
            Templates.DELAYED,
            {
                "order": {
                    "reference": order.order_ref,
                    "promised_on": order.promised_delivery_on,
                    "owner": owner_name,
                }
            },
        )
        follow_up_raise(
            actor=actor,
            dedupe_key=f"order-delayed:{order.order_ref}",
            customer_id=order.customer_id,
            kind=FollowUpKind.ORDER_DELAYED,
            title=f"Order {order.order_ref} is late: promised for {order.promised_delivery_on:%d %b %Y}",
            detail="The customer was told it is running late. Get a new date from the back office and call them.",
            assignee=owner,
            order_ref=order.order_ref,
            due_on=today,
        )
