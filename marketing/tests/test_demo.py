"""The marketing demo step: campaigns in every state through the services, responses on
the members, nothing dated after now, and a second run adds nothing."""

from __future__ import annotations

import io

import pytest
from django.utils import timezone

from customers.models import Activity
from marketing.demo import seed_marketing
from marketing.models import Campaign, CampaignMember, FormSubmission
from marketing.tests.conftest import a_person

pytestmark = pytest.mark.django_db


def test_the_demo_seeds_campaigns_in_every_state_and_nothing_in_the_future() -> None:
    for i in range(30):
        a_person(f"D{i}", consent=None)
    options = {"customers": 30, "stdout": io.StringIO(), "if_empty": True}
    summary = seed_marketing(options)
    assert "4 campaigns" in summary
    assert sorted(Campaign.objects.values_list("status", flat=True)) == [
        "completed",
        "completed",
        "draft",
        "running",
    ]
    spring = Campaign.objects.get(name="Spring launch")
    members = CampaignMember.objects.filter(campaign=spring)
    assert members.filter(opened_at__isnull=False).exists()
    assert members.filter(clicked_at__isnull=False).exists()
    assert FormSubmission.objects.filter(form__campaign=spring).count() == 5
    webinar = Campaign.objects.get(name="Partner webinar")
    assert CampaignMember.objects.filter(campaign=webinar, responded_at__lte=webinar.completed_at).exists()
    now = timezone.now()
    assert not Campaign.objects.filter(launched_at__gt=now).exists()
    assert not CampaignMember.objects.filter(opened_at__gt=now).exists()
    assert not Activity.objects.filter(occurred_at__gt=now).exists()
    assert seed_marketing(options) == "marketing: already there"
    assert Campaign.objects.count() == 4
