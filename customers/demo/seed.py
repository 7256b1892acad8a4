"""The customer demo, end to end: staff, tags and attribute definitions, then customers
drawn and inserted in chunks, in one transaction (`manage.py seed_demo`)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from customers.choices import ContactKind
from customers.demo.bulk import refresh_planner_statistics, sqlite_page_cache
from customers.demo.seeder import DemoSeeder
from customers.demo.setup import demo_field_definitions, demo_staff, demo_tags
from customers.demo.specs import Spec, Totals
from customers.demo.vocabulary import CHUNK
from customers.duplicate_index import index_rebuild
from frontoffice.models import User


@dataclass(frozen=True)
class SeedResult:
    totals: Totals
    created_staff: bool
    seconds: float


def seed_demo(*, customers: int, seed: int) -> SeedResult:
    """Staff, tags, attribute definitions and `customers` customers, all or nothing."""
    started = time.perf_counter()
    with transaction.atomic(), sqlite_page_cache():
        staff, created_staff = demo_staff()
        totals = seed_customers(customers=customers, seed=seed, staff=staff)
        refresh_planner_statistics()
        # The rows went in around the services: derive the duplicates page's pairs and
        # file the names for the 360's panel.
        index_rebuild()
    return SeedResult(totals=totals, created_staff=created_staff, seconds=time.perf_counter() - started)


def seed_customers(*, customers: int, seed: int, staff: dict[str, User]) -> Totals:
    """`customers` customers drawn from `seed`, inserted in chunks, with a few deliberate
    duplicates (the same organisation without its legal form, the same person again)."""
    demo_field_definitions()
    seeder = DemoSeeder(
        seed=seed,
        now=timezone.now(),
        staff=[u.pk for u in staff.values() if u.username != "backoffice1"],
        tag_ids=demo_tags(),
    )
    rng = seeder.rng
    sales = [u.pk for u in staff.values() if u.username.startswith("sales")]
    owners: list[int | None] = [*sales, *sales, *sales, None]  # about one in ten unowned

    duplicates = 0 if customers < 20 else max(3, min(25, customers // 4000))
    organisations = customers // 4
    people = customers - organisations
    duplicate_organisations = duplicates // 3
    duplicate_people = duplicates - duplicate_organisations

    # Organisations: groups first, then their subsidiaries (named after the group),
    # so that parents have ids.
    regular = organisations - duplicate_organisations
    subsidiaries = regular // 7
    tops = [seeder.organisation(owners) for _ in range(regular - subsidiaries)]
    for chunk in _chunks(tops, CHUNK):
        seeder.insert(chunk)
    groups = tops[: max(1, len(tops) // 20)]
    subs = [seeder.subsidiary(rng.choice(groups)) for _ in range(subsidiaries)]
    for chunk in _chunks(subs, CHUNK):
        seeder.insert(chunk)
    seeder.organisations = tops + subs

    # Deliberate duplicates: the same organisation entered again without its legal
    # form (the same normalised name for most forms) and with the same phone.
    candidates = [s for s in tops if s.primary(ContactKind.PHONE)]
    copies = [
        seeder.organisation_spec(
            name=original.organisation_name.rsplit(" ", 1)[0],
            country=original.country,
            industry=original.attributes["industry"],
            owner_id=original.owner_id,
            phone=original.primary(ContactKind.PHONE),
        )
        for original in rng.sample(candidates, k=min(duplicate_organisations, len(candidates)))
    ]
    duplicates_made = len(copies)
    # Whatever could not be copied (a tiny seed) is made up with ordinary ones.
    copies += [seeder.organisation(owners) for _ in range(duplicate_organisations - len(copies))]
    seeder.insert(copies)

    originals: list[Spec] = []
    regular = people - duplicate_people
    for start in range(0, regular, CHUNK):
        chunk = [seeder.person(owners) for _ in range(min(CHUNK, regular - start))]
        seeder.insert(chunk)
        if len(originals) < 5000:
            originals.extend(s for s in chunk if s.primary(ContactKind.EMAIL))

    # Deliberate duplicates of people: the same person again, either with a new
    # primary e-mail and the old one as a secondary address, or with first and last
    # name swapped and the same mobile number.
    copies = []
    for index, original in enumerate(rng.sample(originals, k=min(duplicate_people, len(originals)))):
        if index % 2 == 0:
            first, last = original.first_name, original.last_name
            extra_email, phone = original.primary(ContactKind.EMAIL), None
        else:
            first, last = original.last_name, original.first_name
            extra_email, phone = None, original.primary(ContactKind.PHONE)
        copies.append(
            seeder.person_spec(
                first=first,
                last=last,
                country=original.country,
                employers=[],
                owners=owners,
                extra_email=extra_email,
                phone=phone,
            )
        )
    duplicates_made += len(copies)
    copies += [seeder.person(owners) for _ in range(duplicate_people - len(copies))]
    seeder.insert(copies)

    totals = seeder.totals
    totals.organisations = organisations
    totals.subsidiaries = len(subs)
    totals.people = people
    totals.duplicates = duplicates_made
    return totals


def _chunks(items: list[Spec], size: int) -> Iterator[list[Spec]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
