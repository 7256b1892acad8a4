"""How marketing plugs into the project (read by `frontoffice.plugin`), as
docs/adding_an_app.md describes: its folder, its templates and the installed-apps line."""

from __future__ import annotations

from frontoffice.plugin import ApiRoute, AppHooks, MergeReference
from marketing.api import CampaignViewSet, SegmentViewSet
from marketing.merge import repoint_members, repoint_score
from marketing.roles import GRANTS

HOOKS = AppHooks(
    roles=GRANTS,
    api_routes=[
        ApiRoute("marketing/segments", SegmentViewSet, "marketing-segment"),
        ApiRoute("marketing/campaigns", CampaignViewSet, "marketing-campaign"),
    ],
    merge_references=[
        MergeReference("marketing.CampaignMember", "customer", "Campaign memberships", repoint_members),
        MergeReference("marketing.EmailBounce", "customer", "E-mail bounces"),
        MergeReference("marketing.FormSubmission", "customer", "Lead form submissions"),
        MergeReference("marketing.LeadScore", "customer", "Lead score", repoint_score),
    ],
    api_enums={
        "CampaignChannelEnum": "marketing.choices.CampaignChannel",
        "CampaignStatusEnum": "marketing.choices.CampaignStatus",
        "MemberStatusEnum": "marketing.choices.MemberStatus",
    },
)
