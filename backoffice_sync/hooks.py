"""How the back-office sync plugs into the project (read by `frontoffice.plugin`)."""

from __future__ import annotations

from django.conf import settings

from backoffice_sync.api import ErpWebhookViewSet
from backoffice_sync.api_mirrors import InvoicesAndBalanceSerializer
from backoffice_sync.api_reconcile import ReconciliationRunViewSet
from backoffice_sync.api_sync import AtpViewSet, OutboxViewSet, SyncStatusViewSet
from backoffice_sync.choices import ErpActivityKind
from backoffice_sync.circuit import circuit_notice
from backoffice_sync.customer_sync import on_customers_merged, on_profile_changed
from backoffice_sync.demo import relay_demo_outbox
from backoffice_sync.roles import GRANTS
from backoffice_sync.selectors_mirrors import INVOICES_AND_BALANCE_QUERIES, invoices_and_balance
from customers.events import CustomersMerged, ProfileChanged
from frontoffice.plugin import (
    ApiRoute,
    AppHooks,
    DashboardCard,
    DemoStep,
    MergeReference,
    NavItem,
    Panel,
    PeriodicTask,
    Phase,
    Subscription,
    TimelineKind,
    TimelineTone,
)
from frontoffice.schedules import every

HOOKS = AppHooks(
    roles=GRANTS,
    urls="backoffice_sync.urls",
    url_prefix="sync/",
    # Where promised goods come from (ATP answers and quotes' lines).
    api_routes=[
        ApiRoute("erp/webhook", ErpWebhookViewSet, "erp-webhook"),
        ApiRoute("sync/status", SyncStatusViewSet, "sync-status"),
        ApiRoute("sync/atp", AtpViewSet, "sync-atp"),
        ApiRoute("sync/outbox", OutboxViewSet, "sync-outbox"),
        ApiRoute("sync/reconciliations", ReconciliationRunViewSet, "sync-reconciliation"),
    ],
    navigation=[
        NavItem("Availability", "backoffice_sync:availability", "backoffice_sync.view_product", order=60),
        NavItem("Sync monitor", "backoffice_sync:monitor", "backoffice_sync.view_outboxmessage", order=61),
    ],
    # The back office hears of a long ERP outage here (and in the log, at ERROR).
    dashboard=[
        DashboardCard(
            key="erp_link",
            title="ERP link",
            loader=circuit_notice,
            template="backoffice_sync/_dashboard_erp_link.html",
            permission="backoffice_sync.view_outboxmessage",
            order=5,
        )
    ],
    panels=[
        Panel(
            key="invoices_balance",
            title="Invoices and balance",
            loader=invoices_and_balance,
            template="backoffice_sync/_panel_invoices.html",
            serializer=InvoicesAndBalanceSerializer,
            permission="backoffice_sync.view_invoice",
            order=40,
            query_budget=INVOICES_AND_BALANCE_QUERIES,
        )
    ],
    timeline_kinds=[
        TimelineKind(ErpActivityKind.ERP_ORDER, "Order update", "▣", TimelineTone.INFO),
        TimelineKind(ErpActivityKind.SHIPMENT, "Shipment", "⛟", TimelineTone.INFO),
        # Money owed and paid: on the timeline only for those who may read invoices and
        # payments elsewhere (not marketing, see roles.ACCOUNTS).
        TimelineKind(
            ErpActivityKind.INVOICE,
            "Invoice",
            "€",
            TimelineTone.NEUTRAL,
            view_permission="backoffice_sync.view_invoice",
        ),
        TimelineKind(
            ErpActivityKind.PAYMENT,
            "Payment",
            "✓",
            TimelineTone.SUCCESS,
            view_permission="backoffice_sync.view_payment",
        ),
    ],
    merge_references=[
        MergeReference("backoffice_sync.ErpOrder", "customer", "ERP orders"),
        MergeReference("backoffice_sync.Invoice", "customer", "Invoices"),
        MergeReference("backoffice_sync.Payment", "customer", "Payments"),
        MergeReference("backoffice_sync.CreditNote", "customer", "Credit notes"),
        MergeReference("backoffice_sync.CustomerBalance", "customer", "Balances"),
        MergeReference("backoffice_sync.Drift", "customer", "Reconciliation differences"),
    ],
    # A customer's changes, and a merge that moves an ERP number, reach the ERP through
    # the outbox, in the change's transaction.
    subscriptions=[
        Subscription(ProfileChanged, on_profile_changed, Phase.IN_TRANSACTION),
        Subscription(CustomersMerged, on_customers_merged, Phase.IN_TRANSACTION),
    ],
    # Choices named once in the OpenAPI schema: ATP sources, the reconciliation's.
    api_enums={
        "AtpSourceEnum": "backoffice_sync.atp.SOURCES",
        "ReconciliationRunStatusEnum": "backoffice_sync.models.reconciliation.RunStatus",
        "ReconciliationTriggerEnum": "backoffice_sync.models.reconciliation.RunTrigger",
        "DriftKindEnum": "backoffice_sync.models.reconciliation.DriftKind",
    },
    # Last of the demo's steps: what they queued reaches the ERP simulator before the
    # worker starts, so the first start shows no months-old backlog.
    demo_steps=[DemoStep("outbox-relay", 90, relay_demo_outbox)],
    periodic_tasks=[
        # The outbox sweep: messages whose backoff ended, leases of dead workers, missed kicks.
        PeriodicTask("relay-outbox", "backoffice_sync.tasks.relay_outbox", 5.0),
        # The inbox's fallback and reconciliation: pull ERP changes since the stored cursor.
        PeriodicTask("poll-erp", "backoffice_sync.tasks.poll_erp", 30.0),
        # Each order, invoice and payment compared with the ERP, drift repaired; the first
        # run a minute after beat starts, not a whole period later.
        PeriodicTask("reconcile-erp", "backoffice_sync.tasks.reconcile_erp", every(600.0, first_after=60.0)),
        # With the stub adapter, the in-process simulator's clock moves on (see the setting).
        PeriodicTask(
            "tick-simulator",
            "backoffice_sync.tasks.tick_simulator",
            60.0,
            kwargs={"hours": settings.ERP_SIMULATOR_TICK_HOURS},
        ),
    ],
)
