"""Inserting what `ProfileDraw` draws: a chunk of customers and everything that hangs
off them, straight into the tables (see `customers.demo.bulk`)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from django.core.management.base import CommandError

from customers.choices import ActivityKind
from customers.consent import current_consent_rebuild
from customers.demo.bulk import (
    ACTIVITY_COLUMNS,
    CONSENT_COLUMNS,
    CONTACT_POINT_COLUMNS,
    CUSTOMER_COLUMNS,
    RELATIONSHIP_COLUMNS,
    insert_rows,
)
from customers.demo.draw import ProfileDraw
from customers.demo.specs import Spec, Totals
from customers.demo.vocabulary import CONSENT_SUBJECTS
from customers.models import Activity, ConsentEvent, ContactPoint, Customer, Relationship
from customers.normalise import name_key


class DemoSeeder(ProfileDraw):
    """Draws customers and inserts them in chunks, counting what it inserted."""

    def __init__(self, *, seed: int, now: dt.datetime, staff: list[int], tag_ids: dict[str, int]) -> None:
        super().__init__(seed=seed, now=now, staff=staff, tag_ids=tag_ids)
        self.totals = Totals()
        self.has_primary_contact: set[int] = set()

    def insert(self, specs: list[Spec]) -> None:
        """Insert a chunk of customers and everything that hangs off them."""
        if not specs:
            return
        self._insert_customers(specs)
        at = self.db_time
        contact_points: list[tuple[Any, ...]] = []
        tag_links: list[tuple[Any, ...]] = []
        relationships: list[tuple[Any, ...]] = []
        consents: list[tuple[Any, ...]] = []
        activities: list[tuple[Any, ...]] = []
        for spec in specs:
            pk, created = spec.pk, at(spec.created)
            contact_points.extend((pk, *contact, created, created) for contact in spec.contacts)
            tag_links.extend((pk, tag_id) for tag_id in spec.tags)
            for organisation_id, role in spec.memberships:
                primary = organisation_id not in self.has_primary_contact
                self.has_primary_contact.add(organisation_id)
                relationships.append((pk, organisation_id, role, primary, created, created))
            consents.extend(self._consents(spec))
            activities.extend(self._activities(spec))
        insert_rows(ContactPoint, CONTACT_POINT_COLUMNS, contact_points)
        insert_rows(Customer.tags.through, ("customer", "tag"), tag_links)
        insert_rows(Relationship, RELATIONSHIP_COLUMNS, relationships)
        activities.extend(self._insert_consents(consents, [s.pk for s in specs if s.pk is not None]))
        insert_rows(Activity, ACTIVITY_COLUMNS, activities)

        self.totals.customers += len(specs)
        self.totals.contact_points += len(contact_points)
        self.totals.tags += len(tag_links)
        self.totals.relationships += len(relationships)
        self.totals.consents += len(consents)
        self.totals.activities += len(activities)

    def _insert_customers(self, specs: list[Spec]) -> None:
        at = self.db_time
        last_id = Customer.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
        rows = [
            (
                s.kind,
                s.first_name,
                s.last_name,
                s.organisation_name,
                s.display_name,
                name_key(s.display_name),
                s.parent_id,
                s.lifecycle_stage,
                s.owner_id,
                json.dumps(s.attributes),
                s.erp_customer_number,
                "",
                1,
                at(s.created),
                at(s.updated),
            )
            for s in specs
        ]
        insert_rows(Customer, CUSTOMER_COLUMNS, rows)
        # executemany returns no ids, and ids grow in insertion order. Inside this
        # transaction nobody else inserts on SQLite (the write lock is ours); on
        # PostgreSQL a customer committed meanwhile by someone else shows as a mismatch.
        ids = list(Customer.objects.filter(pk__gt=last_id).order_by("pk").values_list("pk", flat=True))
        if len(ids) != len(specs):
            raise CommandError("Customers were created by someone else during the seed; run it again.")
        for spec, pk in zip(specs, ids, strict=True):
            spec.pk = pk

    def _insert_consents(
        self, consents: list[tuple[Any, ...]], customer_ids: list[int]
    ) -> list[tuple[Any, ...]]:
        """Insert the ledger lines; return the timeline rows `consent_record` would write."""
        at = self.db_time
        rows = [(*event[:5], at(event[5]), event[6], "", at(event[5])) for event in consents]
        insert_rows(ConsentEvent, CONSENT_COLUMNS, rows)
        current_consent_rebuild(customer_ids=customer_ids)  # what consent_record keeps
        # No ids from executemany: these customers are new and uncommitted, so their
        # ledger lines are exactly ours, and ids follow the insertion order.
        ids = (
            ConsentEvent.objects.filter(customer_id__in=customer_ids)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        activities = []
        for event_id, (customer_id, channel, purpose, granted, source, moment, actor) in zip(
            ids, consents, strict=True
        ):
            subject = CONSENT_SUBJECTS[(channel, purpose, granted)]
            payload = json.dumps(
                {"channel": channel, "purpose": purpose, "granted": granted, "source": source}
            )
            when = at(moment)
            activities.append(
                (
                    customer_id,
                    ActivityKind.CONSENT.value,
                    when,
                    actor,
                    "customers",
                    subject,
                    "",
                    "customers.consentevent",
                    str(event_id),
                    payload,
                    when,
                    "",
                )
            )
        return activities
