"""Reads for finding and merging duplicates: look-alike customers (same e-mail or phone,
a similar name), candidate pairs across the base, and what a merge would move."""

from __future__ import annotations

import difflib
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import Q

from customers.choices import ContactKind
from customers.models import ContactPoint, Customer
from customers.models import DuplicatePair as StoredPair
from customers.selectors import customer_base_queryset, customer_get
from frontoffice import plugin


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

        # `display_name % name` with the threshold set for this session is answered
        # from the trigram index (15 ms at a million customers); the equivalent
        # `similarity(display_name, name) >= x` is computed for every row (518 ms).
        with connection.cursor() as cursor:
            cursor.execute("SELECT set_limit(%s)", [settings.DUPLICATE_NAME_SIMILARITY])
        return list(
            base.filter(display_name__trigram_similar=customer.display_name)
            .annotate(similarity=TrigramSimilarity("display_name", customer.display_name))
            .order_by("-similarity", "id")
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
    """Pairs across the whole base (equal normalised e-mail, phone or name), as the
    services keep them (customers.duplicate_index): 2 queries whatever the size of
    the base. Pairs with a customer merged since are left out."""
    limit = max(1, min(limit, 500))
    live = customer_base_queryset()
    rows = list(
        StoredPair.objects.filter(customer_a__merged_into__isnull=True, customer_b__merged_into__isnull=True)
        .order_by("customer_a_id", "customer_b_id")
        .values_list("customer_a_id", "customer_b_id", "reasons")[:limit]
    )
    customers = live.in_bulk({pk for a, b, _ in rows for pk in (a, b)})
    return [
        DuplicatePair(customer=customers[a], duplicate=customers[b], reasons=list(reasons))
        for a, b, reasons in rows
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
    moves: dict[str, int] = {}
    for reference in plugin.merge_references():
        count = reference.model.objects.filter(**{reference.field_name: duplicate}).count()
        if count:
            moves[f"{reference.title} ({reference.field_name})"] = count
    kept = set(survivor.contact_points.values_list("kind", "value"))
    moved: list[ContactPoint] = []
    dropped: list[ContactPoint] = []
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
