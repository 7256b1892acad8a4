"""The two bounce paths end in the same states: a bounce reported to marketing's endpoint
marks the member and the outbound room's delivery log; one reported to the room (its
API, an admin) marks the campaign's member and blocks the address. Either way once."""

from __future__ import annotations

from typing import Any

import pytest

from customers.models import Activity
from customers.outbound.choices import MessageStatus
from customers.outbound.delivery import outbound_bounce
from customers.outbound.models import DeliveryEvent, OutboundMessage
from frontoffice.actors import MAINTENANCE
from marketing.campaigns import sending
from marketing.campaigns.launch import campaign_launch
from marketing.choices import MemberStatus
from marketing.models import CampaignMember, EmailBounce
from marketing.tests.conftest import a_person
from marketing.tests.test_campaigns import a_campaign
from tests.fixtures import client_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def sent(django_capture_on_commit_callbacks: Any) -> tuple[CampaignMember, OutboundMessage]:
    """Ann's member of a campaign sent through the outbound room, and its message."""
    ann = a_person("Ann")
    a_person("Bob")
    with django_capture_on_commit_callbacks(execute=False):
        campaign = campaign_launch(actor=MAINTENANCE, campaign_id=a_campaign().pk)
    with django_capture_on_commit_callbacks(execute=True):
        sending.campaign_send_batch(actor=sending.CAMPAIGN_SENDER, campaign_id=campaign.pk)
    member = CampaignMember.objects.get(campaign=campaign, customer=ann)
    message = OutboundMessage.objects.get(customer=ann, dedupe_key=member.send_key)
    assert (member.status, message.status) == (MemberStatus.SENT, MessageStatus.SENT)
    return member, message


def test_a_bounce_reported_to_marketing_marks_the_rooms_delivery_log(sent, marketer) -> None:
    # given
    member, message = sent
    # when: the mail server calls marketing's bounce endpoint
    response = client_for(marketer).post(
        "/api/v1/marketing/bounces/",
        {"email": "ANN.test@example.com", "reason": "550 no such user"},
        format="json",
    )
    # then: the member and the room's message are bounced, each once
    assert response.status_code == 201, response.content
    assert response.json() == {"members_marked": 1}
    member.refresh_from_db()
    message.refresh_from_db()
    assert member.status == MemberStatus.BOUNCED
    assert (message.status, message.status_reason) == (MessageStatus.BOUNCED, "550 no such user")
    assert list(
        DeliveryEvent.objects.filter(message=message, status=MessageStatus.BOUNCED).values_list(
            "status", flat=True
        )
    ) == [MessageStatus.BOUNCED]
    assert EmailBounce.objects.filter(email="ann.test@example.com").count() == 1
    assert Activity.objects.filter(customer=member.customer, kind="campaign_bounced").count() == 1
    # Bob's e-mail went out and stays so
    assert set(OutboundMessage.objects.exclude(pk=message.pk).values_list("status", flat=True)) == {
        MessageStatus.SENT
    }


def test_a_bounce_reported_to_the_room_marks_the_campaign_member(sent) -> None:
    # given
    member, message = sent
    # when: an admin (or the room's API) records the bounce on the message
    outbound_bounce(actor=MAINTENANCE, message_id=message.pk, reason="550 mailbox gone")
    # then: the member is bounced and the address blocked for campaigns, once
    member.refresh_from_db()
    message.refresh_from_db()
    assert message.status == MessageStatus.BOUNCED
    assert member.status == MemberStatus.BOUNCED
    assert member.bounced_at is not None
    bounce = EmailBounce.objects.get()
    assert (bounce.email, bounce.customer_id, bounce.reason) == (
        "ann.test@example.com",
        member.customer_id,
        "550 mailbox gone",
    )
    assert Activity.objects.filter(customer=member.customer, kind="campaign_bounced").count() == 1
    # a second report changes nothing
    outbound_bounce(actor=MAINTENANCE, message_id=message.pk, reason="again")
    assert EmailBounce.objects.count() == 1
    other = CampaignMember.objects.exclude(pk=member.pk).get()
    assert other.status == MemberStatus.SENT


def test_a_bounced_service_e_mail_marks_no_member_but_blocks_the_address(sent) -> None:
    # given: a message of the room that is no campaign's
    member, message = sent
    OutboundMessage.objects.filter(pk=message.pk).update(dedupe_key="order-shipped:SO-1")
    # when
    outbound_bounce(actor=MAINTENANCE, message_id=message.pk, reason="550")
    # then the campaign's member is untouched, but no campaign sends to that address again
    member.refresh_from_db()
    assert member.status == MemberStatus.SENT
    assert list(EmailBounce.objects.values_list("email", "customer_id", "member_id")) == [
        (message.recipient.lower(), message.customer_id, None)
    ]
    later = campaign_launch(actor=MAINTENANCE, campaign_id=a_campaign().pk)
    assert later.exclusions == {"bounced": 1}
