"""One FilterSet per model, used by the API and the pages alike."""

from __future__ import annotations

import django_filters

from frontoffice.filters import IdFilter
from marketing.choices import CampaignChannel, CampaignStatus, MemberStatus
from marketing.models import Campaign, CampaignMember


class CampaignFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=CampaignStatus.choices)
    channel = django_filters.ChoiceFilter(choices=CampaignChannel.choices)
    segment = IdFilter(field_name="segment_id")
    owner = IdFilter(field_name="owner_id")

    class Meta:
        model = Campaign
        fields = ["status", "channel", "segment", "owner"]


class MemberFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=MemberStatus.choices)
    customer = IdFilter(field_name="customer_id")

    class Meta:
        model = CampaignMember
        fields = ["status", "customer"]
