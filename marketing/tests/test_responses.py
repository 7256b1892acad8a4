"""Responses: signed open pixel, click redirects and one-click unsubscribe; forged or reused
tokens change nothing; bounces; every response on the timeline and the member's status."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from customers.models import Activity, ConsentEvent
from frontoffice.actors import MAINTENANCE
from marketing.campaigns.compose import compose
from marketing.campaigns.launch import campaign_launch
from marketing.campaigns.responses import TRACKING, conversions_sweep, email_bounce
from marketing.choices import MemberStatus
from marketing.models import CampaignMember, EmailBounce
from marketing.tests.conftest import a_person, written
from marketing.tests.test_campaigns import a_campaign
from marketing.tokens import OPEN, UNSUBSCRIBE, click_token, member_token

pytestmark = pytest.mark.django_db


@pytest.fixture
def member() -> CampaignMember:
    a_person("Ann")
    campaign = campaign_launch(
        actor=MAINTENANCE,
        campaign_id=a_campaign(body_template="Hi {{ first_name }}, see https://shop.example.com/sale").pk,
    )
    written(campaign)
    m = CampaignMember.objects.get(campaign=campaign)
    CampaignMember.objects.filter(pk=m.pk).update(status=MemberStatus.SENT, sent_at=timezone.now())
    return CampaignMember.objects.get(pk=m.pk)


def kinds(customer_id: int) -> list[str]:
    return list(
        Activity.objects.filter(customer_id=customer_id, source_app="marketing").values_list(
            "kind", flat=True
        )
    )


def test_the_open_pixel_records_one_open(client: Client, member) -> None:
    url = reverse("marketing:open", args=[member_token(member.pk, OPEN)])
    for _ in range(2):
        response = client.get(url)
        assert response.status_code == 200
        assert response["Content-Type"] == "image/gif"
    member.refresh_from_db()
    assert member.status == MemberStatus.OPENED
    assert member.opened_at is not None
    assert kinds(member.customer_id) == ["campaign_opened"]


def test_a_forged_pixel_changes_nothing(client: Client, member) -> None:
    forged = member_token(member.pk, OPEN)[:-2] + "xx"
    assert client.get(reverse("marketing:open", args=[forged])).status_code == 200
    wrong_salt = member_token(member.pk, UNSUBSCRIBE)
    client.get(reverse("marketing:open", args=[wrong_salt]))
    member.refresh_from_db()
    assert member.status == MemberStatus.SENT
    assert kinds(member.customer_id) == []


def test_a_click_redirects_to_the_signed_target_and_is_recorded_once(client: Client, member) -> None:
    url = reverse("marketing:click", args=[click_token(member.pk, "https://shop.example.com/sale")])
    for _ in range(2):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"] == "https://shop.example.com/sale"
    member.refresh_from_db()
    assert member.status == MemberStatus.CLICKED
    assert member.opened_at is not None  # a click proves the open
    assert kinds(member.customer_id) == ["campaign_clicked"]


@pytest.mark.parametrize(
    "tamper",
    [
        lambda t: t[:-3] + "abc",  # altered signature
        lambda t: t.replace(t.split(":")[0], t.split(":")[0][::-1]),  # altered payload
        lambda t: "evil.example.com",
    ],
)
def test_a_forged_click_never_leaves_the_site(client: Client, member, tamper: Any) -> None:
    token = tamper(click_token(member.pk, "https://shop.example.com/sale"))
    response = client.get(reverse("marketing:click", args=[token]))
    assert response.status_code == 404
    assert "Location" not in response
    member.refresh_from_db()
    assert member.clicked_at is None


def test_a_signed_target_that_is_not_a_web_link_is_refused(client: Client, member) -> None:
    response = client.get(reverse("marketing:click", args=[click_token(member.pk, "javascript:alert(1)")]))
    assert response.status_code == 404


def test_the_email_carries_list_unsubscribe_headers_and_tracked_links(member) -> None:
    composed = compose(member.campaign, customer=member.customer, member_id=member.pk, email=member.email)
    assert composed.headers["List-Unsubscribe"] == f"<{composed.unsubscribe_url}>"
    assert composed.headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert "https://shop.example.com/sale" not in composed.body
    assert "/marketing/t/c/" in composed.body
    assert composed.unsubscribe_url in composed.body
    assert composed.subject == "Hello Ann"


def test_one_click_unsubscribe_withdraws_consent_in_the_ledger(client: Client, member) -> None:
    composed = compose(member.campaign, customer=member.customer, member_id=member.pk, email=member.email)
    path = re.sub(r"^https?://[^/]+", "", composed.unsubscribe_url)
    # a GET (a link scanner) changes nothing
    assert client.get(path).status_code == 200
    assert ConsentEvent.objects.filter(customer=member.customer, granted=False).count() == 0
    # the mail client's one-click POST (RFC 8058), without CSRF token or session
    response = Client(enforce_csrf_checks=True).post(path, {"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    latest = ConsentEvent.objects.filter(
        customer=member.customer, channel="email", purpose="marketing"
    ).first()
    assert latest is not None
    assert latest.granted is False
    assert "Unsubscribe link" in latest.source
    member.refresh_from_db()
    assert member.status == MemberStatus.UNSUBSCRIBED
    # again: nothing more
    Client().post(path)
    assert ConsentEvent.objects.filter(customer=member.customer, granted=False).count() == 1
    assert kinds(member.customer_id).count("campaign_unsubscribed") == 1


def test_a_forged_unsubscribe_changes_nothing(client: Client, member) -> None:
    response = client.post(reverse("marketing:unsubscribe", args=["forged:token"]))
    assert response.status_code == 404
    assert not ConsentEvent.objects.filter(customer=member.customer, granted=False).exists()


def test_a_bounce_marks_the_member_and_blocks_the_address(member) -> None:
    marked = email_bounce(actor=TRACKING, email=member.email.upper(), reason="550 no such user")
    assert marked == 1
    member.refresh_from_db()
    assert member.status == MemberStatus.BOUNCED
    assert EmailBounce.objects.filter(customer=member.customer).exists()
    assert "campaign_bounced" in kinds(member.customer_id)


def test_the_status_moves_forward_only(member) -> None:
    from marketing.campaigns.responses import member_respond

    member_respond(actor=TRACKING, member_id=member.pk, status=MemberStatus.CLICKED)
    member_respond(actor=TRACKING, member_id=member.pk, status=MemberStatus.OPENED)
    member.refresh_from_db()
    assert member.status == MemberStatus.CLICKED


def test_a_response_implies_an_open_only_for_an_e_mail(member) -> None:
    from marketing.campaigns.responses import member_respond

    # given a guest of an event campaign (no e-mail sent) and an e-mail campaign's member
    a_person("Guest")
    event = campaign_launch(
        actor=MAINTENANCE,
        campaign_id=a_campaign(
            channel="event",
            subject_template="",
            body_template="",
            rules={"field": "first_name", "op": "eq", "value": "Guest"},
        ).pk,
    )
    guest = CampaignMember.objects.get(campaign=event)
    # when both respond
    for someone in (guest, member):
        member_respond(actor=TRACKING, member_id=someone.pk, status=MemberStatus.RESPONDED)
    guest.refresh_from_db()
    member.refresh_from_db()
    # then the e-mail counts as opened (an answer proves it was read), the event did not
    assert member.opened_at is not None
    assert guest.responded_at is not None
    assert guest.opened_at is None
    assert guest.status == MemberStatus.RESPONDED


def test_tracking_is_rate_limited(client: Client, member, throttle_limit) -> None:
    throttle_limit("unsubscribe", 2)
    url = reverse("marketing:unsubscribe", args=[member_token(member.pk, UNSUBSCRIBE)])
    assert [client.get(url).status_code for _ in range(3)] == [200, 200, 429]


def test_clicks_over_the_limit_are_refused(client: Client, member, throttle_limit) -> None:
    throttle_limit("tracking", 2)
    url = reverse("marketing:click", args=[click_token(member.pk, "https://shop.example.com/sale")])
    assert [client.get(url).status_code for _ in range(3)] == [302, 302, 429]
    refused = client.get(url)
    assert refused.status_code == 429
    assert refused["Retry-After"] == "60"
    assert "Location" not in refused


def test_an_open_over_the_limit_records_nothing(client: Client, member, throttle_limit) -> None:
    throttle_limit("tracking", 1)
    # the allowance spent on another address of ours (a forged token counts too)
    client.get(reverse("marketing:open", args=["forged:token"]))
    response = client.get(reverse("marketing:open", args=[member_token(member.pk, OPEN)]))
    # the pixel is still a pixel (a mail client shows no error), but nothing is recorded
    assert response.status_code == 200
    assert response["Content-Type"] == "image/gif"
    member.refresh_from_db()
    assert (member.status, member.opened_at) == (MemberStatus.SENT, None)
    assert kinds(member.customer_id) == []


def test_an_opportunity_sourced_from_the_campaign_converts_the_member_once(member, sales_rep) -> None:
    from sales.models import Opportunity
    from sales.tests.quote_setup import an_opportunity

    opportunity = an_opportunity(sales_rep)
    # another campaign's opportunity, or one from before the customer joined, converts nobody
    Opportunity.objects.filter(pk=opportunity.pk).update(
        customer=member.customer, campaign_id=member.campaign_id + 1
    )
    assert conversions_sweep(actor=TRACKING) == 0
    Opportunity.objects.filter(pk=opportunity.pk).update(
        campaign_id=member.campaign_id, created_at=member.created_at - dt.timedelta(days=1)
    )
    assert conversions_sweep(actor=TRACKING) == 0
    won_at = timezone.now()
    Opportunity.objects.filter(pk=opportunity.pk).update(created_at=won_at)
    assert conversions_sweep(actor=TRACKING) == 1
    member.refresh_from_db()
    assert member.status == MemberStatus.CONVERTED
    assert member.converted_at == won_at
    assert kinds(member.customer_id) == ["campaign_converted"]
    assert conversions_sweep(actor=TRACKING) == 0  # once
    assert kinds(member.customer_id) == ["campaign_converted"]
