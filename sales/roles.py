"""What each role may do with leads, pipelines and opportunities; declared in
`SalesConfig.ready()`. (Quote, order and forecast grants live with those, in their own
declarations.)"""

from __future__ import annotations

from frontoffice.roles import Role

# What a rep does with leads and opportunities; a sales manager does it too.
REP = [
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
GRANTS = {
    # Reps edit their own and their team's records (services.can_edit_*): no change_any_*.
    Role.SALES: REP,
    # Sales managers edit everyone's; pipelines and stages stay configured by Admin.
    Role.SALES_MANAGER: [*REP, "sales.change_any_lead", "sales.change_any_opportunity"],
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
