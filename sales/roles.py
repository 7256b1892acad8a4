"""What each role may do in sales, in one place (read through `sales/hooks.py`).

Reps work on leads, opportunities, quotes and orders they or their team own (the
services apply `can_edit_owned`); sales managers work on everyone's and approve
discounts above the limits; Admins do both and configure pipelines, prices and discount
limits, and publish the forecast; marketing adds leads; service and the back office read.
"""

from __future__ import annotations

from frontoffice.roles import Role, merge_grants

# --- leads, pipelines, opportunities --------------------------------------------------

# What a rep does with leads and opportunities; a sales manager does it too.
PIPELINE_REP = [
    "sales.add_lead",
    "sales.change_lead",
    "sales.view_lead",
    "sales.add_opportunity",
    "sales.change_opportunity",
    "sales.view_opportunity",
    "sales.view_opportunityline",
    "sales.view_pipeline",
    "sales.view_stage",
]
PIPELINE = {
    # Reps edit their own and their team's records: no change_any_*.
    Role.SALES: PIPELINE_REP,
    # Sales managers edit everyone's; pipelines and stages stay configured by Admin.
    Role.SALES_MANAGER: [*PIPELINE_REP, "sales.change_any_lead", "sales.change_any_opportunity"],
    Role.MARKETING: ["sales.add_lead", "sales.view_lead"],
    Role.SERVICE_AGENT: ["sales.view_opportunity", "sales.view_opportunityline"],
    Role.SERVICE_SUPERVISOR: ["sales.view_opportunity", "sales.view_opportunityline"],
    # Admins edit everyone's and configure pipelines.
    Role.ADMIN: [
        f"sales.{action}_{model}"
        for model in ("lead", "opportunity", "opportunityline", "pipeline", "stage")
        for action in ("add", "change", "view", "delete")
    ]
    + ["sales.change_any_lead", "sales.change_any_opportunity"],
}

# --- prices, discount limits, quotes ----------------------------------------------------

VIEW_QUOTES = [
    "sales.view_quote",
    "sales.view_quoteline",
    "sales.view_pricelist",
    "sales.view_pricelistitem",
    "sales.view_discountlimit",
]
WORK_QUOTES = ["sales.add_quote", "sales.change_quote"]
MANAGE_PRICES = [
    "sales.add_pricelist",
    "sales.change_pricelist",
    "sales.delete_pricelist",
    "sales.add_pricelistitem",
    "sales.change_pricelistitem",
    "sales.delete_pricelistitem",
    "sales.add_discountlimit",
    "sales.change_discountlimit",
    "sales.delete_discountlimit",
]
QUOTES = {
    Role.SALES: [*VIEW_QUOTES, *WORK_QUOTES],
    Role.SALES_MANAGER: [*VIEW_QUOTES, *WORK_QUOTES, "sales.approve_quote", "sales.change_any_quote"],
    Role.BACK_OFFICE: ["sales.view_quote", "sales.view_quoteline"],
    Role.ADMIN: [
        *VIEW_QUOTES,
        *WORK_QUOTES,
        *MANAGE_PRICES,
        "sales.approve_quote",
        "sales.change_any_quote",
    ],
}

# --- orders -------------------------------------------------------------------------------

# Reps accept quotes and cancel orders of opportunities they or their team own; sales
# managers and Admins (`sales.change_any_quote`) do it for anyone's.
VIEW_ORDERS = ["sales.view_salesorder", "sales.view_salesorderline"]
WORK_ORDERS = ["sales.add_salesorder", "sales.change_salesorder"]
ORDERS = {
    Role.SALES: [*VIEW_ORDERS, *WORK_ORDERS],
    Role.SALES_MANAGER: [*VIEW_ORDERS, *WORK_ORDERS],
    Role.BACK_OFFICE: VIEW_ORDERS,
    Role.SERVICE_AGENT: VIEW_ORDERS,
    Role.SERVICE_SUPERVISOR: VIEW_ORDERS,
    Role.ADMIN: [*VIEW_ORDERS, *WORK_ORDERS],
}

# --- forecast and recommendations -------------------------------------------------------

# Sales, sales managers and Admin read; Admin publishes.
READ_FORECAST = ["sales.view_forecastsnapshot", "sales.view_productaffinity"]
FORECAST = {
    Role.SALES: READ_FORECAST,
    Role.SALES_MANAGER: READ_FORECAST,
    Role.ADMIN: [*READ_FORECAST, "sales.add_forecastsnapshot"],
}

GRANTS = merge_grants(PIPELINE, QUOTES, ORDERS, FORECAST)
