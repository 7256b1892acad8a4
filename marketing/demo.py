"""Marketing's demo data (`make run`): segments, campaigns and their responses, played
through the services on a clock moved back in time (time-machine, as the sales demo
does), so that the funnel and ROI pages show real figures and nothing is dated after now.

- Consent: customers who ordered in the last weeks (and some others) signed up for the
  newsletter two months ago; a few withdrew.
- "Spring launch" (e-mail, completed): launched seven weeks ago to the newsletter
  subscribers; members opened and clicked over the next days, some answered its lead
  form (leads for sales), the opportunities of members who then bought are attributed
  to it (their orders are its revenue); completed three weeks ago.
- "Partner webinar" (event, tracked only, completed the next day; a third of those
  invited attended, recorded as responses), "Winter offers" (e-mail,
  running since three days, a few opens) and "Summer preview" (a draft).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import time_machine
from django.db import transaction
from django.utils import timezone

from customers.consent import consent_record
from customers.models import ConsentEvent, ContactPoint, Customer
from frontoffice.actors import DEMO_SEED
from marketing.campaigns.launch import campaign_launch
from marketing.campaigns.responses import TRACKING, member_respond
from marketing.campaigns.sending import write_members
from marketing.campaigns.services import campaign_complete, campaign_create
from marketing.capture.services import LEAD_FORMS, form_submit, form_token, lead_form_create
from marketing.choices import MemberStatus
from marketing.models import Campaign, CampaignAudience, CampaignMember
from marketing.segments.services import segment_create
from sales.models import Opportunity, SalesOrder
from sales.pipeline.services import opportunity_update

SUBSCRIBERS = {"field": "consent.email.marketing", "op": "eq", "value": "granted"}


def _at(moment: dt.datetime) -> Any:
    return time_machine.travel(moment, tick=False)


def seed_marketing(options: Mapping[str, Any]) -> str:
    if Campaign.objects.exists():
        return "marketing: already there"
    now = timezone.now()
    emails = set(ContactPoint.objects.filter(kind="email").values_list("customer_id", flat=True))
    recent_buyers = [
        pk
        for pk in SalesOrder.objects.filter(created_at__gte=now - dt.timedelta(days=40))
        .order_by("customer_id")
        .values_list("customer_id", flat=True)
        .distinct()
        if pk in emails
    ][:15]
    others = list(
        Customer.objects.filter(merged_into__isnull=True, pk__in=emails)
        .exclude(pk__in=recent_buyers)
        .order_by("id")
        .values_list("pk", flat=True)[:60]
    )
    already = set(
        ConsentEvent.objects.filter(channel="email", purpose="marketing").values_list(
            "customer_id", flat=True
        )
    )
    with _at(now - dt.timedelta(days=60)):
        for index, pk in enumerate(recent_buyers + others):
            if pk in already:
                continue
            consent_record(
                actor=DEMO_SEED,
                customer_id=pk,
                channel="email",
                purpose="marketing",
                granted=index % 12 != 11,
                source="Newsletter sign-up (demo)",
            )
        subscribers = segment_create(
            actor=DEMO_SEED,
            name="Newsletter subscribers",
            rules=SUBSCRIBERS,
            description="E-mail marketing consent.",
        )
        segment_create(
            actor=DEMO_SEED,
            name="Quiet customers",
            rules={
                "all": [
                    SUBSCRIBERS,
                    {"field": "lifecycle_stage", "op": "eq", "value": "customer"},
                    {"field": "last_activity", "op": "older_than_days", "value": 60},
                ]
            },
            description="Subscribed customers with nothing on their timeline for two months.",
        )
    spring = _completed_email_campaign(now, subscribers.pk)
    with _at(now - dt.timedelta(days=45)):
        webinar = campaign_create(
            actor=DEMO_SEED, name="Partner webinar", channel="event", budget="400.00", segment=subscribers.pk
        )
        campaign_launch(actor=DEMO_SEED, campaign_id=webinar.pk)
    # A third of those invited attended (the webinar is tracked only: no e-mail is sent).
    for index, member_pk in enumerate(
        CampaignMember.objects.filter(campaign=webinar).order_by("id").values_list("pk", flat=True)[::3]
    ):
        with _at(now - dt.timedelta(days=45, hours=-(1 + index % 6))):
            member_respond(
                actor=TRACKING,
                member_id=member_pk,
                status=MemberStatus.RESPONDED,
                detail="Attended the webinar.",
            )
    with _at(now - dt.timedelta(days=44)):
        campaign_complete(actor=DEMO_SEED, campaign_id=webinar.pk)
    with _at(now - dt.timedelta(days=3)):
        winter = campaign_create(
            actor=DEMO_SEED,
            name="Winter offers",
            budget="800.00",
            segment=subscribers.pk,
            cap_messages=4,
            subject_template="{{ first_name }}, our winter offers",
            body_template="Hello {{ first_name }},\n\nSee this winter's offers: https://example.com/winter\n\n"
            "Unsubscribe: {{ unsubscribe_url }}",
            ends_at=now + dt.timedelta(days=25),
        )
        _launch_quietly(winter)
    with _at(now - dt.timedelta(days=2)):
        for member in CampaignMember.objects.filter(campaign=winter).order_by("id")[::4]:
            member_respond(actor=TRACKING, member_id=member.pk, status=MemberStatus.OPENED)
    campaign_create(
        actor=DEMO_SEED,
        name="Summer preview",
        budget="1200.00",
        segment=subscribers.pk,
        subject_template="A first look at summer, {{ first_name }}",
        body_template="Hello {{ first_name }},\n\nhttps://example.com/summer\n\n{{ unsubscribe_url }}",
    )
    return f"marketing: 2 segments, 4 campaigns ({spring.name}: {CampaignMember.objects.filter(campaign=spring).count()} members)"


@transaction.atomic
def _launch_quietly(campaign: Campaign) -> None:
    """Launch, write the snapshot as members and stamp them sent as the sending would:
    the demo writes to nobody (the sending task, queued on commit, then finds no member
    pending and no id of the snapshot left to write)."""
    launched = campaign_launch(actor=DEMO_SEED, campaign_id=campaign.pk)
    if launched.sends_email:
        audience = CampaignAudience.objects.defer("customer_ids").get(campaign=campaign)
        write_members(launched, limit=audience.total)
    CampaignMember.objects.filter(campaign=campaign, status=MemberStatus.PENDING).update(
        status=MemberStatus.SENT, sent_at=timezone.now()
    )


def _completed_email_campaign(now: dt.datetime, segment_id: int) -> Campaign:
    with _at(now - dt.timedelta(days=50)):
        spring = campaign_create(
            actor=DEMO_SEED,
            name="Spring launch",
            budget="1500.00",
            segment=segment_id,
            subject_template="{{ first_name }}, meet our spring range",
            body_template="Hello {{ first_name }},\n\nOur spring range is here: https://example.com/spring\n\n"
            "Not interested? {{ unsubscribe_url }}",
        )
        _launch_quietly(spring)
        form = lead_form_create(actor=DEMO_SEED, campaign_id=spring.pk, name="Spring catalogue request")
    members = list(CampaignMember.objects.filter(campaign=spring).select_related("customer").order_by("id"))
    for index, member in enumerate(members):
        if index % 5 in (0, 1, 2):
            with _at(now - dt.timedelta(days=49, hours=index % 24)):
                member_respond(actor=TRACKING, member_id=member.pk, status=MemberStatus.OPENED)
        if index % 5 == 0:
            with _at(now - dt.timedelta(days=48, hours=index % 24)):
                member_respond(actor=TRACKING, member_id=member.pk, status=MemberStatus.CLICKED)
    for index, member in enumerate(members[:25:5]):
        with _at(now - dt.timedelta(days=47, hours=index)):
            form_submit(
                actor=LEAD_FORMS,
                form_key=form.public_key,
                token=form_token(),
                data={
                    "first_name": member.customer.first_name or member.customer.display_name,
                    "last_name": member.customer.last_name,
                    "email": member.email,
                    "message": "Please send me the spring catalogue.",
                    "consent": True,
                },
            )
    # Members who then bought: their opportunity is attributed to the campaign.
    members_by_customer = {m.customer_id: m for m in members}
    for opp in Opportunity.objects.filter(
        customer_id__in=list(members_by_customer), orders__created_at__gte=now - dt.timedelta(days=40)
    ).distinct()[:8]:
        opportunity_update(
            actor=DEMO_SEED, opportunity_id=opp.pk, expected_version=None, campaign_id=spring.pk
        )
        member = members_by_customer[opp.customer_id]
        with _at(now - dt.timedelta(days=46)):
            member_respond(actor=TRACKING, member_id=member.pk, status=MemberStatus.CLICKED)
        with _at(now - dt.timedelta(days=40)):
            member_respond(actor=TRACKING, member_id=member.pk, status=MemberStatus.CONVERTED)
    with _at(now - dt.timedelta(days=21)):
        campaign_complete(actor=DEMO_SEED, campaign_id=spring.pk)
    return spring
