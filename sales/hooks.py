"""How sales plugs into the project (read by `frontoffice.plugin`)."""

from __future__ import annotations

from collections.abc import Mapping
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
    Panel,
    PeriodicTask,
    TimelineKind,
    TimelineTone,
)
from frontoffice.roles import merge_grants
from sales import roles, roles_forecast, roles_orders, roles_quotes
from sales.api import LeadViewSet, OpportunityViewSet, PipelineViewSet
from sales.api_forecast import ForecastViewSet, RecommendationViewSet
from sales.api_orders import SalesOrderViewSet
from sales.api_quotes import DiscountLimitViewSet, PriceListViewSet, ProductViewSet, QuoteViewSet
from sales.recommendations import recommended_panel
from sales.selectors_orders import open_opportunities_panel, recent_orders_for_customer
from sales.services import ensure_default_pipeline


def _link(url_name: str) -> Any:
    def link(ref_id: str) -> str | None:
        return reverse(url_name, args=[ref_id]) if ref_id.isdigit() else None

    return link


def _seed(options: Mapping[str, Any]) -> str:
    call_command("seed_sales_demo", if_empty=options["if_empty"], stdout=options["stdout"])
    return "months of sales"


_LEAD = {"ref_type": "sales.lead", "link": _link("sales:lead_detail"), "link_permission": "sales.view_lead"}
_OPPORTUNITY = {
    "ref_type": "sales.opportunity",
    "link": _link("sales:opportunity_detail"),
    "link_permission": "sales.view_opportunity",
}
_QUOTE = {
    "ref_type": "sales.quote",
    "link": _link("sales:quote_detail"),
    "link_permission": "sales.view_quote",
}
_ORDER = {
    "ref_type": "sales.salesorder",
    "link": _link("sales:order_detail"),
    "link_permission": "sales.view_salesorder",
}

HOOKS = AppHooks(
    roles=merge_grants(roles.GRANTS, roles_quotes.GRANTS, roles_forecast.GRANTS, roles_orders.GRANTS),
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
    panels=[
        Panel(
            key="open_opportunities",
            title="Open opportunities",
            loader=open_opportunities_panel,
            template="sales/_panel_opportunities.html",
            permission="sales.view_opportunity",
            order=40,
        ),
        Panel(
            key="recommended_products",
            title="Recommended products",
            loader=recommended_panel,
            template="sales/forecast/_panel_recommendations.html",
            permission="sales.view_productaffinity",
            order=45,
        ),
        Panel(
            key="recent_orders",
            title="Recent orders",
            loader=recent_orders_for_customer,
            template="sales/orders/_panel_orders.html",
            permission="sales.view_salesorder",
            order=50,
        ),
    ],
    timeline_kinds=[
        TimelineKind("lead_converted", "Lead converted", "★", TimelineTone.SUCCESS, **_LEAD),
        TimelineKind("opportunity_created", "Opportunity opened", "◆", TimelineTone.INFO, **_OPPORTUNITY),
        TimelineKind("opportunity_stage", "Stage change", "→", TimelineTone.INFO, **_OPPORTUNITY),
        TimelineKind("opportunity_won", "Opportunity won", "✓", TimelineTone.SUCCESS, **_OPPORTUNITY),
        TimelineKind("opportunity_lost", "Opportunity lost", "✕", TimelineTone.DANGER, **_OPPORTUNITY),
        TimelineKind(
            "opportunity_reopened", "Opportunity reopened", "↺", TimelineTone.WARNING, **_OPPORTUNITY
        ),
        TimelineKind("quote_created", "Quote drafted", "❏", TimelineTone.NEUTRAL, **_QUOTE),
        TimelineKind("quote_approval_requested", "Quote approval asked", "?", TimelineTone.WARNING, **_QUOTE),
        TimelineKind("quote_approved", "Quote approved", "✓", TimelineTone.SUCCESS, **_QUOTE),
        TimelineKind("quote_sent", "Quote sent", "✉", TimelineTone.INFO, **_QUOTE),
        TimelineKind("quote_revised", "Quote revised", "✎", TimelineTone.NEUTRAL, **_QUOTE),
        TimelineKind("quote_expired", "Quote expired", "⌛", TimelineTone.WARNING, **_QUOTE),
        TimelineKind("order_placed", "Order placed", "▣", TimelineTone.SUCCESS, **_ORDER),
        TimelineKind("order_cancel_requested", "Order cancellation", "✕", TimelineTone.DANGER, **_ORDER),
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
    post_migrate=[ensure_default_pipeline],
)
