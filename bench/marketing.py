"""`python -m bench.marketing [--customers N] [--database-url URL] [--name NAME]`:
segment evaluation and campaign launch over a large customer base.

1. Seed (not timed): N customers on an empty database, with set-based SQL (PostgreSQL:
   INSERT ... SELECT generate_series; elsewhere: bulk inserts): each has an e-mail,
   70 % an e-mail marketing consent granted (10 % withdrawn, the rest never asked),
   20 % the tag "vip", stages spread over prospect / customer / former. The current
   consents are derived from that ledger by the hub's own `current_consent_rebuild`
   (one INSERT ... SELECT). Tables are VACUUMed and ANALYZEd afterwards, as autovacuum
   would.
2. Segment count: `segment_customers(rules).count()` for a segment of vip customers
   or prospects with consent granted (tag, consent and stage rules), timed (best and
   median of 5) with its query count.
3. Snapshot: `campaign_launch` of an e-mail campaign to that segment (exclusion counts
   by reason + the eligible ids stored as one `bigint[]`, the members being written by
   the sending: a SELECT of the counts and the ids, then their INSERT), timed, with its
   query count and its slowest statement; the snapshot and any member are deleted (and
   the members' table vacuumed) between runs (3 runs, best and median).

Target (issue 14): count and snapshot over 1,000,000 customers on PostgreSQL under 2 s.
Production-like settings (DEBUG=0). The report goes to bench/results/<name>.md and
records the machine it ran on.
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import os
import platform
import re
import shutil
import statistics
import sys
import time
from pathlib import Path
from typing import Any

BASE_DIR = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results"
RULES: dict[str, Any] = {
    "all": [
        {"field": "consent.email.marketing", "op": "eq", "value": "granted"},
        {
            "any": [
                {"field": "tag", "op": "has", "value": "vip"},
                {"field": "lifecycle_stage", "op": "eq", "value": "prospect"},
            ]
        },
    ]
}


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.marketing", description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--name", default="marketing-postgres", help="Results go to bench/results/<name>.md.")
    parser.add_argument("--database-url", default="", help="An empty database (default: a new SQLite file).")
    return parser.parse_args(argv)


def configure(args: argparse.Namespace, var_dir: Path) -> None:
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DATABASE_URL": args.database_url or f"sqlite:///{var_dir / 'bench.sqlite3'}",
            "VAR_DIR": str(var_dir),
            "DEBUG": "0",
            "SECRET_KEY": "bench-only-" + "x" * 50,  # never used outside this process
            "ALLOWED_HOSTS": "testserver",
            "SECURE_SSL_REDIRECT": "0",
            "LOG_LEVEL": "WARNING",
            "ERP_ADAPTER": "stub",
            # the settings refuse to start without one; this benchmark sends no webhook
            "ERP_WEBHOOK_SECRET": "whsec_"
            + base64.b64encode(b"bench-only-webhook-secret-32-bytes!").decode(),
        }
    )


def setup_django() -> None:
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)


def seed(n: int) -> float:
    from django.db import connection

    from customers.models import Customer

    if Customer.objects.exists():
        raise SystemExit("The database must be empty.")
    started = time.perf_counter()
    if connection.vendor == "postgresql":
        _seed_postgres(n)
    else:
        _seed_portable(n)
    return time.perf_counter() - started


def _seed_postgres(n: int) -> None:
    from django.db import connection

    with connection.cursor() as c:
        c.execute(
            """
            INSERT INTO customers_customer (id, kind, first_name, last_name, organisation_name, display_name,
                name_key, lifecycle_stage, attributes, version, preferred_channel, created_at, updated_at)
            SELECT g, 'person', 'First' || g, 'Last' || g, '', 'First' || g || ' Last' || g,
                'first' || g || ' last' || g,
                (ARRAY['prospect', 'customer', 'former'])[1 + g %% 3], '{}'::jsonb, 1, '', now(), now()
            FROM generate_series(1, %s) AS g
            """,
            [n],
        )
        c.execute("SELECT setval(pg_get_serial_sequence('customers_customer', 'id'), %s)", [n])
        c.execute(
            """
            INSERT INTO customers_contactpoint (customer_id, kind, label, value, is_primary, street, postal_code,
                city, region, country, created_at, updated_at)
            SELECT g, 'email', 'work', 'person' || g || '@example.com', true, '', '', '', '', '', now(), now()
            FROM generate_series(1, %s) AS g
            """,
            [n],
        )
        c.execute(
            """
            INSERT INTO customers_consentevent (customer_id, channel, purpose, granted, source, occurred_at, note,
                created_at)
            SELECT g, 'email', 'marketing', g %% 10 < 7, 'bench', now() - interval '1 day', '', now()
            FROM generate_series(1, %s) AS g WHERE g %% 10 < 8
            """,
            [n],
        )
        c.execute(
            "INSERT INTO customers_tag (name, created_at, updated_at) VALUES ('vip', now(), now()) RETURNING id"
        )
        tag_id = c.fetchone()[0]
        c.execute(
            "INSERT INTO customers_customer_tags (customer_id, tag_id) SELECT g, %s FROM generate_series(1, %s) AS g"
            " WHERE g %% 5 = 0",
            [tag_id, n],
        )
    _derive_current_consents()
    with connection.cursor() as c:
        for table in (
            "customers_customer",
            "customers_contactpoint",
            "customers_consentevent",
            "customers_currentconsent",
            "customers_customer_tags",
        ):
            c.execute(f"VACUUM ANALYZE {table}")


def _derive_current_consents() -> None:
    from customers.consent import current_consent_rebuild

    current_consent_rebuild()


def _seed_portable(n: int) -> None:
    from django.db import transaction
    from django.utils import timezone

    from customers.models import ConsentEvent, ContactPoint, Customer, Tag

    now = timezone.now()
    vip = Tag.objects.create(name="vip")
    through = Customer.tags.through
    batch = 5000
    for start in range(1, n + 1, batch):
        ids = range(start, min(start + batch, n + 1))
        with transaction.atomic():
            Customer.objects.bulk_create(
                [
                    Customer(
                        id=g,
                        kind="person",
                        first_name=f"First{g}",
                        last_name=f"Last{g}",
                        display_name=f"First{g} Last{g}",
                        name_key=f"first{g} last{g}",
                        lifecycle_stage=("prospect", "customer", "former")[g % 3],
                    )
                    for g in ids
                ]
            )
            ContactPoint.objects.bulk_create(
                [
                    ContactPoint(customer_id=g, kind="email", value=f"person{g}@example.com", is_primary=True)
                    for g in ids
                ]
            )
            ConsentEvent.objects.bulk_create(
                [
                    ConsentEvent(
                        customer_id=g,
                        channel="email",
                        purpose="marketing",
                        granted=g % 10 < 7,
                        source="bench",
                        occurred_at=now - dt.timedelta(days=1),
                    )
                    for g in ids
                    if g % 10 < 8
                ]
            )
            through.objects.bulk_create([through(customer_id=g, tag_id=vip.pk) for g in ids if g % 5 == 0])
    _derive_current_consents()


def timed(call: Any) -> tuple[float, int, Any]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        started = time.perf_counter()
        result = call()
        elapsed = time.perf_counter() - started
    slowest = max(queries.captured_queries, key=lambda q: float(q["time"]), default=None)
    SLOWEST[elapsed] = (float(slowest["time"]), slowest["sql"].split(" ", 1)[0]) if slowest else (0.0, "")
    return elapsed, len(queries), result


# The slowest statement of each timed call, by the call's time.
SLOWEST: dict[float, tuple[float, str]] = {}


def vacuum(table: str) -> None:
    """What autovacuum does after a large DELETE (PostgreSQL; nothing elsewhere)."""
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as c:
            c.execute(f"VACUUM ANALYZE {table}")


def measure() -> dict[str, Any]:
    from frontoffice.actors import MAINTENANCE
    from marketing.campaigns.launch import campaign_launch
    from marketing.campaigns.services import campaign_create
    from marketing.models import Campaign, CampaignAudience, CampaignMember
    from marketing.segments.selectors import segment_customers
    from marketing.segments.services import segment_create

    counts = [timed(lambda: segment_customers(rules=RULES).count()) for _ in range(5)]
    segment = segment_create(actor=MAINTENANCE, name="Bench VIPs and prospects", rules=RULES)
    launches = []
    for run in range(3):
        campaign = campaign_create(
            actor=MAINTENANCE,
            name=f"Bench {run}",
            segment=segment.pk,
            subject_template="Hello {{ first_name }}",
            body_template="Hi {{ display_name }} {{ unsubscribe_url }}",
            cap_messages=3,
            cap_days=7,
        )
        launches.append(timed(lambda c=campaign: campaign_launch(actor=MAINTENANCE, campaign_id=c.pk)))
        members = CampaignAudience.objects.get(campaign=campaign).total
        exclusions = Campaign.objects.get(pk=campaign.pk).exclusions
        # The next run's frequency cap starts clean (the snapshot not yet sent counts in it).
        CampaignMember.objects.filter(campaign=campaign).delete()
        CampaignAudience.objects.filter(campaign=campaign).delete()
        vacuum(CampaignMember._meta.db_table)
    return {
        "count": counts[0][2],
        "count_times": [t for t, _, _ in counts],
        "count_queries": counts[0][1],
        "launch_times": [t for t, _, _ in launches],
        "launch_queries": launches[0][1],
        "members": members,
        "exclusions": exclusions,
        "launch_slowest": SLOWEST[min(t for t, _, _ in launches)],
    }


def report(name: str, args: argparse.Namespace, seeded: float, figures: dict[str, Any]) -> str:
    import django
    from django.db import connection

    load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    count_times, launch_times = figures["count_times"], figures["launch_times"]
    return "\n".join(
        [
            f"# Frontoffice marketing benchmark: {name}",
            "",
            "Produced by `python -m bench.marketing`; the method is in bench/marketing.py.",
            "",
            f"- Date (UTC): {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M}",
            f"- Machine: {platform.machine()}, {os.cpu_count()} CPUs, load average at the end {load}",
            f"- Python {platform.python_version()}, Django {django.get_version()}, database: {connection.vendor}",
            f"- Customers: {args.customers:,} (seeded in {seeded:.1f} s, not timed below)",
            f"- Segment rules: `{RULES}`",
            "",
            "| Measure | Best | Median | Queries |",
            "|---|---|---|---|",
            f"| Segment count ({figures['count']:,} customers) | {min(count_times):.3f} s | "
            f"{statistics.median(count_times):.3f} s | {figures['count_queries']} |",
            f"| Launch snapshot ({figures['members']:,} customers) | {min(launch_times):.3f} s | "
            f"{statistics.median(launch_times):.3f} s | {figures['launch_queries']} |",
            f"| Count + snapshot (best) | {min(count_times) + min(launch_times):.3f} s | | |",
            "",
            f"Slowest statement of the best launch: {figures['launch_slowest'][1]} ..., "
            f"{figures['launch_slowest'][0]:.3f} s (the snapshot's SELECT of the exclusion counts and the "
            "eligible ids).",
            "",
            f"Exclusions at launch: {figures['exclusions']}",
            "",
            "Target: count and snapshot over 1,000,000 customers on PostgreSQL in under 2 s.",
            "",
        ]
    )


def main(argv: list[str]) -> None:
    args = parse_args(argv)
    if not re.fullmatch(r"[A-Za-z0-9_.-]{1,60}", args.name):
        raise SystemExit("--name: letters, digits, '.', '_' and '-' only.")
    var_dir = BASE_DIR / "var" / "bench-marketing"
    shutil.rmtree(var_dir, ignore_errors=True)
    var_dir.mkdir(parents=True)
    configure(args, var_dir)
    sys.path.insert(0, str(BASE_DIR))
    setup_django()
    print(f"Seeding {args.customers:,} customers...", flush=True)
    seeded = seed(args.customers)
    print("Measuring...", flush=True)
    figures = measure()
    text = report(args.name, args, seeded, figures)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{args.name}.md").write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main(sys.argv[1:])
