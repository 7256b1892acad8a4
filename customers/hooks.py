"""How the customer profile plugs into the project (read by `frontoffice.plugin`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.core.management import call_command
from django.urls import reverse

from customers import dashboard, search
from customers.api import CustomerViewSet
from customers.api_import import CustomerImportViewSet
from customers.api_timeline import ActivityViewSet
from customers.choices import ActivityKind
from customers.merge import own_merge_references
from customers.outbound.api import MessageTemplateViewSet, OutboundMessageViewSet
from customers.outbound.services import repoint_messages
from customers.outbound.timeline import OutboundActivity
from customers.roles import GRANTS
from frontoffice.plugin import (
    ApiRoute,
    AppHooks,
    DashboardCard,
    DemoStep,
    MergeReference,
    NavItem,
    PeriodicTask,
    SearchProvider,
    TimelineKind,
    TimelineTone,
)
from frontoffice.write_path import as_id


def _customer_link(ref_id: str) -> str | None:
    return reverse("customers:detail", args=[ref_id]) if as_id(ref_id) is not None else None


def _message_link(ref_id: str) -> str | None:
    message_id = as_id(ref_id)
    return reverse("customers:outbound-message", args=[message_id]) if message_id is not None else None


def _message_kind(code: str, label: str, icon: str, tone: TimelineTone) -> TimelineKind:
    return TimelineKind(
        code,
        label,
        icon,
        tone,
        ref_type="customers.outboundmessage",
        link=_message_link,
        link_permission="customers.view_outboundmessage",
    )


def _seed(options: Mapping[str, Any]) -> str:
    call_command(
        "seed_demo", customers=options["customers"], if_empty=options["if_empty"], stdout=options["stdout"]
    )
    return "customers and staff"


HOOKS = AppHooks(
    roles=GRANTS,
    urls="customers.urls",
    url_prefix="customers/",
    api_routes=[
        ApiRoute("customers/imports", CustomerImportViewSet, "customer-import"),
        ApiRoute("customers", CustomerViewSet, "customer"),
        ApiRoute("activities", ActivityViewSet, "activity"),
        ApiRoute("outbound/templates", MessageTemplateViewSet, "outbound-template"),
        ApiRoute("outbound/messages", OutboundMessageViewSet, "outbound-message"),
    ],
    navigation=[
        NavItem("Customers", "customers:list", "customers.view_customer", order=10),
        NavItem("Duplicates", "customers:duplicates", "customers.merge_customer", order=15),
        NavItem("Messages", "customers:outbound-messages", "customers.view_outboundmessage", order=17),
    ],
    timeline_kinds=[
        TimelineKind(ActivityKind.NOTE, "Note", "✎"),
        TimelineKind(ActivityKind.CALL, "Call", "☎", TimelineTone.INFO),
        TimelineKind(ActivityKind.EMAIL, "E-mail", "✉", TimelineTone.INFO),
        TimelineKind(ActivityKind.MEETING, "Meeting", "◷", TimelineTone.INFO),
        TimelineKind(ActivityKind.CONSENT, "Consent", "✓", TimelineTone.WARNING),
        TimelineKind(ActivityKind.PROFILE, "Profile change", "✎"),
        TimelineKind(
            ActivityKind.MERGE,
            "Merge",
            "⇄",
            TimelineTone.WARNING,
            ref_type="customers.customer",
            link=_customer_link,
            link_permission="customers.view_customer",
        ),
        TimelineKind("diagnostic", "Diagnostic", "⚙"),
        _message_kind(OutboundActivity.SENT, "Message sent", "✉", TimelineTone.INFO),
        _message_kind(OutboundActivity.SUPPRESSED, "Message not sent", "✉", TimelineTone.WARNING),
        _message_kind(OutboundActivity.FAILED, "Message failed", "✉", TimelineTone.DANGER),
        _message_kind(OutboundActivity.BOUNCED, "Message bounced", "✉", TimelineTone.DANGER),
    ],
    merge_references=[
        *own_merge_references(),
        MergeReference("customers.OutboundMessage", "customer", "Messages", repoint_messages),
    ],
    periodic_tasks=[
        PeriodicTask("outbound-sweep", "customers.tasks.sweep_outbound_messages", 300.0),
    ],
    api_enums={
        "CustomerKindEnum": "customers.choices.CustomerKind",
        "ContactKindEnum": "customers.choices.ContactKind",
        # Consent is given per channel a message goes out on: one set, one name.
        "ChannelEnum": "customers.choices.ConsentChannel",
        "MessageCategoryEnum": "customers.outbound.choices.MessageCategory",
        "MessageStatusEnum": "customers.outbound.choices.MessageStatus",
    },
    dashboard=[
        DashboardCard(
            key="customers",
            title="Customers",
            loader=dashboard.customers_card,
            template="customers/_dashboard_card.html",
            permission="customers.view_customer",
            order=10,
        )
    ],
    search=[
        SearchProvider(
            key="customers",
            title="Customers",
            search=search.customer_hits,
            noun=("customer", "customers"),
            more_url=search.all_customers_url,
            permission="customers.view_customer",
            order=10,
        )
    ],
    demo_steps=[DemoStep("customers", 10, _seed)],
)
