"""Every non-trivial read of the customer profile, each with a fixed query count."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import difflib
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.db.models import Count, OuterRef, Prefetch, Q, QuerySet, Subquery, prefetch_related_objects
from django.http import Http404

from customers.choices import ContactKind
from customers.filters import CustomerFilter
from customers.models import Activity, ConsentEvent, ContactPoint, Customer, Relationship
from frontoffice import plugin

TIMELINE_PAGE = 50
GENERIC_PANEL_TEMPLATE = "customers/_panel_generic.html"


def customer_base_queryset() -> QuerySet[Customer]:
    return Customer.objects.filter(merged_into__isnull=True)


def customer_list(*, filters: Any = None, actor: Any = None) -> QuerySet[Customer]:
    """Live customers, filtered, with what a list row shows (4 queries per page)."""
    queryset = (
        customer_base_queryset()
        .select_related("owner")
        .prefetch_related(
            "tags",
            Prefetch(
                "contact_points",
                queryset=ContactPoint.objects.filter(is_primary=True).exclude(kind=ContactKind.ADDRESS),
                to_attr="primary_contacts",
            ),
        )
    )
    return CustomerFilter(filters or {}, queryset=queryset).qs


def customer_get(*, customer_id: Any) -> Customer:
    """One customer, tombstones included (callers redirect those to the survivor)."""
    try:
        return Customer.objects.select_related("owner", "parent", "merged_into").get(pk=int(customer_id))
    except (Customer.DoesNotExist, TypeError, ValueError, OverflowError):
        raise Http404("No such customer.") from None


def consent_state(*, customer: Customer) -> list[ConsentEvent]:
    """The latest ledger entry per (channel, purpose): the current consent."""
    latest = (
        ConsentEvent.objects.filter(
            customer_id=OuterRef("customer_id"), channel=OuterRef("channel"), purpose=OuterRef("purpose")
        )
        .order_by("-occurred_at", "-id")
        .values("pk")[:1]
    )
    return list(
        ConsentEvent.objects.filter(customer=customer, pk=Subquery(latest))
        .select_related("actor")
        .order_by("channel", "purpose")
    )


def has_consent(*, customer: Customer, channel: str, purpose: str) -> bool:
    last = (
        ConsentEvent.objects.filter(customer=customer, channel=channel, purpose=purpose)
        .order_by("-occurred_at", "-id")
        .values_list("granted", flat=True)
        .first()
    )
    return bool(last)


# --- timeline -------------------------------------------------------------------


def encode_cursor(activity: Activity) -> str:
    raw = f"{activity.occurred_at.isoformat()}|{activity.pk}"
    return base64.urlsafe_b64encode(raw.encode()).decode()


def decode_cursor(cursor: str | None) -> tuple[dt.datetime, int] | None:
    if not cursor:
        return None
    try:
        occurred, pk = base64.urlsafe_b64decode(cursor.encode()[:200]).decode().split("|")
        moment = dt.datetime.fromisoformat(occurred)
        if moment.tzinfo is None:
            return None
        return moment, int(pk)
    except (ValueError, binascii.Error, UnicodeError):
        return None


def timeline_page(
    *, customer: Customer, cursor: str | None = None, limit: int = TIMELINE_PAGE, kind: str | None = None
) -> tuple[list[Activity], str | None]:
    """Newest first, keyset-paginated on (occurred_at, id), of one `kind` or all: one
    query per page."""
    queryset = Activity.objects.filter(customer=customer).select_related("actor")
    if kind:
        queryset = queryset.filter(kind=kind)
    position = decode_cursor(cursor)
    if position is not None:
        moment, pk = position
        queryset = queryset.filter(Q(occurred_at__lt=moment) | Q(occurred_at=moment, id__lt=pk))
    rows = list(queryset.order_by("-occurred_at", "-id")[: limit + 1])
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (encode_cursor(rows[-1]) if more and rows else None)


# --- the 360 view ------------------------------------------------------------------


@dataclass
class Customer360:
    customer: Customer
    tags: list
    contact_points: list[ContactPoint]
    consents: list[ConsentEvent]
    memberships: list[Relationship]
    members: list[Relationship]
    subsidiaries: list[Customer]
    timeline: list[Activity]
    timeline_cursor: str | None
    panels: list[dict[str, Any]] = field(default_factory=list)
    history: list[Any] | None = None


def customer_360(
    *,
    customer_id: Any,
    actor: Any,
    customer: Customer | None = None,
    load_panels: bool = True,
    timeline_kind: str | None = None,
) -> Customer360:
    """Everything the 360 page and endpoint show, in a bounded number of queries
    whatever the data: customer, tags, contact points, consent, relations (one
    query both ways), subsidiaries, 50 timeline entries, audit, plus one or two per
    registered panel (none with `load_panels=False`). A caller that already loaded the customer (with owner, parent
    and merged_into selected) passes it and saves that query."""
    if customer is None or customer.pk != int(customer_id):
        customer = customer_get(customer_id=customer_id)
    # Prefetched onto the customer, so that whoever serialises it next (the API's
    # CustomerSerializer) reads the same tags instead of asking again.
    prefetch_related_objects([customer], "tags")
    tags = list(customer.tags.all())
    contact_points = list(customer.contact_points.all())
    consents = consent_state(customer=customer)
    relations = list(
        Relationship.objects.filter(Q(person=customer) | Q(organisation=customer))
        .select_related("person", "organisation")
        .order_by("id")[:200]
    )
    subsidiaries = list(customer.subsidiaries.filter(merged_into__isnull=True).order_by("display_name")[:50])
    timeline, cursor = timeline_page(customer=customer, kind=timeline_kind)
    history = None
    if actor.has_perm("customers.view_customer_history"):
        history = list(customer.history.select_related("history_user").order_by("-history_date")[:20])
    # The page loads each panel in a request of its own (`load_panels=False`: the titles
    # only), so that every app's panel adds nothing to the page's query count.
    loaded = [
        {
            "key": p.key,
            "title": p.title,
            "template": p.template or GENERIC_PANEL_TEMPLATE,
            "data": p.loader(customer=customer, actor=actor) if load_panels else None,
        }
        for p in plugin.panels()
        if plugin.allowed(actor, p.permission)
    ]
    return Customer360(
        customer=customer,
        tags=tags,
        contact_points=contact_points,
        consents=consents,
        memberships=[r for r in relations if r.person_id == customer.pk],
        members=[r for r in relations if r.organisation_id == customer.pk],
        subsidiaries=subsidiaries,
        timeline=timeline,
        timeline_cursor=cursor,
        panels=loaded,
        history=history,
    )


# --- duplicates ------------------------------------------------------------------


@dataclass
class DuplicatePair:
    customer: Customer
    duplicate: Customer
    reasons: list[str]


def similar_name_ids(customer: Customer, limit: int = 20) -> list[int]:
    """Live customers of the same kind whose name looks like `customer`'s, most alike
    first (trigram similarity on PostgreSQL, difflib elsewhere); at most `limit`."""
    base = customer_base_queryset().filter(kind=customer.kind).exclude(pk=customer.pk)
    if connection.vendor == "postgresql":
        from django.contrib.postgres.search import TrigramSimilarity

        return list(
            base.annotate(similarity=TrigramSimilarity("display_name", customer.display_name))
            .filter(similarity__gte=settings.DUPLICATE_NAME_SIMILARITY)
            .order_by("-similarity")
            .values_list("pk", flat=True)[:limit]
        )
    # Portable fallback: customers sharing the rarest-looking (longest) name token,
    # ranked by difflib's ratio on the normalised name.
    tokens = sorted(customer.name_key.split(), key=len, reverse=True)
    if not tokens:
        return []
    candidates = base.filter(name_key__contains=tokens[0]).values_list("pk", "name_key")[:500]
    scored = [(difflib.SequenceMatcher(None, customer.name_key, key).ratio(), pk) for pk, key in candidates]
    return [pk for ratio, pk in sorted(scored, reverse=True) if ratio >= settings.DUPLICATE_NAME_SIMILARITY][
        :limit
    ]


def duplicates_for(*, customer: Customer, limit: int = 20) -> list[DuplicatePair]:
    """Live customers that look like `customer`: same e-mail/phone, or a similar name."""
    reasons: dict[int, list[str]] = defaultdict(list)
    values = list(
        customer.contact_points.filter(kind__in=[ContactKind.EMAIL, ContactKind.PHONE]).values_list(
            "kind", "value"
        )
    )
    if values:
        match = Q()
        for kind, value in values:
            match |= Q(kind=kind, value=value)
        for other_id, kind, value in (
            ContactPoint.objects.filter(match, customer__merged_into__isnull=True)
            .exclude(customer=customer)
            .values_list("customer_id", "kind", "value")[:200]
        ):
            reasons[other_id].append(f"same {kind} {value}")
    for other_id in similar_name_ids(customer, limit):
        reasons[other_id].append("similar name")
    others = Customer.objects.in_bulk(list(reasons)[:limit])
    return [
        DuplicatePair(customer=customer, duplicate=others[pk], reasons=reasons[pk])
        for pk in list(reasons)[:limit]
        if pk in others
    ]


def duplicate_candidates(*, limit: int = 100) -> list[DuplicatePair]:
    """Pairs across the whole base: equal normalised e-mail or phone, or equal
    normalised name. Bounded: 3 queries whatever the size of the base."""
    limit = max(1, min(limit, 500))
    pair_reasons: dict[tuple[int, int], list[str]] = defaultdict(list)
    shared = (
        ContactPoint.objects.filter(
            kind__in=[ContactKind.EMAIL, ContactKind.PHONE], customer__merged_into__isnull=True
        )
        .values("kind", "value")
        .annotate(n=Count("customer_id", distinct=True))
        .filter(n__gt=1)
        .order_by("kind", "value")[:limit]
    )
    keys = [(row["kind"], row["value"]) for row in shared]
    if keys:
        match = Q()
        for kind, value in keys:
            match |= Q(kind=kind, value=value)
        groups: dict[tuple[str, str], list[int]] = defaultdict(list)
        for customer_id, kind, value in ContactPoint.objects.filter(match).values_list(
            "customer_id", "kind", "value"
        ):
            groups[(kind, value)].append(customer_id)
        for (kind, value), ids in groups.items():
            ids = sorted(set(ids))
            for other in ids[1:]:
                pair_reasons[(ids[0], other)].append(f"same {kind} {value}")
    same_names = (
        customer_base_queryset()
        .exclude(name_key="")
        .values("kind", "name_key")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
        .order_by("name_key")[:limit]
    )
    name_keys = [row["name_key"] for row in same_names]
    by_name: dict[tuple[str, str], list[int]] = defaultdict(list)
    for pk, kind, key in (
        customer_base_queryset().filter(name_key__in=name_keys).values_list("pk", "kind", "name_key")
    ):
        by_name[(kind, key)].append(pk)
    for ids in by_name.values():
        ids = sorted(ids)
        for other in ids[1:]:
            pair_reasons[(ids[0], other)].append("same name")
    chosen = list(pair_reasons.items())[:limit]
    customers = customer_base_queryset().in_bulk({pk for pair, _ in chosen for pk in pair})
    return [
        DuplicatePair(customer=customers[a], duplicate=customers[b], reasons=reasons)
        for (a, b), reasons in chosen
        if a in customers and b in customers
    ]


@dataclass
class MergePreview:
    survivor: Customer
    duplicate: Customer
    moves: dict[str, int]
    contact_points_moved: list[ContactPoint]
    contact_points_dropped: list[ContactPoint]
    tags_added: list[str]
    fields_filled: dict[str, Any]


def merge_preview(*, survivor_id: Any, duplicate_id: Any) -> MergePreview:
    """What `customer_merge` would move, without moving anything."""
    survivor = customer_get(customer_id=survivor_id)
    duplicate = customer_get(customer_id=duplicate_id)
    moves = {}
    for reference in plugin.merge_references():
        count = reference.model.objects.filter(**{reference.field_name: duplicate}).count()
        if count:
            moves[f"{reference.title} ({reference.field_name})"] = count
    kept = set(survivor.contact_points.values_list("kind", "value"))
    moved, dropped = [], []
    for cp in duplicate.contact_points.all():
        (dropped if (cp.kind, cp.value) in kept else moved).append(cp)
    survivor_tags = set(survivor.tags.values_list("name", flat=True))
    tags_added = sorted(set(duplicate.tags.values_list("name", flat=True)) - survivor_tags)
    filled = {
        key: value
        for key, value in (duplicate.attributes or {}).items()
        if key not in (survivor.attributes or {})
    }
    if not survivor.erp_customer_number and duplicate.erp_customer_number:
        filled["erp_customer_number"] = duplicate.erp_customer_number
    if not survivor.owner_id and duplicate.owner_id:
        filled["owner"] = str(duplicate.owner)
    return MergePreview(
        survivor=survivor,
        duplicate=duplicate,
        moves=moves,
        contact_points_moved=moved,
        contact_points_dropped=dropped,
        tags_added=tags_added,
        fields_filled=filled,
    )


def global_search(*, q: str, limit: int = 8) -> list[Customer]:
    """The search box: live customers by name, e-mail or phone, best names first."""
    q = (q or "").strip()
    if len(q) < 2:
        return []
    return list(customer_list(filters={"q": q}).order_by("display_name", "id")[:limit])


# --- pages: dashboard and audit history ------------------------------------------


@dataclass
class DashboardSummary:
    live_customers: int
    created_this_week: int
    week_start: dt.datetime
    recent_activities: list[Activity]


def dashboard_summary(*, actor: Any, now: dt.datetime | None = None, limit: int = 10) -> DashboardSummary:
    """The landing page's numbers: 2 queries whatever the size of the base."""
    from django.utils import timezone

    local = timezone.localtime(now or timezone.now())
    # "This week" starts on Monday at midnight in the site's time zone.
    week_start = (local - dt.timedelta(days=local.weekday())).replace(
        hour=0, minute=0, second=0, microsecond=0
    )
    counts = customer_base_queryset().aggregate(
        live=Count("id"), this_week=Count("id", filter=Q(created_at__gte=week_start))
    )
    recent = list(
        Activity.objects.filter(actor_id=actor.pk)
        .select_related("customer")
        .order_by("-occurred_at", "-id")[:limit]
    )
    return DashboardSummary(
        live_customers=counts["live"],
        created_this_week=counts["this_week"],
        week_start=week_start,
        recent_activities=recent,
    )


@dataclass
class HistoryChange:
    field: str
    old: Any
    new: Any

    @property
    def label(self) -> str:
        from django.core.exceptions import FieldDoesNotExist

        if self.field in _HISTORY_LABELS:
            return _HISTORY_LABELS[self.field]
        try:
            return str(Customer._meta.get_field(self.field).verbose_name).capitalize()
        except FieldDoesNotExist:
            return self.field


@dataclass
class HistoryEntry:
    record: Any
    action: str
    changes: list[HistoryChange]
    earlier_unknown: bool = False


_HISTORY_ACTIONS = {"+": "Created", "~": "Changed", "-": "Deleted"}
_HISTORY_LABELS = {"erp_customer_number": "ERP customer number", "attributes": "Custom attributes"}
# `version` changes with every write; showing it would only add noise.
_HISTORY_HIDDEN = ("version", "tags")


def _choice_label(field_name: str, value: Any) -> Any:
    """ "former" reads "Former customer" in the history, as on the page."""
    choices = getattr(Customer._meta.get_field(field_name), "flatchoices", None)
    return dict(choices).get(value, value) if choices else value


def customer_history_changes(*, records: list[Any]) -> list[HistoryEntry]:
    """Who changed what, newest first, from consecutive audit records (as loaded by
    `customer_360`). At most 2 queries: tag sets of every record, and the owners named
    in owner changes; field diffs are computed in memory."""
    from django.apps import apps

    from frontoffice.models import User

    if not records:
        return []
    through = apps.get_model("customers", "HistoricalCustomer_tags")
    tags_by_record: dict[int, set[str]] = defaultdict(set)
    for history_id, tag_name in through.objects.filter(
        history_id__in=[r.history_id for r in records]
    ).values_list("history_id", "tag__name"):
        tags_by_record[history_id].add(tag_name)
    entries: list[HistoryEntry] = []
    owner_ids: set[int] = set()
    for newer, older in zip(records, [*records[1:], None], strict=True):
        if older is None:
            entries.append(
                HistoryEntry(
                    record=newer,
                    action=_HISTORY_ACTIONS.get(newer.history_type, newer.history_type),
                    changes=[],
                    earlier_unknown=newer.history_type != "+",
                )
            )
            continue
        delta = newer.diff_against(older, excluded_fields=_HISTORY_HIDDEN)
        changes = [
            HistoryChange(c.field, _choice_label(c.field, c.old), _choice_label(c.field, c.new))
            for c in delta.changes
        ]
        old_tags, new_tags = tags_by_record[older.history_id], tags_by_record[newer.history_id]
        if old_tags != new_tags:
            changes.append(
                HistoryChange(
                    "tags", ", ".join(sorted(old_tags)) or None, ", ".join(sorted(new_tags)) or None
                )
            )
        owner_ids.update(c.old for c in changes if c.field == "owner" and c.old)
        owner_ids.update(c.new for c in changes if c.field == "owner" and c.new)
        entries.append(
            HistoryEntry(
                record=newer,
                action=_HISTORY_ACTIONS.get(newer.history_type, newer.history_type),
                changes=changes,
            )
        )
    if owner_ids:
        owners = User.objects.in_bulk(owner_ids)
        for entry in entries:
            for change in entry.changes:
                if change.field == "owner":
                    change.old = owners.get(change.old, change.old) if change.old else None
                    change.new = owners.get(change.new, change.new) if change.new else None
    return entries


def customer_panel(*, customer: Customer, key: str, actor: Any) -> dict[str, Any]:
    """One registered 360 panel with its data (the panel's own queries). Http404 for a
    panel that does not exist, PermissionDenied for one the actor may not see."""
    panel = plugin.panel(key)
    if panel is None:
        raise Http404("No such panel.")
    if panel.permission is not None and not actor.has_perm(panel.permission):
        raise PermissionDenied("You may not see this panel.")
    return {
        "key": panel.key,
        "title": panel.title,
        "template": panel.template or GENERIC_PANEL_TEMPLATE,
        "data": panel.loader(customer=customer, actor=actor),
    }
