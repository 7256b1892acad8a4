"""How a customer merge re-points marketing's rows (MergeReference.repoint): where a row
is unique per customer, the survivor's own row wins and the duplicate's is dropped."""

from __future__ import annotations

from typing import Any

from marketing.models import CampaignMember, LeadScore


def repoint_members(survivor: Any, duplicate: Any) -> int:
    """The duplicate's memberships move, except in campaigns the survivor is a member of
    already (one copy per recipient: the survivor's membership stands)."""
    shared = CampaignMember.objects.filter(customer=survivor).values("campaign_id")
    CampaignMember.objects.filter(customer=duplicate, campaign_id__in=shared).delete()
    return CampaignMember.objects.filter(customer=duplicate).update(customer=survivor)


def repoint_score(survivor: Any, duplicate: Any) -> int:
    """The duplicate's score is dropped; the survivor's is recomputed on its next event."""
    LeadScore.objects.filter(customer=duplicate).delete()
    return 0
