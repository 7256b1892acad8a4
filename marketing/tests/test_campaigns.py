"""Campaigns: configuration, the states and their transitions, and the launch snapshot
with its exclusions (consent, unsubscribed, bounced, merged, frequency cap)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from customers.models import ContactPoint, Customer
from frontoffice.actors import MAINTENANCE
from marketing.campaigns.launch import campaign_launch
from marketing.campaigns.selectors import audience_customer_ids
from marketing.campaigns.sending import write_members
from marketing.campaigns.services import (
    BadTransition,
    campaign_cancel,
    campaign_complete,
    campaign_create,
    campaign_schedule,
    campaign_update,
)
from marketing.choices import CampaignStatus, ExclusionReason, MemberStatus
from marketing.models import Campaign, CampaignAudience, CampaignMember, EmailBounce
from marketing.segments.services import segment_create
from marketing.tests.conftest import a_person

pytestmark = pytest.mark.django_db

EVERYONE = {"field": "kind", "op": "eq", "value": "person"}


def a_campaign(actor: Any = MAINTENANCE, rules: Any = None, **fields: Any) -> Campaign:
    segment = segment_create(actor=actor, name=f"S{Campaign.objects.count()}", rules=rules or EVERYONE)
    defaults = {
        "segment": segment.pk,
        "subject_template": "Hello {{ first_name }}",
        "body_template": "Dear {{ display_name }}, see {{ unsubscribe_url }}",
    }
    return campaign_create(actor=actor, name=f"Campaign {Campaign.objects.count()}", **{**defaults, **fields})


def launch(campaign: Campaign, actor: Any = MAINTENANCE) -> Campaign:
    return campaign_launch(actor=actor, campaign_id=campaign.pk)


def members(campaign: Campaign) -> set[str]:
    """Who the launch took: the members written so far and the snapshot's other ids."""
    ids = audience_customer_ids(campaign=campaign)
    return set(Customer.objects.filter(pk__in=ids).values_list("first_name", flat=True))


def test_a_marketer_configures_a_draft(marketer) -> None:
    campaign = a_campaign(marketer, budget="1200.50", currency="GBP", cap_messages=2, cap_days=14)
    assert campaign.status == CampaignStatus.DRAFT
    assert campaign.owner == marketer
    assert str(campaign.budget) == "1200.50"
    changed = campaign_update(actor=marketer, campaign_id=campaign.pk, expected_version=1, name="Spring sale")
    assert (changed.name, changed.version) == ("Spring sale", 2)


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"name": ""}, "name"),
        ({"channel": "fax"}, "channel"),
        ({"budget": "-1"}, "budget"),
        ({"currency": "eur"}, "currency"),
        ({"segment": 999999}, "segment"),
        ({"owner": 999999}, "owner"),
        ({"subject_template": "Hi {{ shoe_size }}"}, "subject_template"),
        ({"cap_messages": -1}, "cap_messages"),
        ({"cap_days": 0}, "cap_days"),
        (
            {"starts_at": timezone.now(), "ends_at": timezone.now() - dt.timedelta(days=1)},
            "ends_at",
        ),
    ],
)
def test_bad_configuration_is_refused_and_nothing_is_written(marketer, fields, field) -> None:
    with pytest.raises(ValidationError) as caught:
        campaign_create(actor=marketer, **{"name": "X", **fields})
    assert field in caught.value.message_dict
    assert not Campaign.objects.exists()


def test_who_may_do_what(sales_rep, marketer) -> None:
    with pytest.raises(PermissionDenied):
        campaign_create(actor=sales_rep, name="Mine")
    campaign = a_campaign(marketer)
    with pytest.raises(PermissionDenied):
        campaign_launch(actor=sales_rep, campaign_id=campaign.pk)


def test_the_states_move_only_along_the_allowed_transitions(marketer) -> None:
    campaign = a_campaign(marketer)
    with pytest.raises(BadTransition):
        campaign_complete(actor=marketer, campaign_id=campaign.pk)
    scheduled = campaign_schedule(
        actor=marketer, campaign_id=campaign.pk, starts_at=timezone.now() + dt.timedelta(hours=1)
    )
    assert scheduled.status == CampaignStatus.SCHEDULED
    running = launch(scheduled, marketer)
    assert running.status == CampaignStatus.RUNNING
    with pytest.raises(BadTransition):
        campaign_schedule(actor=marketer, campaign_id=campaign.pk)
    done = campaign_complete(actor=marketer, campaign_id=campaign.pk)
    assert done.status == CampaignStatus.COMPLETED
    for move in (campaign_cancel, campaign_complete):
        with pytest.raises(BadTransition):
            move(actor=marketer, campaign_id=campaign.pk)
    with pytest.raises(BadTransition):
        launch(done, marketer)


def test_scheduling_needs_a_time_to_come_and_content(marketer) -> None:
    campaign = a_campaign(marketer)
    with pytest.raises(ValidationError) as caught:
        campaign_schedule(
            actor=marketer, campaign_id=campaign.pk, starts_at=timezone.now() - dt.timedelta(hours=1)
        )
    assert "starts_at" in caught.value.message_dict
    empty = campaign_create(actor=marketer, name="Empty")
    with pytest.raises(ValidationError) as caught:
        launch(empty, marketer)
    assert {"segment", "subject_template", "body_template"} <= set(caught.value.message_dict)
    assert Campaign.objects.get(pk=empty.pk).status == CampaignStatus.DRAFT


def test_a_running_campaign_cannot_be_reconfigured(marketer) -> None:
    from frontoffice.errors import Conflict

    campaign = launch(a_campaign(marketer), marketer)
    with pytest.raises(Conflict):
        campaign_update(actor=marketer, campaign_id=campaign.pk, expected_version=None, name="Late")


def test_launch_snapshots_the_audience_and_counts_each_exclusion() -> None:
    # given one customer per reason, and two who get the campaign
    a_person("Ok1")
    a_person("Ok2")
    a_person("Never", consent=None)
    a_person("Withdrew", consent=False)
    a_person("Nomail", email=None, consent=None)
    bounced = a_person("Bounced")
    EmailBounce.objects.create(email="bounced.test@example.com", customer=bounced, occurred_at=timezone.now())
    survivor = a_person("Survivor")
    merged = a_person("Merged")
    Customer.objects.filter(pk=merged.pk).update(merged_into=survivor)
    campaign = a_campaign()
    # when
    launched = launch(campaign)
    # then
    assert members(launched) == {"Ok1", "Ok2", "Survivor"}
    assert launched.exclusions == {
        ExclusionReason.NO_CONSENT: 1,
        ExclusionReason.UNSUBSCRIBED: 1,
        ExclusionReason.NO_EMAIL: 1,
        ExclusionReason.BOUNCED: 1,
        ExclusionReason.MERGED: 1,
    }
    # the launch wrote no member: the sending writes them from the snapshot, pending
    assert not CampaignMember.objects.exists()
    with transaction.atomic():
        assert write_members(launched, limit=10) == 3
    assert set(CampaignMember.objects.values_list("status", flat=True)) == {MemberStatus.PENDING}
    assert CampaignMember.objects.get(customer__first_name="Ok1").email == "ok1.test@example.com"
    assert members(launched) == {"Ok1", "Ok2", "Survivor"}


def test_an_address_not_marked_primary_is_still_an_address() -> None:
    # given a customer whose only e-mail address is not the primary one, and one with none
    other = a_person("Other", email=None)
    ContactPoint.objects.create(customer=other, kind="email", value="other@example.com", is_primary=False)
    a_person("Nomail", email=None)
    # when
    launched = launch(a_campaign())
    # then only the one with no address at all is left out
    assert members(launched) == {"Other"}
    assert launched.exclusions == {ExclusionReason.NO_EMAIL: 1}


def test_the_snapshot_does_not_follow_the_segment_afterwards() -> None:
    a_person("Early")
    campaign = launch(a_campaign())
    a_person("Late")
    assert members(campaign) == {"Early"}


def test_the_frequency_cap_counts_e_mails_across_campaigns() -> None:
    # given a cap of 2 e-mails in 7 days; Busy got 2 this week, Calm got 2 long ago
    busy, calm = a_person("Busy"), a_person("Calm")
    now = timezone.now()
    for n, sent in enumerate([now - dt.timedelta(days=1), now - dt.timedelta(days=2)]):
        old = Campaign.objects.create(name=f"Old {n}", status=CampaignStatus.COMPLETED)
        CampaignMember.objects.create(campaign=old, customer=busy, status=MemberStatus.SENT, sent_at=sent)
        CampaignMember.objects.create(
            campaign=old, customer=calm, status=MemberStatus.SENT, sent_at=now - dt.timedelta(days=30)
        )
    # when
    campaign = launch(a_campaign(cap_messages=2, cap_days=7))
    # then
    assert members(campaign) == {"Calm"}
    assert campaign.exclusions == {ExclusionReason.FREQUENCY_CAP: 1}
    # and no cap (0) lets everyone through
    assert members(launch(a_campaign(cap_messages=0))) == {"Busy", "Calm"}


def test_the_frequency_cap_counts_snapshots_not_yet_written() -> None:
    # given two running campaigns whose snapshots hold Ann, not yet sent nor written
    ann = a_person("Ann")
    first = launch(a_campaign(cap_messages=0))
    second = launch(a_campaign(cap_messages=0))
    assert not CampaignMember.objects.exists()
    # when a campaign capped at 2 e-mails a week is launched
    capped = launch(a_campaign(cap_messages=2, cap_days=7))
    # then Ann is left out: two e-mails are on their way to her
    assert members(capped) == set()
    assert capped.exclusions == {ExclusionReason.FREQUENCY_CAP: 1}
    # and once one snapshot is written and the other campaign cancelled, one remains
    with transaction.atomic():
        write_members(first, limit=10)
    campaign_cancel(actor=MAINTENANCE, campaign_id=second.pk)
    assert CampaignMember.objects.get().customer == ann
    assert members(launch(a_campaign(cap_messages=2, cap_days=7))) == {"Ann"}


def test_the_frequency_cap_counts_no_tracked_only_membership_as_an_e_mail() -> None:
    # given Guest is in two events and a paid campaign this week (nothing was e-mailed),
    # and Busy got two e-mails
    guest, busy = a_person("Guest"), a_person("Busy")
    now = timezone.now()
    for channel in ("event", "event", "paid", "email", "email"):
        old = Campaign.objects.create(name=f"Old {channel}", channel=channel, status=CampaignStatus.COMPLETED)
        who = busy if channel == "email" else guest
        CampaignMember.objects.create(
            campaign=old, customer=who, status=MemberStatus.SENT, sent_at=now - dt.timedelta(days=1)
        )
    # when an e-mail campaign capped at 2 e-mails a week is launched
    campaign = launch(a_campaign(cap_messages=2, cap_days=7))
    # then only the one who got e-mails is over the cap
    assert members(campaign) == {"Guest"}
    assert campaign.exclusions == {ExclusionReason.FREQUENCY_CAP: 1}


def test_a_campaign_whose_end_has_passed_is_not_launched() -> None:
    # given a campaign that started last week and ended yesterday
    now = timezone.now()
    campaign = a_campaign()
    Campaign.objects.filter(pk=campaign.pk).update(
        starts_at=now - dt.timedelta(days=7), ends_at=now - dt.timedelta(days=1)
    )
    # when it is launched, then it is refused and nothing is written
    with pytest.raises(ValidationError) as refused:
        launch(campaign)
    assert "ends_at" in refused.value.message_dict
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.DRAFT
    assert not CampaignAudience.objects.filter(campaign=campaign).exists()


def test_a_tracked_only_channel_takes_every_live_customer_of_the_segment() -> None:
    a_person("Mailable")
    a_person("Nomail", email=None, consent=None)
    campaign = launch(a_campaign(channel="event", subject_template="", body_template=""))
    assert members(campaign) == {"Mailable", "Nomail"}
    assert campaign.exclusions == {}


def test_launch_runs_in_a_fixed_number_of_queries(django_assert_max_num_queries) -> None:
    campaign = a_campaign(rules={"all": [EVERYONE, {"field": "tag", "op": "has_not", "value": "x"}]})
    for i in range(40):
        a_person(f"P{i}", consent=[True, False, None][i % 3])
    with django_assert_max_num_queries(12):
        launch(campaign)
    assert len(audience_customer_ids(campaign=campaign)) == 14


def test_beat_launches_due_scheduled_campaigns_and_completes_ended_ones(marketer) -> None:
    import time_machine

    from marketing.tasks import campaigns_due

    a_person("Ann")
    start = timezone.now() + dt.timedelta(hours=1)
    campaign = campaign_schedule(
        actor=marketer,
        campaign_id=a_campaign(marketer, ends_at=start + dt.timedelta(days=1)).pk,
        starts_at=start,
    )
    assert campaigns_due() == 0
    with time_machine.travel(start + dt.timedelta(minutes=1)):
        assert campaigns_due() == 1
    assert Campaign.objects.get(pk=campaign.pk).status == CampaignStatus.RUNNING
    assert members(campaign) == {"Ann"}
    with time_machine.travel(start + dt.timedelta(days=2)):
        assert campaigns_due() == 1
    assert Campaign.objects.get(pk=campaign.pk).status == CampaignStatus.COMPLETED


def test_beat_handles_each_due_campaign_on_its_own(marketer, client) -> None:
    import time_machine
    from django.urls import reverse

    from marketing.tasks import campaigns_due

    # given, due at the same minute: one emptied since it was scheduled, one whose end
    # will have passed, one good; and a running campaign whose end has come
    a_person("Ann")
    start = timezone.now() + dt.timedelta(hours=1)

    def scheduled(**fields: Any) -> Campaign:
        return campaign_schedule(
            actor=marketer, campaign_id=a_campaign(marketer, **fields).pk, starts_at=start
        )

    emptied = scheduled()
    Campaign.objects.filter(pk=emptied.pk).update(body_template="")  # e.g. an import or an admin
    too_late = scheduled(ends_at=start + dt.timedelta(minutes=30))
    good = scheduled()
    running = launch(a_campaign(marketer, ends_at=start), marketer)
    # when beat runs after all of them were due
    with time_machine.travel(start + dt.timedelta(hours=1)):
        moved = campaigns_due()
    # then the good one runs, the ended one is completed, the others are back to draft
    assert moved == 2
    state = {c.pk: c for c in Campaign.objects.all()}
    assert state[good.pk].status == CampaignStatus.RUNNING
    assert state[running.pk].status == CampaignStatus.COMPLETED
    assert (state[emptied.pk].status, state[too_late.pk].status) == (
        CampaignStatus.DRAFT,
        CampaignStatus.DRAFT,
    )
    assert "Body template: An e-mail campaign needs a body." in state[emptied.pk].launch_problem
    assert (
        "Ends at: The campaign's end passed before it could be launched." in state[too_late.pk].launch_problem
    )
    assert state[good.pk].launch_problem == ""
    assert members(state[good.pk]) == {"Ann"}
    # the reason shows on the page and in the API
    client.force_login(marketer)
    html = client.get(reverse("marketing:campaign_detail", args=[emptied.pk])).content.decode()
    assert 'id="launch-problem"' in html
    assert "An e-mail campaign needs a body." in html
    api = client.get(f"/api/v1/marketing/campaigns/{too_late.pk}/").json()
    assert api["status"] == "draft"
    assert "end passed" in api["launch_problem"]
    # a later run finds nothing more to do; scheduling again clears the problem
    with time_machine.travel(start + dt.timedelta(hours=1, minutes=1)):
        assert campaigns_due() == 0
    campaign_update(
        actor=marketer,
        campaign_id=emptied.pk,
        expected_version=None,
        body_template="Back {{ unsubscribe_url }}",
    )
    again = campaign_schedule(
        actor=marketer, campaign_id=emptied.pk, starts_at=timezone.now() + dt.timedelta(hours=3)
    )
    assert (again.status, again.launch_problem) == (CampaignStatus.SCHEDULED, "")


def test_a_launch_by_hand_clears_the_problem_beat_left_on_the_campaign() -> None:
    a_person("Ann")
    campaign = a_campaign()
    Campaign.objects.filter(pk=campaign.pk).update(launch_problem="Conflict: the segment was being edited.")
    assert launch(campaign).launch_problem == ""
    campaign.refresh_from_db()
    assert (campaign.status, campaign.launch_problem) == (CampaignStatus.RUNNING, "")


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"body_template": ""}, "body_template"),
        ({"subject_template": ""}, "subject_template"),
        ({"segment": None}, "segment"),
        ({"starts_at": None}, "starts_at"),
    ],
)
def test_a_scheduled_campaign_cannot_be_emptied(marketer, fields, field) -> None:
    campaign = campaign_schedule(
        actor=marketer, campaign_id=a_campaign(marketer).pk, starts_at=timezone.now() + dt.timedelta(hours=1)
    )
    with pytest.raises(ValidationError) as caught:
        campaign_update(actor=marketer, campaign_id=campaign.pk, expected_version=campaign.version, **fields)
    assert field in caught.value.message_dict
    kept = Campaign.objects.get(pk=campaign.pk)
    assert (kept.status, kept.version, kept.body_template != "") == (
        CampaignStatus.SCHEDULED,
        campaign.version,
        True,
    )
    # a draft may be emptied while it is being written
    draft = a_campaign(marketer)
    assert (
        campaign_update(actor=marketer, campaign_id=draft.pk, expected_version=None, **fields).status
        == "draft"
    )


def _unschedule(**kwargs: Any) -> Campaign:
    from marketing.campaigns.services import campaign_unschedule

    return campaign_unschedule(**kwargs)


# The service that moves a campaign to each state.
MOVES = {
    CampaignStatus.DRAFT: _unschedule,
    CampaignStatus.SCHEDULED: campaign_schedule,
    CampaignStatus.RUNNING: campaign_launch,
    CampaignStatus.COMPLETED: campaign_complete,
    CampaignStatus.CANCELLED: campaign_cancel,
}


@pytest.mark.parametrize(
    ("source", "target"),
    [(s, t) for s in CampaignStatus.values for t in CampaignStatus.values],
)
def test_every_transition_is_allowed_exactly_as_the_table_says(marketer, source, target) -> None:
    from marketing.choices import TRANSITIONS

    # given a launchable campaign (a start to come) put in `source`
    campaign = a_campaign(marketer, starts_at=timezone.now() + dt.timedelta(hours=1))
    Campaign.objects.filter(pk=campaign.pk).update(status=source)
    move = MOVES[CampaignStatus(target)]
    if target in TRANSITIONS[source]:
        moved = move(actor=marketer, campaign_id=campaign.pk, expected_version=campaign.version)
        assert moved.status == target
        assert Campaign.objects.get(pk=campaign.pk).status == target
        assert moved.version == campaign.version + 1
    else:
        with pytest.raises(BadTransition):
            move(actor=marketer, campaign_id=campaign.pk, expected_version=campaign.version)
        assert Campaign.objects.get(pk=campaign.pk).status == source
    # the table itself: nothing leaves a completed or cancelled campaign
    assert TRANSITIONS[CampaignStatus.COMPLETED] == TRANSITIONS[CampaignStatus.CANCELLED] == ()
