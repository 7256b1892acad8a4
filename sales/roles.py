"""What each role may do with leads, pipelines and opportunities; declared in
`SalesConfig.ready()`. (Quote grants live with the quotes, in their own declaration.)"""

from __future__ import annotations

from frontoffice.roles import Role

GRANTS = {
    # Reps edit their own and their team's records (services.can_edit_*): no change_any_*.
    Role.SALES: [
        "sales.add_lead",
        "sales.change_lead",
        "sales.view_lead",
        "sales.add_opportunity",
        "sales.change_opportunity",
        "sales.view_opportunity",
        "sales.view_opportunityline",
        "sales.view_pipeline",
        "sales.view_stage",
    ],
    Role.MARKETING: ["sales.add_lead", "sales.view_lead"],
    Role.SERVICE_AGENT: ["sales.view_opportunity", "sales.view_opportunityline"],
    Role.SERVICE_SUPERVISOR: ["sales.view_opportunity", "sales.view_opportunityline"],
    # Admins are the sales managers: they edit everyone's and configure pipelines.
    Role.ADMIN: [
        f"sales.{action}_{model}"
        for model in ("lead", "opportunity", "opportunityline", "pipeline", "stage")
        for action in ("add", "change", "view", "delete")
    ]
    + ["sales.change_any_lead", "sales.change_any_opportunity"],
}
