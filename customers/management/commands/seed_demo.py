"""`manage.py seed_demo --customers N`: realistic, deterministic demo data, fast (the
generator is the `customers.demo` package)."""

from __future__ import annotations

import os
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from customers.demo.seed import seed_demo
from customers.demo.vocabulary import STAFF
from customers.models import Customer
from frontoffice.management.commands.create_demo_admin import DEMO_PASSWORD


class Command(BaseCommand):
    help = (
        "Seed realistic demo data: organisations (with subsidiaries), people, contact points, "
        "tags, custom attributes, consents, timelines, demo staff in every role and a few "
        "deliberate duplicates. Deterministic for a given --seed. DEBUG only."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--customers", type=int, default=2000, help="How many customers (default 2000).")
        parser.add_argument("--seed", type=int, default=1, help="Random seed (default 1).")
        parser.add_argument(
            "--if-empty",
            action="store_true",
            help="Do nothing when the database already holds customers (for `make run`).",
        )

    def handle(self, *args: Any, customers: int, seed: int, if_empty: bool, **options: Any) -> None:
        if not settings.DEBUG and not os.environ.get("ALLOW_DEMO_ADMIN"):
            raise CommandError(
                "seed_demo creates staff users with a published password: DEBUG only "
                "(or ALLOW_DEMO_ADMIN=1, as for create_demo_admin)."
            )
        if not 1 <= customers <= 1_000_000:
            raise CommandError("--customers must be between 1 and 1,000,000.")
        if if_empty and Customer.objects.exists():
            self.stdout.write("Customers already exist: no demo data seeded (--if-empty).")
            return
        result = seed_demo(customers=customers, seed=seed)
        totals = result.totals
        self.stdout.write(
            self.style.SUCCESS(
                f"Seeded {totals.customers} customers ({totals.organisations} organisations, "
                f"{totals.subsidiaries} of them subsidiaries; {totals.people} people; "
                f"{totals.duplicates} deliberate duplicates), {totals.relationships} relationships, "
                f"{totals.contact_points} contact points, {totals.tags} tag links, "
                f"{totals.consents} consent events, {totals.activities} activities in {result.seconds:.1f} s."
            )
        )
        usernames = ", ".join(username for username, *_ in STAFF)
        if result.created_staff:
            self.stdout.write(f"Demo staff logins: {usernames} / password: {DEMO_PASSWORD}")
        else:
            self.stdout.write(f"Demo staff ({usernames}) already existed; their passwords are unchanged.")
