"""When lead scores are recomputed: on an open or click and on a lead form (events), on
a change of the customer's profile (the hub's ProfileChanged), and by beat for scores a
day old, so that decay lowers a stored score, in bounded batches."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import time_machine
from django.core.cache import cache
from django.utils import timezone

from customers import services as customer_services
from frontoffice import plugin
from frontoffice.actors import MAINTENANCE
from marketing.campaigns.launch import campaign_launch
from marketing.campaigns.responses import TRACKING, member_respond
from marketing.capture.scoring import SCORING, score_recompute, scores_refresh_due, scoring_rule_create
from marketing.capture.services import LEAD_FORMS, form_submit, form_token, lead_form_create
from marketing.choices import MemberStatus
from marketing.models import CampaignMember, LeadScore
from marketing.tasks import lead_scores_due
from marketing.tests.conftest import a_person, written
from marketing.tests.test_campaigns import a_campaign

pytestmark = pytest.mark.django_db

START = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def _fresh_throttle() -> None:
    cache.clear()


def opens_rule(points: int = 40, half_life_days: int = 7) -> None:
    scoring_rule_create(
        actor=MAINTENANCE,
        name="Opens",
        kind="behaviour",
        event="opened",
        points=points,
        half_life_days=half_life_days,
    )


def test_an_open_recomputes_the_stored_score(django_capture_on_commit_callbacks: Any) -> None:
    # given
    opens_rule(points=25)
    ann = a_person("Ann")
    campaign = written(campaign_launch(actor=MAINTENANCE, campaign_id=a_campaign().pk))
    member = CampaignMember.objects.get(campaign=campaign, customer=ann)
    # when
    with django_capture_on_commit_callbacks(execute=True):
        member_respond(actor=TRACKING, member_id=member.pk, status=MemberStatus.OPENED)
    # then
    assert LeadScore.objects.get(customer=ann).score == 25


def test_a_form_recomputes_the_stored_score(django_capture_on_commit_callbacks: Any) -> None:
    # given
    scoring_rule_create(actor=MAINTENANCE, name="Forms", kind="behaviour", event="form_submitted", points=30)
    form = lead_form_create(actor=MAINTENANCE, campaign_id=a_campaign().pk, name="Catalogue")
    # when
    with django_capture_on_commit_callbacks(execute=True):
        submission = form_submit(
            actor=LEAD_FORMS,
            form_key=form.public_key,
            token=form_token(),
            data={"first_name": "Fay", "email": "fay@example.com"},
        )
    # then
    assert LeadScore.objects.get(customer_id=submission.customer_id).score == 30


def test_decay_lowers_a_stored_score_once_beat_recomputes_it() -> None:
    # given: an open worth 40 points, halving every 7 days, scored when it happened
    opens_rule(points=40, half_life_days=7)
    with time_machine.travel(START, tick=False):
        ann = a_person("Ann")
        campaign = written(campaign_launch(actor=MAINTENANCE, campaign_id=a_campaign().pk))
        member = CampaignMember.objects.get(campaign=campaign, customer=ann)
        member_respond(actor=TRACKING, member_id=member.pk, status=MemberStatus.OPENED)
        score_recompute(actor=SCORING, customer_id=ann.pk)
    assert LeadScore.objects.get(customer=ann).score == 40
    # when: two weeks pass and beat runs its task
    with time_machine.travel(START + dt.timedelta(days=14), tick=False):
        refreshed = lead_scores_due.delay().get()
        now = timezone.now()
    # then: a quarter is left
    assert refreshed == 1
    stored = LeadScore.objects.get(customer=ann)
    assert (stored.score, stored.computed_at) == (10, now)


def test_beat_recomputes_only_the_scores_due_a_bounded_batch_at_a_time() -> None:
    # given: three scores computed two days ago, one just now
    opens_rule()
    with time_machine.travel(START, tick=False):
        old = [a_person(f"Old{i}") for i in range(3)]
        for customer in old:
            score_recompute(actor=SCORING, customer_id=customer.pk)
    with time_machine.travel(START + dt.timedelta(days=2), tick=False):
        fresh = a_person("Fresh")
        score_recompute(actor=SCORING, customer_id=fresh.pk)
        # when
        first = scores_refresh_due(actor=SCORING, batch_size=2)
        second = scores_refresh_due(actor=SCORING, batch_size=2)
        third = scores_refresh_due(actor=SCORING, batch_size=2)
        now = timezone.now()
    # then: the oldest two, then the third, then nothing
    assert (first, second, third) == (2, 1, 0)
    assert set(LeadScore.objects.values_list("computed_at", flat=True)) == {now}


def test_beat_has_the_recompute_task() -> None:
    entries = {t.name: t for h in plugin.load() for t in h.hooks.periodic_tasks}
    assert entries["marketing-lead-scores"].task == lead_scores_due.name


def test_a_profile_change_recomputes_the_score(django_capture_on_commit_callbacks: Any) -> None:
    # given: customers score 20 points, and Ann is a prospect with a stored score of 0
    scoring_rule_create(
        actor=MAINTENANCE,
        name="Customers",
        kind="profile",
        points=20,
        criteria={"field": "lifecycle_stage", "op": "eq", "value": "customer"},
    )
    ann = a_person("Ann", lifecycle_stage="prospect")
    score_recompute(actor=SCORING, customer_id=ann.pk)
    assert LeadScore.objects.get(customer=ann).score == 0
    # when: her profile changes through the hub's service
    ann.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=True):
        customer_services.customer_update(
            actor=MAINTENANCE, customer_id=ann.pk, expected_version=ann.version, lifecycle_stage="customer"
        )
    # then
    assert LeadScore.objects.get(customer=ann).score == 20
