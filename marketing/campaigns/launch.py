"""A campaign's launch: the segment's audience snapshotted into members, in a fixed number
of queries whatever its size.

Who is left out, and why (marketing.choices.ExclusionReason, first reason wins): merged
away, no e-mail address, a bounced address, unsubscribed (the latest e-mail marketing
consent is a withdrawal), no consent (never granted), over the frequency cap (N
marketing e-mails in M days, across campaigns). One grouped query counts the reasons;
one INSERT ... SELECT writes the members (no row travels through Python).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import (
    BigIntegerField,
    Case,
    CharField,
    Count,
    DateTimeField,
    Exists,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from customers.choices import ConsentChannel, ConsentPurpose, ContactKind
from customers.models import ContactPoint, Customer
from frontoffice.actors import Actor
from frontoffice.write_path import authorize, bump_version, check_version, lock
from marketing.campaigns.services import LAUNCH, check_transition, ready_to_send
from marketing.choices import CampaignStatus, ExclusionReason, MemberStatus
from marketing.models import Campaign, CampaignMember, EmailBounce
from marketing.segments.rules import latest_consent
from marketing.segments.selectors import segment_customers

ELIGIBLE = ""
# The annotation naming why a customer is left out (a name, not a keyword: the type
# checker's plugin cannot see annotations through the queryset's type).
REASON = "m_reason"


def primary_email() -> Subquery:
    return Subquery(
        ContactPoint.objects.filter(customer=OuterRef("pk"), kind=ContactKind.EMAIL)
        .order_by("-is_primary", "id")
        .values("value")[:1]
    )


def recent_sends(*, since: dt.datetime) -> Coalesce:
    """Marketing e-mails the customer was sent (or is about to be) since `since`."""
    members = (
        CampaignMember.objects.filter(customer=OuterRef("pk"))
        .filter(Q(sent_at__gte=since) | Q(status=MemberStatus.PENDING, created_at__gte=since))
        .order_by()
        .values("customer")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(members, output_field=IntegerField()), Value(0))


def audience(
    campaign: Campaign, *, now: dt.datetime, base: QuerySet[Customer] | None = None
) -> QuerySet[Customer]:
    """The segment's customers (tombstones included), or `base` (a bulk action's set),
    each with its e-mail and the reason it is left out ("" for those who get it)."""
    if base is not None:
        customers = base
    else:
        rules = campaign.segment.rules if campaign.segment is not None else {"not": {}}
        customers = segment_customers(rules=rules, include_merged=True)
    reasons = [
        When(merged_into__isnull=False, then=Value(ExclusionReason.MERGED)),
        When(m_email__isnull=True, then=Value(ExclusionReason.NO_EMAIL)),
        When(m_bounced=True, then=Value(ExclusionReason.BOUNCED)),
        When(m_consent=False, then=Value(ExclusionReason.UNSUBSCRIBED)),
        When(m_consent__isnull=True, then=Value(ExclusionReason.NO_CONSENT)),
    ]
    annotations: dict[str, Any] = {
        "m_email": primary_email(),
        "m_bounced": Exists(EmailBounce.objects.filter(customer=OuterRef("pk"))),
        "m_consent": latest_consent(ConsentChannel.EMAIL, ConsentPurpose.MARKETING),
    }
    if campaign.cap_messages:
        annotations["m_recent"] = recent_sends(since=now - dt.timedelta(days=campaign.cap_days))
        reasons.append(When(m_recent__gte=campaign.cap_messages, then=Value(ExclusionReason.FREQUENCY_CAP)))
    return customers.annotate(**annotations).annotate(
        **{REASON: Case(*reasons, default=Value(ELIGIBLE), output_field=CharField())}
    )


def _insert_members(campaign: Campaign, eligible: QuerySet[Customer], now: dt.datetime) -> int:
    """INSERT ... SELECT of the eligible customers as pending members (a member already
    there is kept: a retried launch adds nobody twice)."""
    rows = eligible.annotate(
        m_campaign=Value(campaign.pk, output_field=BigIntegerField()),
        m_status=Value(MemberStatus.PENDING, output_field=CharField()),
        m_now=Value(now, output_field=DateTimeField()),
        m_key=Value("", output_field=CharField()),
        m_address=Coalesce("m_email", Value(""), output_field=CharField()),
    ).values_list("m_campaign", "pk", "m_address", "m_status", "m_key", "m_now", "m_now")
    select, params = rows.query.sql_with_params()
    table = connection.ops.quote_name(CampaignMember._meta.db_table)
    columns = ", ".join(
        connection.ops.quote_name(c)
        for c in ("campaign_id", "customer_id", "email", "status", "send_key", "created_at", "updated_at")
    )
    # The SELECT always has a WHERE (the reason filter), which SQLite's parser needs
    # before ON CONFLICT.
    sql = f"INSERT INTO {table} ({columns}) {select} ON CONFLICT DO NOTHING"
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return max(cursor.rowcount, 0)


@transaction.atomic
def campaign_launch(*, actor: Actor, campaign_id: int, expected_version: int | None = None) -> Campaign:
    """Snapshot the audience, record the exclusions by reason, start the campaign and
    (e-mail) queue the sending after commit. 6 queries plus the segment's own, whatever
    the audience size."""
    campaign = lock(Campaign, campaign_id, what="campaign")
    authorize(actor, LAUNCH, message="You may not launch campaigns.")
    check_version(campaign, expected_version)
    check_transition(campaign, CampaignStatus.RUNNING)
    ready_to_send(campaign)
    now = timezone.now()
    annotated = audience(campaign, now=now)
    counts = {row[REASON]: row["n"] for row in annotated.values(REASON).annotate(n=Count("pk")).order_by()}
    if not campaign.sends_email:
        # Tracked-only channels reach people elsewhere: every live customer of the
        # segment is a member, whatever their e-mail consent.
        counts = {
            ELIGIBLE: sum(n for r, n in counts.items() if r != ExclusionReason.MERGED),
            **(
                {ExclusionReason.MERGED: counts[ExclusionReason.MERGED]}
                if ExclusionReason.MERGED in counts
                else {}
            ),
        }
        eligible = annotated.filter(merged_into__isnull=True)
    else:
        eligible = annotated.filter(**{REASON: ELIGIBLE})
    _insert_members(campaign, eligible, now)
    campaign.exclusions = {reason: n for reason, n in counts.items() if reason != ELIGIBLE}
    campaign.status = CampaignStatus.RUNNING
    campaign.launched_at = now
    if campaign.starts_at is None or campaign.starts_at > now:
        campaign.starts_at = now
    if campaign.ends_at is not None and campaign.ends_at <= campaign.starts_at:
        raise ValidationError({"ends_at": ["The campaign's end has passed: move it before launching."]})
    bump_version(campaign)
    campaign.save()
    return campaign
