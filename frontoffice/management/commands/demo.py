"""`manage.py demo`: the demo admin, then every app's demo seed step, in order.

Each app declares its step in its hooks (`demo_steps`); the steps do nothing on a
database that already has their data (`--if-empty`, what `make run` passes)."""

from __future__ import annotations

import time
from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser
from django.db import connection

from frontoffice import plugin


class Command(BaseCommand):
    help = "Create the demo admin and load every app's demo data (DEBUG only)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--customers", type=int, default=2000, help="How many customers (default 2000).")
        parser.add_argument(
            "--if-empty", action="store_true", help="Each step does nothing where its data is already there."
        )

    def handle(self, *args: Any, customers: int, if_empty: bool, **options: Any) -> None:
        call_command("create_demo_admin", stdout=self.stdout)
        step_options = {"customers": customers, "if_empty": if_empty, "stdout": self.stdout}
        for step in plugin.demo_steps():
            started = time.perf_counter()
            summary = step.run(step_options)
            self.stdout.write(f"demo: {step.name} ({summary}) in {time.perf_counter() - started:.1f} s")
        # Planner statistics for every table the steps filled (sales, service...): with
        # autovacuum off or not yet run, PostgreSQL would plan on empty-table guesses.
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
