"""`python -m bench.customer_import [--sizes 10000,50000,100000] [--database-url URL] [--name NAME]`:
the customer CSV import (issue 15: 100,000 rows in under 60 s, in flat memory), on PostgreSQL.

1. Database: BENCH_DATABASE_URL (default a database of its own, `fo_imp_bench`), created
   when missing and migrated first.
2. Data (not timed): for each size, a CSV file written row by row with a fixed seed:
   people and some organisations (Faker's en_GB names and companies), e-mails (some with
   capitals and spaces), UK phones in mixed formats
   ("+44 7900 123456", "07900 123456", "(07900) 123-456", "+447900123456"), stages, 0-3 tags
   separated by "; ", ERP numbers on organisations, and about 1 % of rows repeating an
   earlier row's e-mail in capitals (skipped by the import).
3. Each size is imported on an empty customer base (the customer tables truncated first),
   as a job, the way a worker runs a large file (`customer_import_run`): the file kept
   with the job, checked in a streaming pass, then written in one transaction. The import
   runs in a child process of its own (DEBUG=0: no query log), which reports its wall
   time and its peak resident memory (`resource.getrusage(RUSAGE_SELF).ru_maxrss`), and
   the memory after Django's start-up, before the import.
4. Targets: the largest size in under 60 s; memory flat: the import's own memory (peak
   less the start-up's) at the largest size at most 2x that at the smallest, while the
   file is 10x larger (holding the rows would grow it 10x).
5. Results, written by this code: bench/results/<name>.md and .json, with the machine's
   load average before and after (a shared machine: other processes compete).
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import os
import platform
import random
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

BASE_DIR = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results"
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/fo_imp_bench"
TARGET_SECONDS = 60.0
FLAT_FACTOR = 2.0
HEADER = ["kind", "first_name", "last_name", "organisation_name", "email", "phone", "lifecycle_stage", "tags",
          "erp_customer_number"]  # fmt: skip
DOMAINS = ["example.com", "example.org", "example.net", "mail.example.co.uk"]
TAGS = [
    "VIP",
    "newsletter",
    "trade-fair-2026",
    "reseller",
    "partner",
    "b2b",
    "b2c",
    "churn-risk",
    "north",
    "south",
]
STAGES = ["", "prospect", "customer", "Former customer"]


def phone(i: int, rng: random.Random) -> str:
    digits = f"{i:06d}"
    return rng.choice(
        [
            f"+44 7900 {digits}",
            f"07900 {digits}",
            f"(07900) {digits[:3]}-{digits[3:]}",
            f"+447900{digits}",
        ]
    )


def email_of(first: str, last: str, i: int) -> str:
    local = re.sub(r"[^a-z]", "", f"{first}.{last}".lower().replace(".", "x")) or "someone"
    return f"{local}{i}@{DOMAINS[i % len(DOMAINS)]}"


def write_file(path: Path, rows: int, seed: int = 15) -> dict[str, int]:
    """A realistic file of `rows` rows; returns what it holds."""
    from faker import Faker

    fake = Faker("en_GB")
    fake.seed_instance(seed)
    rng = random.Random(seed)
    repeats = 0
    emails: list[str] = []
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(HEADER)
        for i in range(rows):
            if i > 100 and rng.random() < 0.01:
                # a repeat of an earlier row's e-mail (or phone): skipped by the import
                j = rng.randrange(len(emails))
                repeats += 1
                writer.writerow(["person", "Again", f"Row {j}", "", emails[j].upper(), "", "", "", ""])
                continue
            tags = "; ".join(rng.sample(TAGS, rng.randint(0, 3)))
            stage = rng.choice(STAGES)
            if i % 20 == 0:
                name = fake.company()
                email = f"info{i}@{DOMAINS[i % len(DOMAINS)]}"
                writer.writerow(["organisation", "", "", name, email, phone(i, rng), stage, tags, f"ERP-{i}"])
            else:
                first, last = fake.first_name(), fake.last_name()
                email = email_of(first, last, i)
                number = phone(i, rng) if i % 3 else ""
                shown = f"  {email.capitalize()} " if i % 7 == 0 else email  # spaces, capitals
                writer.writerow(["", first, last, "", shown, number, stage, tags, ""])
            emails.append(email)
    return {"rows": rows, "repeats": repeats, "bytes": path.stat().st_size}


# --- the child: one import, measured -------------------------------------------------------


def child(path: str, var_dir: str) -> None:
    """Runs in a process of its own: prints one JSON line with the measures."""
    from bench.__main__ import setup_django

    os.environ["VAR_DIR"] = var_dir
    setup_django(os.environ["DATABASE_URL"])
    from django.core.files import File

    from customers.models import CustomerImport
    from customers.services_import_jobs import customer_import_run
    from frontoffice.models import User

    user, _ = User.objects.get_or_create(username="bench-importer", defaults={"is_superuser": True})
    with open(path, "rb") as file:
        job = CustomerImport(created_by=user, filename="bench.csv", size=os.path.getsize(path))
        job.file.save("bench.csv", File(file), save=False)
        job.save()
    baseline_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    customer_import_run(import_id=job.pk)
    seconds = time.perf_counter() - started
    job.refresh_from_db()
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(
        json.dumps(
            {
                "status": job.status,
                "seconds": round(seconds, 2),
                "created": job.created_count,
                "skipped": job.skipped_count,
                "errors": job.error_count,
                "peak_rss_mb": round(peak_kb / 1024, 1),
                "startup_rss_mb": round(baseline_kb / 1024, 1),
                "import_rss_mb": round((peak_kb - baseline_kb) / 1024, 1),
            }
        )
    )


# --- the parent ------------------------------------------------------------------------------


def prepare_database(url: str) -> None:
    import psycopg

    from bench.data import database_name, manage

    name = database_name(url)
    admin = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')
    manage("migrate", "--noinput", database_url=url)


def empty_customers(url: str) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        tables = [
            row[0]
            for row in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND ("
                "tablename LIKE 'customers_historical%%' OR tablename IN "
                "('customers_customer', 'customers_tag', 'customers_customerimport'))"
            )
        ]
        conn.execute(f"TRUNCATE {', '.join(tables)} CASCADE")
        conn.execute("VACUUM ANALYZE")


def measure(url: str, sizes: list[int]) -> list[dict[str, Any]]:
    results = []
    with tempfile.TemporaryDirectory(prefix="fo-bench-import-") as tmp:
        for size in sizes:
            path = Path(tmp) / f"customers-{size}.csv"
            made = write_file(path, size)
            empty_customers(url)
            print(f"customer import: {size:,} rows ({made['bytes'] / 1e6:.1f} MB) ...", flush=True)
            env = {**os.environ, "DATABASE_URL": url}
            done = subprocess.run(
                [sys.executable, "-m", "bench.customer_import", "--child", str(path), "--var-dir", tmp],
                cwd=BASE_DIR,
                env=env,
                capture_output=True,
                text=True,
                check=False,
            )
            if done.returncode != 0:
                sys.stderr.write(done.stdout[-4000:] + done.stderr[-4000:])
                raise SystemExit(f"customer import of {size} rows failed ({done.returncode})")
            measured = json.loads(done.stdout.strip().splitlines()[-1])
            results.append(
                {
                    "rows": size,
                    "file_mb": round(made["bytes"] / 1e6, 1),
                    "repeats": made["repeats"],
                    **measured,
                }
            )
            print(f"  {json.dumps(results[-1])}", flush=True)
    return results


def verdict(results: list[dict[str, Any]]) -> dict[str, Any]:
    largest, smallest = results[-1], results[0]
    fast = largest["seconds"] < TARGET_SECONDS and largest["status"] == "done"
    # The import's own memory, with a floor of 1 MB against noise at small sizes.
    growth = max(largest["import_rss_mb"], 1.0) / max(smallest["import_rss_mb"], 1.0)
    flat = growth <= FLAT_FACTOR
    return {
        "time": {"target": f"{largest['rows']:,} rows < {TARGET_SECONDS:.0f} s", "pass": fast},
        "memory": {
            "target": f"import memory at {largest['rows']:,} rows <= {FLAT_FACTOR:g}x that at {smallest['rows']:,}",
            "growth": round(growth, 2),
            "pass": flat,
        },
    }


def markdown(result: dict[str, Any]) -> str:
    env = result["environment"]
    lines = [
        "# Frontoffice customer CSV import (issue 15): time and memory on PostgreSQL",
        "",
        "Written by `python -m bench.customer_import`; the method is in bench/customer_import.py. "
        "Do not edit by hand.",
        "",
        f"- Machine: {env['machine']}; load average before the run {', '.join(map(str, env['load_before']))}, "
        f"after {', '.join(map(str, env['load_after']))}; date {env['date_utc']} UTC",
        f"- Python {env['python']}, Django {env['django']}, PostgreSQL {env['postgresql']}",
        "- Each size imported as a job (`customer_import_run`) on an empty customer base, in a child process "
        "(DEBUG=0); memory is the child's peak RSS (`ru_maxrss`); import memory = peak less the RSS after start-up.",
        "",
        "| Rows | File | Repeats (skipped) | Created | Skipped | Wall time | Rows/s | Peak RSS | Start-up RSS "
        "| Import memory |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in result["runs"]:
        lines.append(
            f"| {r['rows']:,} | {r['file_mb']} MB | {r['repeats']:,} | {r['created']:,} | {r['skipped']:,} "
            f"| {r['seconds']:.1f} s | {r['rows'] / r['seconds']:,.0f} | {r['peak_rss_mb']} MB "
            f"| {r['startup_rss_mb']} MB | {r['import_rss_mb']} MB |"
        )
    v = result["verdict"]
    lines += [
        "",
        "| Target | Measured | Result |",
        "|---|---|---|",
        f"| {v['time']['target']} | {result['runs'][-1]['seconds']:.1f} s | {'pass' if v['time']['pass'] else 'FAIL'} |",
        f"| {v['memory']['target']} | {v['memory']['growth']}x | {'pass' if v['memory']['pass'] else 'FAIL'} |",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,50000,100000")
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL))
    parser.add_argument("--name", default="customer-import")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--var-dir", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.var_dir)
        return
    import django
    import psycopg

    sizes = sorted(int(s) for s in args.sizes.split(","))
    load_before = [round(v, 2) for v in os.getloadavg()]
    prepare_database(args.database_url)
    runs = measure(args.database_url, sizes)
    with psycopg.connect(args.database_url) as conn:
        server_version = conn.info.server_version
    result = {
        "environment": {
            "date_utc": f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M}",
            "machine": f"{platform.machine()}, {os.cpu_count()} CPUs",
            "load_before": load_before,
            "load_after": [round(v, 2) for v in os.getloadavg()],
            "python": platform.python_version(),
            "django": django.get_version(),
            "postgresql": server_version,
        },
        "runs": runs,
    }
    result["verdict"] = verdict(runs)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{args.name}.json").write_text(json.dumps(result, indent=2) + "\n")
    (RESULTS / f"{args.name}.md").write_text(markdown(result))
    print(markdown(result))


if __name__ == "__main__":
    main()
