from __future__ import annotations

from django.apps import AppConfig


class SalesConfig(AppConfig):
    name = "sales"
    verbose_name = "Sales"

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from customers import panels
        from frontoffice.roles import declare
        from sales.events import register_event_handlers
        from sales.orders import register_order_hooks
        from sales.recommendations import recommended_panel
        from sales.roles import GRANTS
        from sales.roles_forecast import GRANTS as FORECAST_GRANTS
        from sales.roles_quotes import GRANTS as QUOTE_GRANTS
        from sales.selectors_orders import open_opportunities_panel
        from sales.services import ensure_default_pipeline, register_references

        declare(GRANTS)
        declare(QUOTE_GRANTS)
        declare(FORECAST_GRANTS)
        register_order_hooks()
        register_event_handlers()
        register_references()
        post_migrate.connect(ensure_default_pipeline, sender=self, dispatch_uid="sales_default_pipeline")
        panels.register(
            panels.Panel(
                key="open_opportunities",
                title="Open opportunities",
                loader=open_opportunities_panel,
                template="sales/_panel_opportunities.html",
                permission="sales.view_opportunity",
                order=40,
            )
        )
        panels.register(
            panels.Panel(
                key="recommended_products",
                title="Recommended products",
                loader=recommended_panel,
                template="sales/forecast/_panel_recommendations.html",
                permission="sales.view_productaffinity",
                order=45,
            )
        )
