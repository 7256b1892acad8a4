"""Sending a running e-mail campaign through the hub's outbound-message room
(`customers.outbound.services.send_to_customer`): consent checked again at sending time,
one message per dedupe key and recipient, the List-Unsubscribe headers, the delivery
log and the customer's timeline are the room's; the room's Celery task delivers with
its rate limit through the Django e-mail backend.

The launch stores the audience as a snapshot of ids (marketing.models.CampaignAudience);
each batch first writes the snapshot's next slice as pending members, then sends.

One copy per recipient, even when a worker crashes and the batch is retried:
- the slice is written (members, cursor) in the batch's transaction: a crash rolls
  it back and the retry writes it again; a member already there is kept (ON CONFLICT
  DO NOTHING on the campaign and the customer);
- a batch claims its members (PENDING, locked; other workers skip them) and, in the
  same transaction, hands each to the room and marks it sent: a crash before the commit
  leaves every member pending and no message written; after it, none pending;
- the room's dedupe key is the campaign and the customer, so even a member sent twice
  (a status reset, a replayed task) gets one message;
- the e-mail itself leaves after commit, from the room's own task, which claims each
  message once (queued -> sending).
"""

from __future__ import annotations

from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from customers.models import Customer
from customers.outbound.choices import MessageCategory, MessageStatus, OutboundChannel
from customers.outbound.services import send_to_customer
from frontoffice.actors import Actor, SystemActor
from frontoffice.write_path import authorize, enqueue_on_commit
from marketing.campaigns.compose import compose
from marketing.campaigns.launch import insert_members, with_email
from marketing.choices import CampaignStatus, MemberStatus
from marketing.models import Campaign, CampaignAudience, CampaignMember

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
    """Write the snapshot's next `limit` customers as members, then hand up to `limit`
    pending members of a running campaign to the outbound room; returns how many were
    handled or taken from the snapshot, whichever is more (0: nothing left, or the
    campaign is not running; a slice of customers deleted since the launch writes no
    member but is not the end)."""
    authorize(actor, "marketing.change_campaignmember", "customers.add_outboundmessage")
    campaign = Campaign.objects.filter(pk=campaign_id).first()
    if campaign is None or campaign.status != CampaignStatus.RUNNING or not campaign.sends_email:
        return 0
    taken = write_members(campaign, limit=limit)
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
    return max(len(members), taken)


def write_members(campaign: Campaign, *, limit: int) -> int:
    """Write the next `limit` customers of the campaign's snapshot as pending members
    (a member already there is kept) and move its cursor, in the caller's transaction:
    rolled back with it, they are written again by the retry. A customer merged away
    since the launch is written as the one they were merged into. Another worker
    writing the same snapshot is skipped, not waited for. Returns how many ids it took."""
    audience = (
        CampaignAudience.objects.select_for_update(skip_locked=True)
        .filter(campaign=campaign, written__lt=F("total"))
        .defer("customer_ids")
        .first()
    )
    if audience is None:
        return 0
    ids = next_ids(audience, limit)
    targets = {
        into or pk for pk, into in Customer.objects.filter(pk__in=ids).values_list("pk", "merged_into_id")
    }
    if targets:  # none: the slice's customers were all deleted since the launch
        live = Customer.objects.filter(pk__in=targets, merged_into__isnull=True)
        insert_members(campaign, with_email(live), timezone.now())
    CampaignAudience.objects.filter(pk=audience.pk).update(written=F("written") + len(ids))
    return len(ids)


def next_ids(audience: CampaignAudience, limit: int) -> list[int]:
    """The ids after the cursor: sliced in SQL on PostgreSQL (the array stays there)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT customer_ids[written + 1:written + %s] FROM {CampaignAudience._meta.db_table} "  # noqa: S608
                "WHERE campaign_id = %s",
                (limit, audience.pk),
            )
            return list(cursor.fetchone()[0])
    ids = CampaignAudience.objects.values_list("customer_ids", flat=True).get(pk=audience.pk)
    return ids[audience.written : audience.written + limit]


def send_on_commit(campaign_id: int) -> None:
    """Start sending the campaign once the transaction commits."""
    from marketing.tasks import campaign_send  # tasks import this module

    enqueue_on_commit(campaign_send, campaign_id)
