"""How marketing plugs into the project (read by `frontoffice.plugin`), as
docs/adding_an_app.md describes: its folder, its templates and the installed-apps line."""

from __future__ import annotations

from django.urls import reverse

from customers.events import MessageBounced, ProfileChanged
from frontoffice.plugin import (
    ApiRoute,
    AppHooks,
    DemoStep,
    MergeReference,
    NavItem,
    PeriodicTask,
    Phase,
    Subscription,
    TimelineKind,
    TimelineTone,
)
from frontoffice.write_path import as_id
from marketing.api import CampaignViewSet, SegmentViewSet
from marketing.api_capture import (
    AttributionViewSet,
    BounceViewSet,
    LeadFormViewSet,
    RoutingSettingsViewSet,
    ScoringRuleViewSet,
)
from marketing.campaigns.responses import MemberActivity, on_message_bounced
from marketing.capture.scoring import ensure_routing_settings, on_profile_changed
from marketing.demo import seed_marketing
from marketing.merge import repoint_members, repoint_score
from marketing.roles import GRANTS


def _campaign_link(ref_id: str) -> str | None:
    campaign_id = as_id(ref_id)
    return reverse("marketing:campaign_detail", args=[campaign_id]) if campaign_id is not None else None


def _kind(code: str, label: str, icon: str, tone: TimelineTone = TimelineTone.INFO) -> TimelineKind:
    return TimelineKind(
        code,
        label,
        icon,
        tone,
        ref_type="marketing.campaign",
        link=_campaign_link,
        link_permission="marketing.view_campaign",
    )


HOOKS = AppHooks(
    roles=GRANTS,
    urls="marketing.urls",
    url_prefix="marketing/",
    api_routes=[
        ApiRoute("marketing/segments", SegmentViewSet, "marketing-segment"),
        ApiRoute("marketing/campaigns", CampaignViewSet, "marketing-campaign"),
        ApiRoute("marketing/leads/forms", LeadFormViewSet, "marketing-lead-form"),
        ApiRoute("marketing/scoring-rules", ScoringRuleViewSet, "marketing-scoring-rule"),
        ApiRoute("marketing/routing", RoutingSettingsViewSet, "marketing-routing"),
        ApiRoute("marketing/attribution", AttributionViewSet, "marketing-attribution"),
        ApiRoute("marketing/bounces", BounceViewSet, "marketing-bounce"),
    ],
    navigation=[
        NavItem("Campaigns", "marketing:campaign_list", "marketing.view_campaign", order=40),
        NavItem("Segments", "marketing:segment_list", "marketing.view_segment", order=41),
        NavItem("Lead scoring", "marketing:scoring", "marketing.view_scoringrule", order=42),
    ],
    timeline_kinds=[
        _kind(MemberActivity.OPENED, "Campaign e-mail opened", "◉"),
        _kind(MemberActivity.CLICKED, "Campaign link clicked", "↗", TimelineTone.SUCCESS),
        _kind(MemberActivity.RESPONDED, "Campaign response", "✍", TimelineTone.SUCCESS),
        _kind(MemberActivity.CONVERTED, "Campaign conversion", "★", TimelineTone.SUCCESS),
        _kind(MemberActivity.UNSUBSCRIBED, "Unsubscribed", "⊘", TimelineTone.WARNING),
        _kind(MemberActivity.BOUNCED, "E-mail bounced", "⚠", TimelineTone.DANGER),
    ],
    merge_references=[
        MergeReference("marketing.CampaignMember", "customer", "Campaign memberships", repoint_members),
        MergeReference("marketing.EmailBounce", "customer", "E-mail bounces"),
        MergeReference("marketing.FormSubmission", "customer", "Lead form submissions"),
        MergeReference("marketing.LeadScore", "customer", "Lead score", repoint_score),
    ],
    periodic_tasks=[
        PeriodicTask("marketing-campaigns-due", "marketing.campaigns_due", 60.0),
        PeriodicTask("marketing-conversions", "marketing.conversions_sweep", 300.0),
        # Stored lead scores a day old are recomputed: behaviour points decay with time.
        PeriodicTask("marketing-lead-scores", "marketing.lead_scores_due", 3600.0),
    ],
    # A profile change recomputes the customer's lead score (profile rules), after commit.
    # A campaign e-mail bounced in the outbound room marks its member, in the same transaction.
    subscriptions=[
        Subscription(ProfileChanged, on_profile_changed, Phase.AFTER_COMMIT),
        Subscription(MessageBounced, on_message_bounced, Phase.IN_TRANSACTION),
    ],
    demo_steps=[DemoStep("marketing", 50, seed_marketing)],
    post_migrate=[ensure_routing_settings],
    api_enums={
        "CampaignChannelEnum": "marketing.choices.CampaignChannel",
        "CampaignStatusEnum": "marketing.choices.CampaignStatus",
        "MemberStatusEnum": "marketing.choices.MemberStatus",
        "ScoringKindEnum": "marketing.choices.ScoringKind",
        "ScoringEventEnum": "marketing.choices.ScoringEvent",
        "RoutingMethodEnum": "marketing.choices.RoutingMethod",
    },
)
