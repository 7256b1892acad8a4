"""Sending through the hub's outbound room: one copy per recipient even when a worker
crashes mid-batch and the batch is retried, consent checked again at sending time,
the unsubscribe headers on every e-mail, nothing for a cancelled campaign."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.core import mail
from django.core.mail import EmailMultiAlternatives

from customers.consent import consent_record
from customers.models import Activity, Customer
from frontoffice import plugin
from frontoffice.actors import MAINTENANCE
from marketing.campaigns import sending
from marketing.campaigns.launch import campaign_launch
from marketing.campaigns.selectors import still_to_send, unwritten_ids
from marketing.campaigns.services import campaign_cancel
from marketing.choices import MemberStatus
from marketing.models import CampaignAudience, CampaignMember
from marketing.tests.conftest import a_person
from marketing.tests.test_campaigns import a_campaign

pytestmark = pytest.mark.django_db


def launched(django_capture_on_commit_callbacks, n: int = 3):
    people = [a_person(f"P{i}") for i in range(n)]
    with django_capture_on_commit_callbacks(execute=False):
        campaign = campaign_launch(actor=MAINTENANCE, campaign_id=a_campaign().pk)
    return campaign, people


def send(django_capture_on_commit_callbacks, campaign_id: int, **kwargs) -> int:
    with django_capture_on_commit_callbacks(execute=True):
        return sending.campaign_send_batch(actor=sending.CAMPAIGN_SENDER, campaign_id=campaign_id, **kwargs)


def test_each_member_gets_one_email_with_the_unsubscribe_headers(django_capture_on_commit_callbacks) -> None:
    campaign, people = launched(django_capture_on_commit_callbacks)
    mail.outbox = []
    assert send(django_capture_on_commit_callbacks, campaign.pk) == 3
    assert sorted(m.to[0] for m in mail.outbox) == [
        "p0.test@example.com",
        "p1.test@example.com",
        "p2.test@example.com",
    ]
    message = mail.outbox[0]
    assert message.extra_headers["List-Unsubscribe"].startswith("<http")
    assert message.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert "/marketing/u/" in message.body
    assert set(CampaignMember.objects.values_list("status", flat=True)) == {MemberStatus.SENT}
    # a second run finds nobody pending
    assert send(django_capture_on_commit_callbacks, campaign.pk) == 0
    assert len(mail.outbox) == 3
    # each recipient's timeline shows the e-mail sent once: the outbound room's entry
    # (marketing writes no second one)
    sent = Activity.objects.filter(kind="message_sent").order_by("customer_id")
    assert [a.customer_id for a in sent] == sorted(p.pk for p in people)
    assert {a.subject for a in sent} == {f"E-mail sent: Hello P{i}" for i in range(3)}
    assert not Activity.objects.filter(source_app="marketing").exists()
    assert "campaign_sent" not in plugin.timeline_kinds()


def test_a_crash_mid_batch_then_a_retry_sends_one_copy_each(
    django_capture_on_commit_callbacks, monkeypatch
) -> None:
    campaign, _ = launched(django_capture_on_commit_callbacks)
    mail.outbox = []
    real = sending.compose
    calls = {"n": 0}

    def crash_on_the_third(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError("worker killed")
        return real(*args, **kwargs)

    monkeypatch.setattr(sending, "compose", crash_on_the_third)
    with pytest.raises(RuntimeError):
        send(django_capture_on_commit_callbacks, campaign.pk)
    # the batch rolled back: nothing sent, no member written, the snapshot's cursor unmoved
    assert mail.outbox == []
    assert not CampaignMember.objects.exists()
    assert CampaignAudience.objects.get(campaign=campaign).written == 0
    monkeypatch.setattr(sending, "compose", real)
    assert send(django_capture_on_commit_callbacks, campaign.pk) == 3
    assert len(mail.outbox) == 3
    assert sorted(CampaignMember.objects.values_list("status", flat=True)) == [MemberStatus.SENT] * 3


def test_a_crash_after_some_members_were_written_sends_one_copy_each(
    django_capture_on_commit_callbacks, monkeypatch
) -> None:
    # given a first batch sent, and the second one crashing after writing its members
    campaign, _ = launched(django_capture_on_commit_callbacks, n=5)
    mail.outbox = []
    assert send(django_capture_on_commit_callbacks, campaign.pk, limit=2) == 2
    real = sending.compose

    def crash(*args, **kwargs):
        raise RuntimeError("worker killed")

    monkeypatch.setattr(sending, "compose", crash)
    with pytest.raises(RuntimeError):
        send(django_capture_on_commit_callbacks, campaign.pk, limit=2)
    assert CampaignMember.objects.count() == 2
    assert CampaignAudience.objects.get(campaign=campaign).written == 2
    # and a member of the next slice already there (added by hand since the launch)
    third = CampaignAudience.objects.get(campaign=campaign).customer_ids[2]
    CampaignMember.objects.create(campaign=campaign, customer_id=third, status=MemberStatus.PENDING)
    monkeypatch.setattr(sending, "compose", real)
    # when the retries run to the end
    while send(django_capture_on_commit_callbacks, campaign.pk, limit=2):
        pass
    # then each of the 5 got one e-mail, and every id of the snapshot is written
    assert len(mail.outbox) == 5
    assert len({m.to[0] for m in mail.outbox}) == 5
    assert CampaignMember.objects.filter(status=MemberStatus.SENT).count() == 5
    assert still_to_send(campaign=campaign) == 0


def test_a_member_sent_again_still_gets_one_copy(django_capture_on_commit_callbacks) -> None:
    # e.g. a crash after the room queued the e-mails but before the members were marked
    campaign, _ = launched(django_capture_on_commit_callbacks)
    mail.outbox = []
    send(django_capture_on_commit_callbacks, campaign.pk)
    CampaignMember.objects.update(status=MemberStatus.PENDING)
    assert send(django_capture_on_commit_callbacks, campaign.pk) == 3
    assert len(mail.outbox) == 3


def test_consent_withdrawn_after_the_launch_is_honoured(django_capture_on_commit_callbacks) -> None:
    campaign, people = launched(django_capture_on_commit_callbacks)
    consent_record(
        actor=MAINTENANCE,
        customer_id=people[0].pk,
        channel="email",
        purpose="marketing",
        granted=False,
        source="t",
    )
    mail.outbox = []
    send(django_capture_on_commit_callbacks, campaign.pk)
    assert len(mail.outbox) == 2
    assert CampaignMember.objects.get(customer=people[0]).status == MemberStatus.SUPPRESSED


def test_a_cancelled_campaign_sends_nothing(django_capture_on_commit_callbacks) -> None:
    campaign, _ = launched(django_capture_on_commit_callbacks, n=5)
    assert send(django_capture_on_commit_callbacks, campaign.pk, limit=2) == 2
    campaign_cancel(actor=MAINTENANCE, campaign_id=campaign.pk)
    mail.outbox = []
    assert send(django_capture_on_commit_callbacks, campaign.pk) == 0
    assert mail.outbox == []
    # the snapshot's other 3 are never written as members
    assert CampaignMember.objects.count() == 2
    assert len(unwritten_ids(campaign=campaign)) == 3


def test_batches_are_bounded(django_capture_on_commit_callbacks) -> None:
    campaign, _ = launched(django_capture_on_commit_callbacks, n=5)
    assert send(django_capture_on_commit_callbacks, campaign.pk, limit=2) == 2
    assert CampaignMember.objects.count() == 2
    assert still_to_send(campaign=campaign) == 3


def test_a_slice_of_customers_deleted_since_the_launch_does_not_stop_the_sending(
    django_capture_on_commit_callbacks,
) -> None:
    campaign, _ = launched(django_capture_on_commit_callbacks, n=3)
    ids = CampaignAudience.objects.get(campaign=campaign).customer_ids
    Customer.objects.filter(pk__in=ids[:2]).delete()
    mail.outbox = []
    # the first slice writes nobody, yet the task goes on (it stops on 0)
    assert send(django_capture_on_commit_callbacks, campaign.pk, limit=2) == 2
    assert send(django_capture_on_commit_callbacks, campaign.pk, limit=2) == 1
    assert send(django_capture_on_commit_callbacks, campaign.pk, limit=2) == 0
    assert [m.customer_id for m in CampaignMember.objects.all()] == [ids[2]]
    assert len(mail.outbox) == 1


def test_the_email_is_multipart_and_its_html_pixel_records_the_open(
    django_capture_on_commit_callbacks, client
) -> None:
    a_person("Ann")
    body = "Hi {{ first_name }} <b>&</b>\n\nSee https://shop.example.com/sale"
    with django_capture_on_commit_callbacks(execute=False):
        campaign = campaign_launch(actor=MAINTENANCE, campaign_id=a_campaign(body_template=body).pk)
    mail.outbox = []
    send(django_capture_on_commit_callbacks, campaign.pk)
    [message] = mail.outbox
    assert isinstance(message, EmailMultiAlternatives)
    assert "Hi Ann <b>&</b>" in message.body  # the text part, as written
    [(html, mimetype)] = message.alternatives
    assert mimetype == "text/html"
    assert "Hi Ann &lt;b&gt;&amp;&lt;/b&gt;" in html  # the customer's text, escaped
    assert 'href="' + settings.SITE_URL.rstrip("/") + "/marketing/t/c/" in html  # the tracked link, clickable
    assert "/marketing/u/" in html  # the unsubscribe link
    raw = message.message().as_bytes()
    assert b"multipart/alternative" in raw
    member = CampaignMember.objects.get(campaign=campaign)
    assert member.opened_at is None
    pixel = re.search(r'<img src="([^"]+)"', html)
    assert pixel is not None
    response = client.get(urlsplit(pixel.group(1)).path)
    assert response.status_code == 200
    assert response["Content-Type"] == "image/gif"
    member.refresh_from_db()
    assert member.opened_at is not None
    assert member.status == MemberStatus.OPENED
