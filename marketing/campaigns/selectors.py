"""Reads of campaigns: lists, members, and the figures of a campaign's page."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db.models import QuerySet

from marketing.filters import CampaignFilter, MemberFilter
from marketing.models import Campaign, CampaignMember


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
