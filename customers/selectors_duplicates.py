"""Reads for finding and merging duplicates: look-alike customers (same e-mail or phone,
a similar name), candidate pairs across the base, and what a merge would move."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import F, Q
from django.db.models.expressions import RawSQL

from customers.choices import ContactKind
from customers.models import ContactPoint, Customer, NameNeighbour
from customers.models import DuplicatePair as StoredPair
from customers.normalise import most_similar_names, name_neighbour_keys, normalise_email, normalise_phone
from customers.selectors import customer_base_queryset, customer_get
from frontoffice import plugin


@dataclass
class DuplicatePair:
    customer: Customer
    duplicate: Customer
    reasons: list[str]


# Rows read on each side of a name's own value under each of its neighbour keys.
NEIGHBOURS = 25


def similar_name_ids(customer: Customer, limit: int = 20) -> list[int]:
    """Live customers of the same kind whose name looks like `customer`'s, most alike
    first; at most `limit` (one query).

    Candidates are the names filed next to this one (`NameNeighbour`, kept by
    `customers.duplicate_index`): under each of its keys (its distinctive words as they
    are and reversed, and per word the other words, as they are and reversed) the
    `NEIGHBOURS` rows on each side of its own value in sort order, and the newest `limit`
    customers with the same distinctive words (all alike, 1.0: with ties going to the
    newer, those are the answer when there are that many). A bounded read whatever the
    size of the base: the trigram index it replaced read posting lists and rows over its
    threshold that grew with the base (18 to 78 ms at 30,000 to 1,000,000 customers,
    issue 15). The candidates are then scored on their distinctive words only
    (`normalise.name_similarity`): words many names share ("Logistics", "Services";
    legal forms are out of the key already) never make a match.
    """
    keys = name_neighbour_keys(customer.name_key)
    if not keys or limit <= 0:
        return []
    table = connection.ops.quote_name(NameNeighbour._meta.db_table)
    parts: list[str] = []
    params: list[Any] = []
    for key, value in keys:
        for compare, order in ((">", "value"), ("<", "value DESC")):
            parts.append(
                f"SELECT customer_id FROM (SELECT customer_id FROM {table} WHERE kind = %s AND key = %s"  # noqa: S608
                f" AND value {compare} %s ORDER BY {order} LIMIT %s) AS n{len(parts)}"
            )
            params += [customer.kind, key, value, NEIGHBOURS]
        if key == "k":
            parts.append(
                f"SELECT customer_id FROM (SELECT customer_id FROM {table} WHERE kind = %s AND key = %s"  # noqa: S608
                f" AND value = %s ORDER BY customer_id DESC LIMIT %s) AS n{len(parts)}"
            )
            params += [customer.kind, key, value, limit + 1]  # the customer itself may be one
    near = RawSQL(" UNION ALL ".join(parts), params)  # noqa: S611 - names from the model; values are parameters
    candidates = (
        customer_base_queryset()
        .filter(kind=customer.kind, pk__in=near)
        .exclude(pk=customer.pk)
        .values_list("pk", "name_key")
    )
    return most_similar_names(
        customer.name_key, candidates, at_least=settings.DUPLICATE_NAME_SIMILARITY, limit=limit
    )


def customer_matching(*, email: str = "", phone: str = "") -> Customer | None:
    """The live customer someone giving `email` and/or `phone` already is, by the
    duplicate rules: the same normalised e-mail (case does not matter), else the same
    phone in any format the normaliser reads. A match on a customer merged away resolves
    to the survivor (tombstones point one hop: `merge._repoint_tombstones`). None when
    nobody matches (at most 3 queries)."""
    for kind, value in (
        (ContactKind.EMAIL, _normalised(email, normalise_email)),
        (ContactKind.PHONE, _normalised(phone, normalise_phone)),
    ):
        if not value:
            continue
        row = (
            ContactPoint.objects.filter(kind=kind, value=value)
            # A live customer's address before a tombstone's, the primary one first.
            .order_by(F("customer__merged_into_id").asc(nulls_first=True), "-is_primary", "id")
            .values_list("customer_id", "customer__merged_into_id")
            .first()
        )
        if row is not None:
            customer_id, survivor_id = row
            found = customer_base_queryset().filter(pk=survivor_id or customer_id).first()
            if found is not None:
                return found
    return None


def _normalised(raw: str, normalise: Any) -> str:
    try:
        return str(normalise(raw)) if raw else ""
    except ValidationError:
        return ""


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
        if reference.derived:
            continue  # an index's rows, dropped with the duplicate: nothing a person sees move
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
