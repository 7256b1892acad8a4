"""How sales plugs into the project (read by `frontoffice.plugin`)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from celery.schedules import crontab
from django.core.management import call_command
from django.urls import reverse

from frontoffice.plugin import (
    ApiRoute,
    AppHooks,
    DemoStep,
    MergeReference,
    NavItem,
    NumberLookup,
    Panel,
    PeriodicTask,
    TimelineKind,
    TimelineTone,
)
from frontoffice.write_path import as_id
from sales import numbers, roles
from sales.forecast.api import ForecastViewSet, RecommendationViewSet, RecommendedProductsPanelSerializer
from sales.forecast.selectors_recommendations import recommended_panel
from sales.leads.api import LeadViewSet
from sales.orders.api import RecentOrdersPanelSerializer, SalesOrderViewSet
from sales.orders.selectors import recent_orders_panel
from sales.pipeline.api import OpenOpportunitiesPanelSerializer, OpportunityViewSet, PipelineViewSet
from sales.pipeline.selectors import open_opportunities_panel
from sales.pipeline.services_pipelines import ensure_default_pipeline
from sales.pricing.api import DiscountLimitViewSet, PriceListViewSet, ProductViewSet
from sales.quotes.api import QuoteViewSet
from sales.timeline import ActivityKinds as Kind


def _link(url_name: str) -> Callable[[str], str | None]:
    def link(ref_id: str) -> str | None:
        return reverse(url_name, args=[ref_id]) if as_id(ref_id) is not None else None

    return link


def _seed(options: Mapping[str, Any]) -> str:
    call_command("seed_sales_demo", if_empty=options["if_empty"], stdout=options["stdout"])
    return "months of sales"


_LEAD: dict[str, Any] = {
    "ref_type": "sales.lead",
    "link": _link("sales:lead_detail"),
    "link_permission": "sales.view_lead",
}
_OPPORTUNITY: dict[str, Any] = {
    "ref_type": "sales.opportunity",
    "link": _link("sales:opportunity_detail"),
    "link_permission": "sales.view_opportunity",
}
_QUOTE: dict[str, Any] = {
    "ref_type": "sales.quote",
    "link": _link("sales:quote_detail"),
    "link_permission": "sales.view_quote",
}
_ORDER: dict[str, Any] = {
    "ref_type": "sales.salesorder",
    "link": _link("sales:order_detail"),
    "link_permission": "sales.view_salesorder",
}

HOOKS = AppHooks(
    roles=roles.GRANTS,
    urls="sales.urls",
    url_prefix="sales/",
    api_routes=[
        ApiRoute("sales/products", ProductViewSet, "sales-product"),
        ApiRoute("sales/price-lists", PriceListViewSet, "sales-price-list"),
        ApiRoute("sales/discount-limits", DiscountLimitViewSet, "sales-discount-limit"),
        ApiRoute("sales/quotes", QuoteViewSet, "sales-quote"),
        ApiRoute("sales/orders", SalesOrderViewSet, "sales-order"),
        ApiRoute("sales/leads", LeadViewSet, "sales-lead"),
        ApiRoute("sales/opportunities", OpportunityViewSet, "sales-opportunity"),
        ApiRoute("sales/pipelines", PipelineViewSet, "sales-pipeline"),
        ApiRoute("sales/forecast", ForecastViewSet, "sales-forecast"),
        ApiRoute("sales/recommendations", RecommendationViewSet, "sales-recommendation"),
    ],
    navigation=[
        NavItem("Pipeline", "sales:board", "sales.view_opportunity", order=30),
        NavItem("Opportunities", "sales:opportunity_list", "sales.view_opportunity", order=31),
        NavItem("Leads", "sales:lead_list", "sales.view_lead", order=32),
        NavItem("Quotes", "sales:quote_list", "sales.view_quote", order=33),
        NavItem("Orders", "sales:order_list", "sales.view_salesorder", order=34),
        NavItem("Forecast", "sales:forecast", "sales.view_forecastsnapshot", order=35),
    ],
    # Each panel loads in a request of its own, in one query whatever the customer holds.
    panels=[
        Panel(
            key="open_opportunities",
            title="Open opportunities",
            loader=open_opportunities_panel,
            template="sales/_panel_opportunities.html",
            serializer=OpenOpportunitiesPanelSerializer,
            permission="sales.view_opportunity",
            order=40,
            query_budget=1,
        ),
        Panel(
            key="recommended_products",
            title="Recommended products",
            loader=recommended_panel,
            template="sales/forecast/_panel_recommendations.html",
            serializer=RecommendedProductsPanelSerializer,
            permission="sales.view_productaffinity",
            order=45,
            query_budget=1,
        ),
        Panel(
            key="recent_orders",
            title="Recent orders",
            loader=recent_orders_panel,
            template="sales/orders/_panel_orders.html",
            serializer=RecentOrdersPanelSerializer,
            permission="sales.view_salesorder",
            order=50,
            query_budget=1,
        ),
    ],
    timeline_kinds=[
        TimelineKind(Kind.LEAD_CONVERTED, "Lead converted", "★", TimelineTone.SUCCESS, **_LEAD),
        TimelineKind(Kind.OPPORTUNITY_CREATED, "Opportunity opened", "◆", TimelineTone.INFO, **_OPPORTUNITY),
        TimelineKind(Kind.STAGE_CHANGED, "Stage change", "→", TimelineTone.INFO, **_OPPORTUNITY),
        TimelineKind(Kind.WON, "Opportunity won", "✓", TimelineTone.SUCCESS, **_OPPORTUNITY),
        TimelineKind(Kind.LOST, "Opportunity lost", "✕", TimelineTone.DANGER, **_OPPORTUNITY),
        TimelineKind(Kind.REOPENED, "Opportunity reopened", "↺", TimelineTone.WARNING, **_OPPORTUNITY),
        TimelineKind(Kind.QUOTE_CREATED, "Quote drafted", "❏", TimelineTone.NEUTRAL, **_QUOTE),
        TimelineKind(
            Kind.QUOTE_APPROVAL_REQUESTED, "Quote approval asked", "?", TimelineTone.WARNING, **_QUOTE
        ),
        TimelineKind(Kind.QUOTE_APPROVED, "Quote approved", "✓", TimelineTone.SUCCESS, **_QUOTE),
        TimelineKind(Kind.QUOTE_SENT, "Quote sent", "✉", TimelineTone.INFO, **_QUOTE),
        TimelineKind(Kind.QUOTE_EMAILED, "Quote e-mailed", "✉", TimelineTone.SUCCESS, **_QUOTE),
        TimelineKind(Kind.QUOTE_EMAIL_FAILED, "Quote e-mail failed", "✉", TimelineTone.DANGER, **_QUOTE),
        TimelineKind(Kind.QUOTE_REVISED, "Quote revised", "✎", TimelineTone.NEUTRAL, **_QUOTE),
        TimelineKind(Kind.QUOTE_EXPIRED, "Quote expired", "⌛", TimelineTone.WARNING, **_QUOTE),
        TimelineKind(Kind.ORDER_PLACED, "Order placed", "▣", TimelineTone.SUCCESS, **_ORDER),
        TimelineKind(Kind.ORDER_CANCEL_REQUESTED, "Order cancellation", "✕", TimelineTone.DANGER, **_ORDER),
    ],
    merge_references=[
        MergeReference("sales.Lead", "customer", "Leads"),
        MergeReference("sales.Opportunity", "customer", "Opportunities"),
        MergeReference("sales.SalesOrder", "customer", "Orders"),
    ],
    periodic_tasks=[
        # The weighted pipeline to the ERP as a demand forecast (idempotent per ISO week).
        PeriodicTask(
            "publish-forecast", "sales.tasks.publish_forecast", crontab(minute=0, hour=6, day_of_week=1)
        ),
        # Sent quotes past their validity date become expired (hourly, so that the status
        # follows midnight closely whatever the time zone; a run with nothing to do is one query).
        PeriodicTask("expire-quotes", "sales.tasks.expire_quotes", crontab(minute=5)),
        # "Customers who bought X also bought Y", from the ERP order mirror.
        PeriodicTask("recompute-affinities", "sales.tasks.recompute_affinities", crontab(minute=30, hour=3)),
    ],
    demo_steps=[DemoStep("sales", 30, _seed)],
    numbers=[
        NumberLookup(
            "orders", "Orders", numbers.order_hits, ("order", "orders"), "sales.view_salesorder", order=20
        ),
        NumberLookup(
            "quotes", "Quotes", numbers.quote_hits, ("quote", "quotes"), "sales.view_quote", order=30
        ),
    ],
    api_enums={
        "QuoteStatusEnum": "sales.models.QuoteStatus",
        "CustomerTierEnum": "sales.models.CustomerTier",
        # Stage kinds and opportunity statuses are the same set: open, won, lost.
        "OutcomeEnum": "sales.models.StageKind",
        "LeadSourceEnum": "sales.models.LeadSource",
        "LeadStatusEnum": "sales.models.LeadStatus",
    },
    post_migrate=[ensure_default_pipeline],
)
