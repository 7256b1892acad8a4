"""A campaign's launch: the segment's audience snapshotted, in a fixed number of queries
whatever its size.

Who is left out, and why (marketing.choices.ExclusionReason, first reason wins): merged
away, no e-mail address, a bounced address, unsubscribed (the latest e-mail marketing
consent is a withdrawal), no consent (never granted), over the frequency cap (N
marketing e-mails in M days, across campaigns, counting the members sent or pending and
the snapshots not yet written). E-mail campaigns: one pass over the audience counts the
reasons and stores the eligible ids as one value (marketing.models.CampaignAudience: a
SELECT, parallel on PostgreSQL, then the INSERT; no row travels through Python); the
sending writes them as members batch by batch (marketing.campaigns.sending). Tracked-only channels (nothing
sent) write their members at launch with one INSERT ... SELECT.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import (
    BigIntegerField,
    Case,
    CharField,
    Count,
    DateTimeField,
    F,
    FilteredRelation,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.expressions import RawSQL
from django.db.models.functions import Coalesce
from django.utils import timezone

from customers.choices import ConsentChannel, ConsentPurpose, ContactKind
from customers.models import ContactPoint, Customer
from frontoffice.actors import Actor
from frontoffice.write_path import authorize, bump_version, check_version, lock
from marketing.campaigns.services import LAUNCH, check_transition, ready_to_send
from marketing.choices import CampaignChannel, CampaignStatus, ExclusionReason, MemberStatus
from marketing.models import Campaign, CampaignAudience, CampaignMember, EmailBounce
from marketing.segments.selectors import segment_customers

ELIGIBLE = ""
# The annotation naming why a customer is left out (a name, not a keyword: the type
# checker's plugin cannot see annotations through the queryset's type).
REASON = "m_reason"


def primary_email() -> Subquery:
    """The customer's e-mail address: the primary one, else their first."""
    return Subquery(
        ContactPoint.objects.filter(customer=OuterRef("pk"), kind=ContactKind.EMAIL)
        .order_by("-is_primary", "id")
        .values("value")[:1]
    )


def with_email(customers: QuerySet[Customer]) -> QuerySet[Customer]:
    """`customers` with `m_email`: the primary address through a join (at most one per
    customer, a unique constraint), the sub-select only for those with no primary one."""
    joined = customers.annotate(
        m_primary_email=FilteredRelation(
            "contact_points",
            condition=Q(contact_points__kind=ContactKind.EMAIL, contact_points__is_primary=True),
        )
    )
    return joined.annotate(m_email=Coalesce(F("m_primary_email__value"), primary_email()))


def with_email_consent(customers: QuerySet[Customer]) -> QuerySet[Customer]:
    """`customers` with `m_consent`, their current e-mail marketing consent (True, False,
    NULL: never asked), joined from the hub's current-consent row (at most one per
    customer: a unique constraint), so no ledger walk and no sub-select per customer."""
    joined = customers.annotate(
        m_current_consent=FilteredRelation(
            "current_consents",
            condition=Q(
                current_consents__channel=ConsentChannel.EMAIL,
                current_consents__purpose=ConsentPurpose.MARKETING,
            ),
        )
    )
    return joined.annotate(m_consent=F("m_current_consent__granted"))


def no_email() -> Q:
    """The customer has no e-mail address: no primary one (the join of `with_email`)
    and no other (an uncorrelated `IN`: a hashed sub-plan run once, where a sub-select
    per customer would keep PostgreSQL from running the audience in parallel)."""
    others = ContactPoint.objects.filter(kind=ContactKind.EMAIL, is_primary=False).values("customer_id")
    return Q(m_primary_email__isnull=True) & ~Q(pk__in=others)


def bounced() -> Q:
    """An address of the customer bounced: an uncorrelated `IN` (a hashed sub-plan, so
    the audience may run in parallel on PostgreSQL)."""
    return Q(pk__in=EmailBounce.objects.filter(customer__isnull=False).values("customer_id"))


def audience(campaign: Campaign, *, base: QuerySet[Customer] | None = None) -> QuerySet[Customer]:
    """The segment's customers (tombstones included), or `base` (a bulk action's set),
    each with its e-mail and the reason it is left out ("" for those who get it), the
    frequency cap aside: `reasoned` adds it, with a join."""
    if base is not None:
        customers = base
    else:
        rules = campaign.segment.rules if campaign.segment is not None else {"not": {}}
        customers = segment_customers(rules=rules, include_merged=True)
    reasons = [
        When(merged_into__isnull=False, then=Value(ExclusionReason.MERGED)),
        When(no_email(), then=Value(ExclusionReason.NO_EMAIL)),
        When(bounced(), then=Value(ExclusionReason.BOUNCED)),
        When(m_consent=False, then=Value(ExclusionReason.UNSUBSCRIBED)),
        When(m_consent__isnull=True, then=Value(ExclusionReason.NO_CONSENT)),
    ]
    return with_email_consent(with_email(customers)).annotate(
        **{REASON: Case(*reasons, default=Value(ELIGIBLE), output_field=CharField())}
    )


def insert_members(campaign: Campaign, eligible: QuerySet[Customer], now: dt.datetime) -> int:
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


def unwritten_ids(since: dt.datetime) -> tuple[str, tuple[Any, ...]]:
    """SQL of (cid): a row per customer and running campaign launched since `since`
    whose snapshot still holds them, not yet written as a member (they are about to be
    sent: the frequency cap counts them)."""
    audiences = connection.ops.quote_name(CampaignAudience._meta.db_table)
    campaigns = connection.ops.quote_name(Campaign._meta.db_table)
    if connection.vendor == "postgresql":
        sql = (
            f"SELECT x.cid FROM {audiences} au JOIN {campaigns} c ON c.id = au.campaign_id "  # noqa: S608
            "CROSS JOIN LATERAL unnest(au.customer_ids[au.written + 1:]) AS x(cid) "
            "WHERE au.written < au.total AND c.status = %s AND c.launched_at >= %s"
        )
    else:
        sql = (
            f"SELECT CAST(j.value AS INTEGER) AS cid FROM {audiences} au "  # noqa: S608
            f"JOIN {campaigns} c ON c.id = au.campaign_id, json_each(au.customer_ids) AS j "
            "WHERE j.key >= au.written AND c.status = %s AND c.launched_at >= %s"
        )
    return sql, (CampaignStatus.RUNNING, since)


def recent_counts(since: dt.datetime) -> tuple[str, tuple[Any, ...]]:
    """SQL of (cid, n): per customer, the marketing e-mails sent or about to be since
    `since` (members sent or pending in the window, and the ids of running campaigns'
    snapshots not yet written), for a join: one pass over the window, not a sub-select
    per customer."""
    window = Q(sent_at__gte=since) | Q(status=MemberStatus.PENDING, created_at__gte=since)
    # Only e-mail campaigns' members: an event, SMS or paid campaign sends no e-mail.
    members, member_params = (
        CampaignMember.objects.filter(window, campaign__channel=CampaignChannel.EMAIL)
        .order_by()
        .values("customer_id")
        .query.sql_with_params()
    )
    unwritten, unwritten_params = unwritten_ids(since)
    # The union's column is the first SELECT's: customer_id.
    sql = f"SELECT s.customer_id, COUNT(*) FROM ({members} UNION ALL {unwritten}) s GROUP BY s.customer_id"  # noqa: S608
    return sql, (*member_params, *unwritten_params)


def reasoned(
    campaign: Campaign, annotated: QuerySet[Customer], now: dt.datetime
) -> tuple[str, tuple[Any, ...]]:
    """CTEs ending with `a (customer_id, reason)`: the audience (`audience`) and why
    each is left out, the frequency cap (the last reason) counting
    the members sent or pending and the snapshots not yet written, joined per customer
    (`recent_counts`). Each customer's reason is computed once (NULLIF); nothing in it
    is a sub-select per customer, so PostgreSQL may run it in parallel."""
    select, params = annotated.values_list("pk", REASON).query.sql_with_params()
    if not campaign.cap_messages:
        return f"a (customer_id, reason) AS ({select})", tuple(params)
    recent, recent_params = recent_counts(now - dt.timedelta(days=campaign.cap_days))
    sql = (
        f"a0 (customer_id, reason) AS ({select}), r (cid, n) AS ({recent}), "  # noqa: S608
        "a (customer_id, reason) AS (SELECT a0.customer_id, "
        "COALESCE(NULLIF(a0.reason, %s), CASE WHEN r.n >= %s THEN %s ELSE %s END) "
        "FROM a0 LEFT JOIN r ON r.cid = a0.customer_id)"
    )
    return sql, (
        *params,
        *recent_params,
        ELIGIBLE,
        campaign.cap_messages,
        ExclusionReason.FREQUENCY_CAP.value,
        ELIGIBLE,
    )


def eligible(campaign: Campaign, annotated: QuerySet[Customer], now: dt.datetime) -> QuerySet[Customer]:
    """The customers of the audience (`audience`) who get the campaign, the frequency
    cap included (`reasoned`: members and snapshots not yet written), with their
    address: the reasons are a sub-query, a semi-join on PostgreSQL."""
    ctes, params = reasoned(campaign, annotated, now)
    # The pieces are the ORM's own SQL, table and column names; values go as parameters.
    sql = f"WITH {ctes} SELECT customer_id FROM a WHERE reason = %s"  # noqa: S608
    ids = RawSQL(sql, (*params, ELIGIBLE))  # noqa: S611
    return with_email(Customer.objects.filter(pk__in=ids))


def snapshot(campaign: Campaign, annotated: QuerySet[Customer], now: dt.datetime) -> dict[str, int]:
    """Store the eligible customers' ids as the campaign's audience (written as members
    by the sending, batch by batch) and count the segment by reason ("" for those it
    goes to), in one pass over the audience: a SELECT of the counts and the ids, then
    the INSERT of the ids.

    PostgreSQL: the ids come back as the text of a `bigint[]` and go to the INSERT as
    they are (no Python list of them). The SELECT is not part of the INSERT: a
    statement that writes never runs in parallel, and the audience's SELECT may. Its
    audience is a sub-query behind OFFSET 0, so each reason is computed once, by the
    parallel workers, not once per count. Elsewhere: the ids as a JSON list."""
    reasons = [ELIGIBLE, *ExclusionReason.values]
    ctes, params = reasoned(campaign, annotated, now)
    counts = ", ".join(f"COUNT(*) FILTER (WHERE reason = %s) AS n{i}" for i in range(len(reasons)))
    table = connection.ops.quote_name(CampaignAudience._meta.db_table)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # The pieces are the ORM's own SQL, table and column names; values go as parameters.
            cursor.execute(
                f"WITH {ctes} SELECT (array_agg(customer_id) FILTER (WHERE reason = %s))::text, "  # noqa: S608
                f"{counts} FROM (SELECT customer_id, reason FROM a OFFSET 0) a",
                (*params, ELIGIBLE, *reasons),
            )
            ids, *row = cursor.fetchone()
            found = dict(zip(reasons, row, strict=True))
            cursor.execute(
                f"INSERT INTO {table} (campaign_id, customer_ids, total, written, created_at) "  # noqa: S608
                "VALUES (%s, %s::bigint[], %s, 0, %s)",
                (campaign.pk, ids or "{}", found[ELIGIBLE], now),
            )
        else:
            cursor.execute(
                f"WITH {ctes} SELECT json_group_array(customer_id) FILTER (WHERE reason = %s), "  # noqa: S608
                f"{counts} FROM a",
                (*params, ELIGIBLE, *reasons),
            )
            ids, *row = cursor.fetchone()
            found = dict(zip(reasons, row, strict=True))
            CampaignAudience.objects.create(
                campaign=campaign,
                customer_ids=json.loads(ids) if ids else [],
                total=found[ELIGIBLE],
                created_at=now,
            )
    return {reason: n for reason, n in found.items() if n}


def snapshot_members(campaign: Campaign, annotated: QuerySet[Customer], now: dt.datetime) -> dict[str, int]:
    """Tracked-only channels (nothing sent): every live customer of the segment written
    as a member at launch, whatever their e-mail consent; counts by reason."""
    counts = {row[REASON]: row["n"] for row in annotated.values(REASON).annotate(n=Count("pk")).order_by()}
    written = insert_members(campaign, annotated.filter(merged_into__isnull=True), now)
    CampaignAudience.objects.create(campaign=campaign, total=written, written=written, created_at=now)
    return counts


@transaction.atomic
def campaign_launch(*, actor: Actor, campaign_id: int, expected_version: int | None = None) -> Campaign:
    """Snapshot the audience, record the exclusions by reason, start the campaign and
    (e-mail) queue the sending after commit. A fixed number of queries (the snapshot is
    two statements) plus the segment's own, whatever the audience size."""
    campaign = lock(Campaign, campaign_id, what="campaign")
    authorize(actor, LAUNCH, message="You may not launch campaigns.")
    check_version(campaign, expected_version)
    check_transition(campaign, CampaignStatus.RUNNING)
    ready_to_send(campaign)
    now = timezone.now()
    if campaign.sends_email:
        counts = snapshot(campaign, audience(campaign), now)
    else:
        counts = snapshot_members(campaign, audience(campaign), now)
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
    campaign.exclusions = {reason: n for reason, n in counts.items() if reason != ELIGIBLE}
    campaign.status = CampaignStatus.RUNNING
    campaign.launched_at = now
    campaign.launch_problem = ""  # an earlier failed launch by beat is no longer the news
    if campaign.starts_at is None or campaign.starts_at > now:
        campaign.starts_at = now
    if campaign.ends_at is not None and campaign.ends_at <= now:  # starts_at <= now here
        raise ValidationError({"ends_at": ["The campaign's end has passed: move it before launching."]})
    bump_version(campaign)
    campaign.save()
    if campaign.sends_email:
        from marketing.campaigns.sending import send_on_commit  # sending reads the members

        send_on_commit(campaign.pk)
    return campaign
