"""`manage.py seed_sales_demo` (its command module only points here): months of sales
history on the demo customers.

Run after `seed_demo` (the Makefile's `demo` target runs both): leads, opportunities in
two pipelines, price lists, discount limits, quotes and orders, replayed through the
sales services and the in-process ERP simulator so that orders really are confirmed,
shipped, invoiced, paid or overdue, and the forecast and recommendations have content.
See `sales/demo/history.py` for how.

A command of its own rather than part of `seed_demo`: `customers` imports no other app,
and the customer seed stays usable on its own (the benchmark seeds 100,000 customers).
"""

from __future__ import annotations

import os
import time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from customers.models import Customer
from sales.demo.back_office import fresh_erp_problem, sales_data_exists
from sales.demo.history import SalesHistory
from sales.demo.plan import NotFresh, Totals

MAX_DEALS = 5000


def default_deals(customers: int) -> int:
    """One opportunity for every 16 customers, within 60 and 250: each costs about 0.1 s
    (its quote, order and the ERP's events), on top of about 6 s for four months of the
    simulator's days; 125 for the 2,000 customers of `make run`."""
    return max(60, min(250, customers // 16))


def _counts(counter: Any) -> str:
    return ", ".join(f"{name.replace('_', ' ')} {n}" for name, n in sorted(counter.items())) or "none"


class Command(BaseCommand):
    help = (
        "Seed months of sales history on the demo customers (leads, opportunities, price lists, "
        "quotes, orders through the ERP simulator, forecasts, recommendations). Run after "
        "seed_demo, on a database whose ERP simulator is unused. Deterministic for a given "
        "--seed and day. DEBUG only."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--seed", type=int, default=1, help="Random seed (default 1).")
        parser.add_argument(
            "--months",
            type=int,
            default=4,
            help="Months of history before this one (default 4; the forecast accuracy page shows up to 6).",
        )
        parser.add_argument(
            "--deals",
            type=int,
            default=None,
            help="Opportunities to play (default: one for every 16 customers, 60 to 250).",
        )
        parser.add_argument(
            "--if-empty",
            action="store_true",
            help="Do nothing when sales data exists or the ERP simulator was used (for `make run`).",
        )

    def handle(
        self, *args: Any, seed: int, months: int, deals: int | None, if_empty: bool, **options: Any
    ) -> None:
        if not settings.DEBUG and not os.environ.get("ALLOW_DEMO_ADMIN"):
            raise CommandError(
                "seed_sales_demo resets the ERP simulator and writes demo sales: DEBUG only "
                "(or ALLOW_DEMO_ADMIN=1, as for seed_demo)."
            )
        if not 1 <= months <= 24:
            raise CommandError("--months must be between 1 and 24.")
        if deals is not None and not 1 <= deals <= MAX_DEALS:
            raise CommandError(f"--deals must be between 1 and {MAX_DEALS:,}.")
        if sales_data_exists():
            if if_empty:
                self.stdout.write("Sales data already exists: no sales demo seeded (--if-empty).")
                return
            raise CommandError("Sales data already exists: seed the sales demo on a database without any.")
        problem = fresh_erp_problem()
        if problem:
            if if_empty:
                self.stdout.write(f"No sales demo seeded: {problem}.")
                return
            raise CommandError(f"Cannot seed the sales demo: {problem}.")
        customers = Customer.objects.filter(merged_into=None).count()
        if not customers:
            raise CommandError("There are no customers: run seed_demo first.")

        started = time.perf_counter()
        history = SalesHistory(seed=seed, months=months, deals=deals or default_deals(customers))
        try:
            # One transaction: a seed that fails half-way leaves nothing behind. The
            # replay e-mails nobody (its quotes are sent with `email=False`); what the
            # services leave for after commit is the relay's kick, which finds the
            # outbox delivered (the replay relayed as it went).
            with transaction.atomic():
                totals = history.run()
        except NotFresh as exc:
            raise CommandError(f"Cannot seed the sales demo: {exc}.") from None
        self._report(totals, time.perf_counter() - started)

    def _report(self, totals: Totals, elapsed: float) -> None:
        self.stdout.write(
            self.style.SUCCESS(
                f"Seeded sales history from {totals.started_on} ({totals.days} working days) in {elapsed:.1f} s."
            )
        )
        self.stdout.write(f"  Leads: {_counts(totals.leads)}")
        self.stdout.write(f"  Opportunities: {_counts(totals.opportunities)}")
        self.stdout.write(f"  Quotes: {_counts(totals.quotes)}")
        self.stdout.write(f"  Orders: {_counts(totals.orders)}")
        self.stdout.write(f"  Invoices: {_counts(totals.invoices)}")
        self.stdout.write(
            f"  Forecast snapshots: {totals.snapshots}; product affinities: {totals.affinities}"
        )
