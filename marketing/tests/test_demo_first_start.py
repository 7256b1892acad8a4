"""The demo as `make run` seeds it on first start: every app's step in order (customers,
sales replayed through the ERP simulator, service, marketing), after which a completed
campaign's funnel and ROI have real figures, on its page too, the webinar has responses,
and nothing is dated after now."""

from __future__ import annotations

import datetime as dt
from io import StringIO
from typing import Any

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from customers.models import Activity
from frontoffice import plugin
from marketing.attribution.selectors import campaign_figures
from marketing.models import Campaign, CampaignMember, FormSubmission
from sales.models import Lead, Opportunity, SalesOrder

pytestmark = [pytest.mark.django_db, pytest.mark.slow]

# A Wednesday: the sales replay is the same for the same seed and day.
TODAY = dt.datetime(2026, 3, 18, 10, 30, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def _debug(settings: Any) -> None:
    settings.DEBUG = True  # the demo seeds refuse to run without it


def test_after_the_whole_demo_the_completed_campaigns_show_funnel_roi_and_responses(
    django_capture_on_commit_callbacks: Any, client: Client, marketer: Any
) -> None:
    # given: every app's demo step, in the order `manage.py demo` runs them
    steps = plugin.demo_steps()
    names = [step.name for step in steps]
    assert names.index("customers") < names.index("sales") < names.index("marketing")
    options = {"customers": 120, "if_empty": True, "stdout": StringIO()}
    with time_machine.travel(TODAY, tick=False):
        # when
        with django_capture_on_commit_callbacks(execute=True):
            for step in steps:
                step.run(options)
        now = timezone.now()
        # then: the completed e-mail campaign has leads, opportunities and orders, an ROI
        # and a cost per lead
        spring = Campaign.objects.get(name="Spring launch", status="completed")
        figures = campaign_figures([spring])[0]
        assert figures.counts["lead"] > 0
        assert figures.counts["opportunity"] > 0
        assert figures.counts["order"] > 0
        assert figures.revenue.last_touch > 0
        assert figures.roi is not None
        assert figures.cost_per_lead is not None
        assert figures.cost_per_lead == (figures.cost / figures.counts["lead"]).quantize(
            figures.cost_per_lead
        )
        # ... and its page shows them
        client.force_login(marketer)
        html = client.get(reverse("marketing:campaign_detail", args=[spring.pk])).content.decode()
        assert f"<dd>{round(figures.roi * 100)} %</dd>" in html
        assert f"<dd>{figures.cost_per_lead} {spring.currency}</dd>" in html
        for label, key in (("Leads", "lead"), ("Opportunities", "opportunity"), ("Orders", "order")):
            assert f"<td>{label}</td><td>{figures.counts[key]}</td>" in html
        # the completed webinar (tracked only) has responses too, before it completed
        webinar = Campaign.objects.get(name="Partner webinar", status="completed")
        responded = CampaignMember.objects.filter(campaign=webinar, responded_at__isnull=False)
        assert responded.exists()
        assert not responded.filter(responded_at__gt=webinar.completed_at).exists()
        webinar_html = client.get(reverse("marketing:campaign_detail", args=[webinar.pk])).content.decode()
        assert '<span class="badge">Responded</span>' in webinar_html
        # nothing is dated after now
        assert FormSubmission.objects.filter(form__campaign=spring).exists()
        assert not Activity.objects.filter(occurred_at__gt=now).exists()
        assert not CampaignMember.objects.filter(opened_at__gt=now).exists()
        assert not CampaignMember.objects.filter(responded_at__gt=now).exists()
        assert not CampaignMember.objects.filter(converted_at__gt=now).exists()
        assert not Campaign.objects.filter(launched_at__gt=now).exists()
        assert not Campaign.objects.filter(completed_at__gt=now).exists()
        assert not Lead.objects.filter(created_at__gt=now).exists()
        assert not Opportunity.objects.filter(created_at__gt=now).exists()
        assert not SalesOrder.objects.filter(created_at__gt=now).exists()
