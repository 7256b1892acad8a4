"""What finding duplicates reads, kept as the data changes: the duplicate pairs behind
the whole-base duplicates page, and the names filed by their neighbour keys behind the
360's possible-duplicates panel (`NameNeighbour`).

`index_refresh` re-derives both for a few customers (a handful of indexed reads); the
services call it in the transaction of every profile or contact-point change (through
`profile_changed` and `customer_create`); an import's chunk files its new customers
with `index_created`, from the rows it has just written. `index_rebuild`
derives everything from scratch (after a bulk load that bypassed the services: the demo
seed, a test's bulk insert).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence

from django.db import connection, transaction
from django.db.models import Count, Q
from django.utils import timezone

from customers.choices import ContactKind
from customers.models import ContactPoint, Customer, DuplicatePair, NameNeighbour
from customers.normalise import name_neighbour_keys
from frontoffice.bulk_insert import Inserter

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
    values = list(
        ContactPoint.objects.filter(customer_id__in=list(live), kind__in=MATCHED_KINDS).values_list(
            "customer_id", "kind", "value"
        )
    )
    _write(ids, _reasons(live, values))


def _reasons(
    live: Mapping[int, tuple[str, str]], values: Sequence[tuple[int, str, str]]
) -> dict[tuple[int, int], list[str]]:
    """The pairs of the customers `live` (id -> name key, kind) with the e-mails and
    phones `values` (customer id, kind, value), and why: 2 queries, for any number."""
    reasons: dict[tuple[int, int], list[str]] = defaultdict(list)
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
    return {pair: sorted(set(why)) for pair, why in reasons.items()}


def index_created(
    *, customers: Sequence[tuple[int, str, str]], contacts: Iterable[tuple[int, str, str]]
) -> None:
    """The pairs and the filed names of customers created in this transaction (an
    import's chunk), from the rows the caller has just written: `customers` as (id,
    kind, name key), `contacts` as (customer id, kind, value). What `index_refresh`
    derives, without its reads of those rows and its deletes: no pair and no filed name
    can refer to a customer no other transaction has seen yet. (Under an import's
    `enable_bitmapscan = off` the deletes read the whole pair table, once per chunk.)"""
    if not customers:
        return
    now = timezone.now()
    pairs = _reasons(
        {pk: (key, kind) for pk, kind, key in customers},
        [contact for contact in contacts if contact[1] in MATCHED_KINDS],
    )
    Inserter(DuplicatePair, with_pk=False).insert(
        {"customer_a_id": a, "customer_b_id": b, "reasons": why, "created_at": now, "updated_at": now}
        for (a, b), why in sorted(pairs.items())
    )
    _file(customers)


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


def names_refresh(*, customer_ids: Iterable[int]) -> None:
    """File the names of `customer_ids` under their neighbour keys again: 3 statements
    for any number of ids. A customer that is no longer live (merged) is filed nowhere.
    The customers' rows are locked first (in the order of their ids), so that two
    refreshes of one customer take turns."""
    ids = {int(pk) for pk in customer_ids}
    if not ids:
        return
    with transaction.atomic():
        live = list(
            Customer.objects.select_for_update()
            .filter(pk__in=ids, merged_into__isnull=True)
            .order_by("pk")
            .values_list("pk", "kind", "name_key")
        )
        NameNeighbour.objects.filter(customer_id__in=ids).delete()
        _file(live)


def names_rebuild(*, batch: int = 20_000) -> int:
    """Every live customer's name filed from scratch, `batch` customers at a time (in
    the order of their ids), then the table analysed; returns the number of rows."""
    NameNeighbour.objects.all().delete()
    live = Customer.objects.filter(merged_into__isnull=True).order_by("pk")
    last = 0
    while True:
        customers = list(live.filter(pk__gt=last).values_list("pk", "kind", "name_key")[:batch])
        if not customers:
            break
        last = customers[-1][0]
        _file(customers)
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {connection.ops.quote_name(NameNeighbour._meta.db_table)}")
    return NameNeighbour.objects.count()


def _file(customers: Iterable[tuple[int, str, str]]) -> None:
    """Insert the rows of `customers` (id, kind, name_key) as a bulk load does (COPY on
    PostgreSQL: an import's chunk of 500 customers in tens of milliseconds, where one
    INSERT of their 3,000 rows took over half a second)."""
    Inserter(NameNeighbour, with_pk=False).insert(
        {"customer_id": pk, "kind": kind, "key": key, "value": value}
        for pk, kind, own in customers
        for key, value in name_neighbour_keys(own)
    )


def index_refresh(*, customer_ids: Iterable[int]) -> None:
    """The pairs and the filed names of `customer_ids`, re-derived (`pairs_refresh`,
    `names_refresh`)."""
    ids = {int(pk) for pk in customer_ids}
    pairs_refresh(customer_ids=ids)
    names_refresh(customer_ids=ids)


def index_rebuild() -> tuple[int, int]:
    """Every pair and every filed name from scratch; returns how many of each."""
    return pairs_rebuild(), names_rebuild()
