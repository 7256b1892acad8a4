"""A campaign's content previewed for a sample customer (its first member, else the first
customer of its segment)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError

from customers.models import ContactPoint
from marketing.campaigns.content import context_for, render
from marketing.models import Campaign, CampaignMember
from marketing.segments.selectors import segment_customers


def campaign_preview(
    *, campaign: Campaign, request: Any = None, customer_id: int | None = None
) -> dict[str, Any]:
    """{"customer", "subject", "body"} for a sample customer, or {} without one (4 queries)."""
    member = (
        CampaignMember.objects.filter(campaign=campaign).select_related("customer").order_by("id").first()
    )
    customer = member.customer if member else None
    if customer is None and campaign.segment is not None:
        try:
            customer = segment_customers(rules=campaign.segment.rules).order_by("display_name", "id").first()
        except ValidationError:  # rules gone bad since (a removed attribute): no sample
            customer = None
    if customer is None:
        return {}
    email = (
        member.email
        if member
        else (
            ContactPoint.objects.filter(customer=customer, kind="email")
            .order_by("-is_primary", "id")
            .values_list("value", flat=True)
            .first()
            or ""
        )
    )
    context = context_for(customer, email=email, unsubscribe_url="(unsubscribe link)")
    return {
        "customer": customer,
        "subject": render(campaign.subject_template, context),
        "body": render(campaign.body_template, context),
    }
