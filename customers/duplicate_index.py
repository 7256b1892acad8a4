"""The duplicate pairs behind the whole-base duplicates page, kept as the data changes.

`pairs_refresh` re-derives the pairs of a few customers (a handful of indexed reads);
the services call it in the transaction of every profile or contact-point change (through
`profile_changed` and `customer_create`). `pairs_rebuild` derives every pair from scratch
(after a bulk load that bypassed the services: the demo seed).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from django.db.models import Count, Q

from customers.choices import ContactKind
from customers.models import ContactPoint, Customer, DuplicatePair

# Pairs kept per customer and reason: a value shared by hundreds of customers (an
# office switchboard) is one reason to look, not hundreds of pairs.
PER_VALUE = 50
MATCHED_KINDS = (ContactKind.EMAIL, ContactKind.PHONE)


def _write(customer_ids: set[int], reasons: dict[tuple[int, int], list[str]]) -> None:
    DuplicatePair.objects.filter(
        Q(customer_a_id__in=customer_ids) | Q(customer_b_id__in=customer_ids)
    ).delete()
    DuplicatePair.objects.bulk_create(
        [
            DuplicatePair(customer_a_id=a, customer_b_id=b, reasons=why)
            for (a, b), why in sorted(reasons.items())
        ],
        ignore_conflicts=True,
    )


def _pair(one: int, other: int) -> tuple[int, int]:
    return (one, other) if one < other else (other, one)


def pairs_refresh(*, customer_ids: Iterable[int]) -> None:
    """Re-derive every pair one of `customer_ids` is in: 3 queries and the write, for
    any number of ids. A customer that is no longer live (merged) keeps no pair."""
    ids = {int(pk) for pk in customer_ids}
    if not ids:
        return
    live = {
        pk: (key, kind)
        for pk, key, kind in Customer.objects.filter(pk__in=ids, merged_into__isnull=True).values_list(
            "pk", "name_key", "kind"
        )
    }
    reasons: dict[tuple[int, int], list[str]] = defaultdict(list)
    values = list(
        ContactPoint.objects.filter(customer_id__in=list(live), kind__in=MATCHED_KINDS).values_list(
            "customer_id", "kind", "value"
        )
    )
    if values:
        match = Q()
        for matched in MATCHED_KINDS:
            wanted = {value for _, k, value in values if k == matched}
            if wanted:
                match |= Q(kind=matched, value__in=wanted)
        holders: dict[tuple[str, str], list[int]] = defaultdict(list)
        for other, kind, value in (
            ContactPoint.objects.filter(match, customer__merged_into__isnull=True)
            .order_by("kind", "value", "customer_id")
            .values_list("customer_id", "kind", "value")
        ):
            holders[(kind, value)].append(other)
        for customer_id, kind, value in values:
            for other in holders[(kind, value)][:PER_VALUE]:
                if other != customer_id:
                    reasons[_pair(customer_id, other)].append(f"same {kind} {value}")
    keys = {key for key, _ in live.values() if key}
    if keys:
        by_key: dict[tuple[str, str], list[int]] = defaultdict(list)
        for other, key, kind in (
            Customer.objects.filter(name_key__in=keys, merged_into__isnull=True)
            .order_by("name_key", "pk")
            .values_list("pk", "name_key", "kind")
        ):
            by_key[(key, kind)].append(other)
        for customer_id, (key, kind) in live.items():
            for other in by_key.get((key, kind), [])[:PER_VALUE]:
                if other != customer_id:
                    reasons[_pair(customer_id, other)].append("same name")
    # Each reason once, whichever side found it.
    _write(ids, {pair: sorted(set(why)) for pair, why in reasons.items()})


def pairs_rebuild(*, batch: int = 2000) -> int:
    """Every pair, from scratch: the customers that share an e-mail, a phone or a name
    key with another, refreshed a batch at a time. Returns the number of pairs."""
    DuplicatePair.objects.all().delete()
    shared = (
        ContactPoint.objects.filter(kind__in=MATCHED_KINDS, customer__merged_into__isnull=True)
        .values("kind", "value")
        .annotate(n=Count("customer_id", distinct=True))
        .filter(n__gt=1)
        .values("kind", "value")
    )
    involved: set[int] = set()
    for matched in MATCHED_KINDS:
        involved.update(
            ContactPoint.objects.filter(
                kind=matched, value__in=shared.filter(kind=matched).values("value")
            ).values_list("customer_id", flat=True)
        )
    same_names = (
        Customer.objects.filter(merged_into__isnull=True)
        .exclude(name_key="")
        .values("name_key")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
        .values("name_key")
    )
    involved.update(
        Customer.objects.filter(merged_into__isnull=True, name_key__in=same_names).values_list(
            "pk", flat=True
        )
    )
    ordered = sorted(involved)
    for start in range(0, len(ordered), batch):
        pairs_refresh(customer_ids=ordered[start : start + batch])
    return DuplicatePair.objects.count()
