"""What each role may do with marketing; listed in hooks.py."""

from __future__ import annotations

from frontoffice.roles import Role

VIEW = [
    "marketing.view_segment",
    "marketing.view_campaign",
    "marketing.view_campaignmember",
    "marketing.view_leadform",
    "marketing.view_scoringrule",
    "marketing.view_leadscore",
]
WORK = [
    "marketing.add_segment",
    "marketing.change_segment",
    "marketing.add_campaign",
    "marketing.change_campaign",
    "marketing.launch_campaign",
    "marketing.add_leadform",
    "marketing.change_leadform",
    "marketing.add_emailbounce",
    "marketing.export_customers",
]
CONFIGURE = [
    "marketing.add_scoringrule",
    "marketing.change_scoringrule",
    "marketing.change_routingsettings",
    "marketing.view_routingsettings",
]

GRANTS = {
    Role.MARKETING: [*VIEW, *WORK],
    # Sales sees where its leads came from and what campaigns earned.
    Role.SALES: ["marketing.view_campaign", "marketing.view_leadscore"],
    Role.SALES_MANAGER: ["marketing.view_campaign", "marketing.view_segment", "marketing.view_leadscore"],
    Role.ADMIN: [
        *VIEW,
        *WORK,
        *CONFIGURE,
        "marketing.delete_segment",
        "marketing.delete_campaign",
        "marketing.delete_scoringrule",
    ],
}
