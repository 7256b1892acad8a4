"""Bulk actions on a set of customers (a segment, or the customer list as filtered): tag
them, give them an owner, add them to a running campaign (with the launch's exclusions),
or export them as CSV (streamed, with formula-safe cells). Each write is one
transaction in a fixed number of queries; each customer's version moves on, so a client
holding an old ETag re-reads it.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator, Mapping
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, OuterRef, QuerySet, Subquery
from django.db.models.functions import Lower
from django.utils import timezone

from customers.models import ContactPoint, Customer, Tag
from customers.selectors import customer_list
from frontoffice.actors import Actor
from frontoffice.csv_import import formula_safe
from frontoffice.errors import Conflict
from frontoffice.models import User
from frontoffice.write_path import as_id, authorize, clean_text, lock
from marketing.campaigns.launch import audience, eligible, insert_members
from marketing.choices import CampaignStatus
from marketing.models import Campaign, Segment
from marketing.segments.selectors import segment_customers

BULK_CHANGE = ("customers.change_customer", "customers.change_any_customer")
EXPORT = "marketing.export_customers"
MAX_TAG = 50


def customers_for(*, segment_id: Any = None, filters: Mapping[str, Any] | None = None) -> QuerySet[Customer]:
    """The live customers of a segment, or of the customer list with `filters` (its own
    query parameters): the set a bulk action works on."""
    if segment_id not in (None, ""):
        segment_pk = as_id(segment_id)
        segment = Segment.objects.filter(pk=segment_pk).first() if segment_pk is not None else None
        if segment is None:
            raise ValidationError({"segment": ["No such segment."]})
        return segment_customers(rules=segment.rules)
    return customer_list(filters=filters or {}).order_by()


def _ids(customers: QuerySet[Customer]) -> QuerySet[Customer]:
    return Customer.objects.filter(pk__in=customers.values("pk"), merged_into__isnull=True)


@transaction.atomic
def bulk_tag(*, actor: Actor, customers: QuerySet[Customer], tag: str) -> int:
    """Put `tag` on every customer of the set (those who have it keep it). Returns how
    many got it."""
    authorize(actor, *BULK_CHANGE, "customers.add_tag", message="You may not tag customers in bulk.")
    errors: dict[str, list[str]] = {}
    name = clean_text(errors, "tag", tag, MAX_TAG)
    if not name and "tag" not in errors:
        errors["tag"] = ["Name the tag."]
    if errors:
        raise ValidationError(errors)
    found = Tag.objects.annotate(lname=Lower("name")).filter(lname=name.lower()).first()
    label = found or Tag.objects.create(name=name)
    through = Customer.tags.through
    targets = _ids(customers).exclude(tags=label)
    ids = list(targets.values_list("pk", flat=True))
    through.objects.bulk_create([through(customer_id=pk, tag_id=label.pk) for pk in ids], batch_size=1000)
    Customer.objects.filter(pk__in=ids).update(version=F("version") + 1, updated_at=timezone.now())
    return len(ids)


@transaction.atomic
def bulk_assign_owner(*, actor: Actor, customers: QuerySet[Customer], owner_id: Any) -> int:
    """Give every customer of the set the owner `owner_id` (an active user)."""
    authorize(actor, *BULK_CHANGE, message="You may not reassign customers in bulk.")
    owner_pk = as_id(owner_id)
    owner = User.objects.filter(pk=owner_pk, is_active=True).first() if owner_pk is not None else None
    if owner is None:
        raise ValidationError({"owner": ["No such active user."]})
    return _ids(customers).update(owner=owner, version=F("version") + 1, updated_at=timezone.now())


@transaction.atomic
def bulk_add_to_campaign(*, actor: Actor, customers: QuerySet[Customer], campaign_id: Any) -> int:
    """Add the set to a running campaign's audience, with the launch's exclusions
    (consent, bounces, frequency cap: members sent or pending and snapshots not yet
    written); members already there stay as they are."""
    campaign = lock(Campaign, campaign_id, what="campaign")
    authorize(actor, "marketing.launch_campaign", message="You may not add customers to campaigns.")
    if campaign.status != CampaignStatus.RUNNING:
        raise Conflict("Only a running campaign takes more members; a draft's audience is its segment.")
    now = timezone.now()
    targets = audience(campaign, base=_ids(customers))
    if campaign.sends_email:
        targets = eligible(campaign, targets, now)
    added = insert_members(campaign, targets, now)
    if added and campaign.sends_email:
        from marketing.campaigns.sending import send_on_commit

        send_on_commit(campaign.pk)
    return added


class _Echo:
    def write(self, value: str) -> str:
        return value


def export_rows(*, actor: Actor, customers: QuerySet[Customer], batch: int = 2000) -> Iterator[str]:
    """CSV lines of the set (id, name, kind, stage, e-mail, owner, created, tags: the
    names in alphabetical order, separated by "; "), every cell formula-safe, streamed
    in keyset batches (two queries per batch, the customers and their tags, whatever
    the size)."""
    authorize(actor, "customers.view_customer", EXPORT, message="You may not export customers.")
    writer = csv.writer(_Echo())
    yield writer.writerow(["id", "name", "kind", "lifecycle_stage", "email", "owner", "created_at", "tags"])
    email = Subquery(
        ContactPoint.objects.filter(customer=OuterRef("pk"), kind="email")
        .order_by("-is_primary", "id")
        .values("value")[:1]
    )
    rows = _ids(customers).annotate(m_email=email).order_by("pk")
    last = 0
    while True:
        chunk = list(
            rows.filter(pk__gt=last).values_list(
                "pk", "display_name", "kind", "lifecycle_stage", "m_email", "owner__username", "created_at"
            )[:batch]
        )
        tags: dict[int, list[str]] = {}
        if chunk:
            links = Customer.tags.through.objects.filter(customer_id__in=[row[0] for row in chunk])
            for customer_id, name in links.order_by(Lower("tag__name"), "tag__name").values_list(
                "customer_id", "tag__name"
            ):
                tags.setdefault(customer_id, []).append(name)
        for row in chunk:
            yield writer.writerow([formula_safe(v) for v in (*row, "; ".join(tags.get(row[0], [])))])
        if len(chunk) < batch:
            return
        last = chunk[-1][0]
