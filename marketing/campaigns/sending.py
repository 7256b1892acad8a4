"""Sending a running e-mail campaign through the hub's outbound-message room
(`customers.outbound.services.send_to_customer`): consent checked again at sending time,
one message per dedupe key and recipient, the List-Unsubscribe headers, the delivery
log and the customer's timeline are the room's; the room's Celery task delivers with
its rate limit through the Django e-mail backend.

One copy per recipient, even when a worker crashes and the batch is retried:
- a batch claims its members (PENDING, locked; other workers skip them) and, in the
  same transaction, hands each to the room and marks it sent: a crash before the commit
  leaves every member pending and no message written; after it, none pending;
- the room's dedupe key is the campaign and the customer, so even a member sent twice
  (a status reset, a replayed task) gets one message;
- the e-mail itself leaves after commit, from the room's own task, which claims each
  message once (queued -> sending).
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from customers.outbound.choices import MessageCategory, MessageStatus, OutboundChannel
from customers.outbound.services import send_to_customer
from frontoffice.actors import Actor, SystemActor
from frontoffice.write_path import authorize, enqueue_on_commit
from marketing.campaigns.compose import compose
from marketing.choices import CampaignStatus, MemberStatus
from marketing.models import Campaign, CampaignMember

BATCH = 200
# Who sends campaigns: the part of the system that hands members to the outbound room.
CAMPAIGN_SENDER = SystemActor(
    "campaign sending",
    frozenset({"customers.add_outboundmessage", "marketing.change_campaignmember"}),
)
DELIVERED = (MessageStatus.QUEUED, MessageStatus.SENDING, MessageStatus.SENT)


def dedupe_key(campaign_id: int, customer_id: int) -> str:
    return f"campaign:{campaign_id}:customer:{customer_id}"


@transaction.atomic
def campaign_send_batch(*, actor: Actor, campaign_id: int, limit: int = BATCH) -> int:
    """Hand up to `limit` pending members of a running campaign to the outbound room;
    returns how many were handled (0: nothing left, or the campaign is not running)."""
    authorize(actor, "marketing.change_campaignmember", "customers.add_outboundmessage")
    campaign = Campaign.objects.filter(pk=campaign_id).first()
    if campaign is None or campaign.status != CampaignStatus.RUNNING or not campaign.sends_email:
        return 0
    members = list(
        CampaignMember.objects.select_for_update(skip_locked=True)
        .filter(campaign=campaign, status=MemberStatus.PENDING)
        .select_related("customer")
        .order_by("id")[:limit]
    )
    now = timezone.now()
    for member in members:
        composed = compose(campaign, customer=member.customer, member_id=member.pk, email=member.email)
        key = dedupe_key(campaign.pk, member.customer_id)
        message = send_to_customer(
            actor=actor,
            customer=member.customer_id,
            dedupe_key=key,
            # Rendered here (marketing's placeholders, tracked links); handed over as
            # values, so the room does not read the customer's text as placeholders.
            subject="{{ campaign.subject }}",
            body="{{ campaign.body }}",
            context={"campaign": {"subject": composed.subject, "body": composed.body}},
            channel=OutboundChannel.EMAIL,
            category=MessageCategory.MARKETING,
            headers=composed.headers,
            html_body=composed.html_body,
        )
        member.send_key = key
        if message.status in DELIVERED:
            member.status = MemberStatus.SENT
            member.sent_at = now
        else:
            member.status = MemberStatus.SUPPRESSED
        member.save(update_fields=["send_key", "status", "sent_at", "updated_at"])
    return len(members)


def send_on_commit(campaign_id: int) -> None:
    """Start sending the campaign once the transaction commits."""
    from marketing.tasks import campaign_send  # tasks import this module

    enqueue_on_commit(campaign_send, campaign_id)
