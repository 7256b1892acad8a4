"""Responses to a campaign e-mail: opened, clicked, unsubscribed, bounced (reported to
marketing or to the hub's outbound room: either way both the member and the room's
delivery log end bounced); and a member who
responded (a lead form) or converted (an opportunity). Each moves the member's status
forward (never back), stamps its time once and lands on the customer's timeline once: a
token used again changes nothing. Conversions are found by beat (`conversions_sweep`)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.db.models import OuterRef, Q, Subquery
from django.utils import timezone

from customers.choices import ConsentChannel, ConsentPurpose
from customers.consent import consent_record
from customers.events import MessageBounced
from customers.models import ConsentEvent, ContactPoint
from customers.outbound.choices import MessageStatus as OutboundStatus
from customers.outbound.delivery import outbound_bounce
from customers.outbound.models import OutboundMessage
from customers.timeline import activity_record
from frontoffice.actors import Actor, SystemActor
from frontoffice.write_path import authorize
from marketing.choices import FINAL, PROGRESS, MemberStatus
from marketing.models import CampaignMember, EmailBounce
from sales.models import Opportunity

SOURCE_APP = "marketing"
# Who records what recipients do with our e-mails (no person acts).
TRACKING = SystemActor(
    "campaign tracking",
    frozenset(
        {
            "marketing.change_campaignmember",
            "customers.add_consentevent",
            "marketing.add_emailbounce",
            # A bounce reported to marketing is recorded in the outbound room's log too.
            "customers.change_outboundmessage",
        }
    ),
)


class MemberActivity:
    """Timeline kinds marketing writes (labels and icons: hooks.py). A campaign e-mail
    sent is on the timeline once, as the outbound room's own entry (`message_sent`, or
    `message_not_sent` when the room refused it): marketing writes none of its own."""

    OPENED = "campaign_opened"
    CLICKED = "campaign_clicked"
    RESPONDED = "campaign_responded"
    CONVERTED = "campaign_converted"
    UNSUBSCRIBED = "campaign_unsubscribed"
    BOUNCED = "campaign_bounced"


STAMP = {
    MemberStatus.OPENED: "opened_at",
    MemberStatus.CLICKED: "clicked_at",
    MemberStatus.RESPONDED: "responded_at",
    MemberStatus.CONVERTED: "converted_at",
    MemberStatus.UNSUBSCRIBED: "unsubscribed_at",
    MemberStatus.BOUNCED: "bounced_at",
}
KIND = {
    MemberStatus.OPENED: MemberActivity.OPENED,
    MemberStatus.CLICKED: MemberActivity.CLICKED,
    MemberStatus.RESPONDED: MemberActivity.RESPONDED,
    MemberStatus.CONVERTED: MemberActivity.CONVERTED,
    MemberStatus.UNSUBSCRIBED: MemberActivity.UNSUBSCRIBED,
    MemberStatus.BOUNCED: MemberActivity.BOUNCED,
}
VERB = {
    MemberStatus.OPENED: "Opened",
    MemberStatus.CLICKED: "Clicked in",
    MemberStatus.RESPONDED: "Responded to",
    MemberStatus.CONVERTED: "Converted from",
    MemberStatus.UNSUBSCRIBED: "Unsubscribed from",
    MemberStatus.BOUNCED: "E-mail bounced for",
}


def _next_status(current: str, reached: str) -> str:
    if current in FINAL:
        return current
    if reached in FINAL:
        return reached
    return (
        reached if PROGRESS.index(MemberStatus(reached)) > PROGRESS.index(MemberStatus(current)) else current
    )


@transaction.atomic
def member_respond(
    *,
    actor: Actor,
    member_id: int,
    status: str,
    detail: str = "",
    occurred_at: dt.datetime | None = None,
    payload: dict[str, Any] | None = None,
) -> CampaignMember | None:
    """Record that a member reached `status` (opened, clicked...): the first time only.
    Returns the member, or None when there is no such member."""
    authorize(actor, "marketing.change_campaignmember")
    member = (
        CampaignMember.objects.select_for_update()
        .select_related("campaign", "customer")
        .filter(pk=member_id)
        .first()
    )
    if member is None:
        return None
    field = STAMP[MemberStatus(status)]
    if getattr(member, field) is not None:
        return member  # already recorded: a reused token changes nothing
    when = occurred_at or timezone.now()
    setattr(member, field, when)
    if (
        status in (MemberStatus.CLICKED, MemberStatus.RESPONDED, MemberStatus.CONVERTED)
        and not member.opened_at
        and member.campaign.sends_email  # an event or paid campaign sent no e-mail to open
    ):
        member.opened_at = when  # a click proves the e-mail was opened (images may be off)
    member.status = _next_status(member.status, status)
    member.save()
    activity_record(
        customer_id=member.customer_id,
        kind=KIND[MemberStatus(status)],
        actor=actor,
        source_app=SOURCE_APP,
        subject=f"{VERB[MemberStatus(status)]} campaign “{member.campaign.name}”"[:200],
        body=detail,
        ref=member.campaign,
        payload={"campaign_id": member.campaign_id, "member_id": member.pk, **(payload or {})},
        occurred_at=when,
    )
    if status in (MemberStatus.OPENED, MemberStatus.CLICKED):
        from marketing.capture.scoring import score_on_commit  # scoring reads members

        score_on_commit(member.customer_id)
    return member


@transaction.atomic
def member_unsubscribe(*, actor: Actor, member_id: int) -> CampaignMember | None:
    """The one-click unsubscribe: withdraw e-mail marketing consent in the ledger (once:
    a consent already withdrawn is left as it is) and mark the member."""
    member = member_respond(actor=actor, member_id=member_id, status=MemberStatus.UNSUBSCRIBED)
    if member is None:
        return None
    latest = (
        ConsentEvent.objects.filter(
            customer_id=member.customer_id, channel=ConsentChannel.EMAIL, purpose=ConsentPurpose.MARKETING
        )
        .order_by("-occurred_at", "-id")
        .values_list("granted", flat=True)
        .first()
    )
    if latest is not False:
        consent_record(
            actor=actor,
            customer_id=member.customer.merged_into_id or member.customer_id,
            channel=ConsentChannel.EMAIL,
            purpose=ConsentPurpose.MARKETING,
            granted=False,
            source=f"Unsubscribe link, campaign {member.campaign_id}",
        )
    return member


@transaction.atomic
def email_bounce(*, actor: Actor, email: str, reason: str = "", member_id: int | None = None) -> int:
    """A hard bounce reported for `email`: no campaign sends to it again; the members
    sent to it are marked bounced. Returns how many members it marked."""
    authorize(actor, "marketing.add_emailbounce", message="You may not report bounces.")
    address = (email or "").strip().lower()[:320]
    members = CampaignMember.objects.filter(Q(email=address) | Q(pk=member_id or 0)).filter(
        sent_at__isnull=False, bounced_at__isnull=True
    )
    marked = 0
    customers: set[int | None] = set()
    for member_pk, member_customer in members.values_list("pk", "customer_id")[:1000]:
        # The reporter may report bounces; marking the members is the tracking's part
        # (a marketer may not change members by hand).
        if member_respond(actor=TRACKING, member_id=member_pk, status=MemberStatus.BOUNCED, detail=reason):
            marked += 1
            customers.add(member_customer)
    if not customers:
        customers.update(
            ContactPoint.objects.filter(kind="email", value=address).values_list("customer_id", flat=True)
        )
    for customer_id in customers or {None}:  # an unknown address is blocked too
        EmailBounce.objects.create(
            email=address, customer_id=customer_id, reason=reason[:300], occurred_at=timezone.now()
        )
    _bounce_in_the_room(address, reason)
    return marked


def _bounce_in_the_room(address: str, reason: str) -> None:
    """The outbound room's delivery log says bounced too, for the campaign e-mails sent to
    `address` (a member's `send_key` is its message's dedupe key). The room then
    publishes `MessageBounced`, which finds these members already bounced."""
    sent = OutboundMessage.objects.filter(
        recipient=address,
        status=OutboundStatus.SENT,
        dedupe_key__in=CampaignMember.objects.filter(email=address, bounced_at__isnull=False)
        .exclude(send_key="")
        .values("send_key"),
    )
    for message_id in sent.order_by("pk").values_list("pk", flat=True)[:1000]:
        outbound_bounce(actor=TRACKING, message_id=message_id, reason=reason)


def on_message_bounced(event: MessageBounced) -> None:
    """`customers.events.MessageBounced` (in the bounce's transaction): a campaign e-mail
    reported bounced to the outbound room marks its member bounced and blocks the
    address, as marketing's own bounce endpoint does. Any other e-mail of the room (a
    service reply, a shipment notice) that hard-bounced blocks the address for campaigns
    too, once, and marks no member; a member already bounced changes nothing."""
    member_id = (
        CampaignMember.objects.filter(
            customer_id=event.customer_id, send_key=event.dedupe_key, bounced_at__isnull=True
        )
        .exclude(send_key="")
        .values_list("pk", flat=True)
        .first()
    )
    if member_id is not None:
        email_bounce(actor=TRACKING, email=event.recipient, reason=event.reason, member_id=member_id)
        return
    address = (event.recipient or "").strip().lower()[:320]
    if address and not EmailBounce.objects.filter(email=address, customer_id=event.customer_id).exists():
        EmailBounce.objects.create(
            email=address,
            customer_id=event.customer_id,
            reason=event.reason[:300],
            occurred_at=timezone.now(),
        )


CONVERSION_BATCH = 200


def conversions_sweep(*, actor: Actor, batch_size: int = CONVERSION_BATCH) -> int:
    """Mark converted the members whose customer has an opportunity sourced from the
    member's campaign, opened after they joined it (sales keeps `campaign_id` on its
    opportunities and publishes no event for them, so beat asks): the member's status,
    `converted_at` (the opportunity's time) and the timeline, once each. At most
    `batch_size` per run, oldest opportunities first; returns how many it marked."""
    authorize(actor, "marketing.change_campaignmember")
    first_opportunity = (
        Opportunity.objects.filter(
            customer_id=OuterRef("customer_id"),
            campaign_id=OuterRef("campaign_id"),
            created_at__gte=OuterRef("created_at"),
        )
        .order_by("created_at", "id")
        .values("created_at")[:1]
    )
    due = (
        CampaignMember.objects.filter(converted_at__isnull=True)
        .annotate(m_converted=Subquery(first_opportunity))
        .filter(m_converted__isnull=False)
        .order_by("m_converted", "id")
        .values_list("pk", "m_converted")[:batch_size]
    )
    marked = 0
    for member_id, when in list(due):
        if member_respond(actor=actor, member_id=member_id, status=MemberStatus.CONVERTED, occurred_at=when):
            marked += 1
    return marked
