"""Reads of campaigns: lists, members, and the figures of a campaign's page."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db.models import QuerySet

from marketing.choices import MemberStatus
from marketing.filters import CampaignFilter, MemberFilter
from marketing.models import Campaign, CampaignAudience, CampaignMember


def campaign_base() -> QuerySet[Campaign]:
    return Campaign.objects.select_related("owner", "segment")


def campaign_list(*, filters: Mapping[str, Any] | None = None, actor: Any = None) -> QuerySet[Campaign]:
    """Campaigns, filtered (one query per page)."""
    campaigns: QuerySet[Campaign] = CampaignFilter(filters or {}, queryset=campaign_base()).qs
    return campaigns


def member_list(*, campaign: Campaign, filters: Mapping[str, Any] | None = None) -> QuerySet[CampaignMember]:
    """A campaign's members, filtered, with their customer's name (one query per page)."""
    members = CampaignMember.objects.filter(campaign=campaign).select_related("customer")
    filtered: QuerySet[CampaignMember] = MemberFilter(filters or {}, queryset=members).qs
    return filtered


def unwritten_ids(*, campaign: Campaign) -> list[int]:
    """The customers of the campaign's snapshot not yet written as members (the sending
    writes them batch by batch; a cancelled or completed campaign writes no more)."""
    audience = CampaignAudience.objects.filter(campaign=campaign).first()
    return [] if audience is None else audience.customer_ids[audience.written : audience.total]


def audience_customer_ids(*, campaign: Campaign) -> set[int]:
    """Everyone the launch took: the members and the snapshot's ids not yet written."""
    written = set(CampaignMember.objects.filter(campaign=campaign).values_list("customer_id", flat=True))
    return written | set(unwritten_ids(campaign=campaign))


def still_to_send(*, campaign: Campaign) -> int:
    """Members pending and snapshot ids not yet written (one query each)."""
    audience = CampaignAudience.objects.filter(campaign=campaign).defer("customer_ids").first()
    pending = CampaignMember.objects.filter(campaign=campaign, status=MemberStatus.PENDING).count()
    return pending + (audience.unwritten if audience is not None else 0)
