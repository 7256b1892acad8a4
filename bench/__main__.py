"""`python -m bench [--customers N] [--requests R] [--name NAME] [--database-url URL]`.

1. Seed: `manage.py migrate` on a fresh database (not timed), then
   `manage.py seed_demo --customers N` in a subprocess, timed on the wall clock.
2. API latency, in this process, over the seeded database, with Django's test client
   (the whole Django stack from middleware to JSON, no HTTP server, no network):
   R requests each to the customer list (first page), the customer list searched by
   a name (`?q=`), and the 360 endpoint of random customers, as the demo sales rep
   `sales1` with a token. Settings are production-like (DEBUG=0, so no query log);
   10 warm-up requests per endpoint are not counted. The SQL queries of one request
   per endpoint are counted separately.

The machine is whatever runs this; the report records its CPU count and load.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import random
import re
import shutil
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

BASE_DIR = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results"
WARM_UP = 10


@dataclass
class Latency:
    label: str
    samples_ms: list[float]
    statuses: set[int]
    queries: int

    def percentile(self, p: float) -> float:
        """Nearest-rank percentile."""
        ordered = sorted(self.samples_ms)
        rank = max(1, round(p / 100 * len(ordered)))
        return ordered[rank - 1]


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=200, help="Timed requests per endpoint.")
    parser.add_argument("--name", default="sqlite", help="Results go to bench/results/<name>.md.")
    parser.add_argument(
        "--database-url",
        default="",
        help="An empty database to use (default: a new SQLite file under var/bench/).",
    )
    parser.add_argument("--seed", type=int, default=1)
    return parser.parse_args(argv)


def fresh_sqlite_url() -> str:
    folder = BASE_DIR / "var" / "bench"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return f"sqlite:///{folder / 'bench.sqlite3'}"


def manage(*args: str, env: dict[str, str]) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        sys.stderr.write(result.stdout + result.stderr)
        raise SystemExit(f"manage.py {' '.join(args)} failed ({result.returncode}).")
    return result.stdout


def seed(database_url: str, customers: int, seed: int) -> tuple[float, str]:
    env = {**os.environ, "DATABASE_URL": database_url, "DEBUG": "1"}
    manage("migrate", "--noinput", "-v", "0", env=env)
    started = time.perf_counter()
    output = manage("seed_demo", "--customers", str(customers), "--seed", str(seed), env=env)
    elapsed = time.perf_counter() - started
    summary = next((line for line in output.splitlines() if line.startswith("Seeded")), output.strip())
    return elapsed, summary


def setup_django(database_url: str) -> None:
    """Production-like settings for the latency runs (set before Django reads them)."""
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DATABASE_URL": database_url,
            "DEBUG": "0",
            "SECRET_KEY": "bench-only-" + "x" * 50,  # never used outside this process
            "ALLOWED_HOSTS": "testserver",
        }
    )
    import warnings

    import django

    # Static files are not collected for a benchmark, and the API does not serve any.
    warnings.filterwarnings("ignore", message="No directory at", module="whitenoise.base")
    django.setup()
    import logging

    # Keep the access log's cost (one line per request) but not its output.
    sink = open(os.devnull, "w")  # noqa: SIM115 - lives as long as the process
    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.StreamHandler):
            handler.setStream(sink)


def query_counter(log: list[str]) -> Any:
    def wrapper(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        log.append(sql)
        return execute(sql, params, many, context)

    return wrapper


def measure(requests: int, seed: int) -> list[Latency]:
    from django.db import connection
    from django.test import Client
    from knox.models import AuthToken

    from customers.models import Customer
    from frontoffice.models import User

    rng = random.Random(seed)
    user = User.objects.get(username="sales1")
    _, token = AuthToken.objects.create(user=user)
    client = Client(HTTP_AUTHORIZATION=f"Token {token}")
    ids = list(Customer.objects.filter(merged_into=None).values_list("pk", flat=True))
    last_names = sorted(
        set(Customer.objects.exclude(last_name="").values_list("last_name", flat=True)[:5000])
    )

    endpoints = {
        "GET /api/v1/customers/ (first page of 50)": lambda: "/api/v1/customers/",
        "GET /api/v1/customers/?q=<last name>": lambda: f"/api/v1/customers/?q={rng.choice(last_names)}",
        "GET /api/v1/customers/{id}/360/": lambda: f"/api/v1/customers/{rng.choice(ids)}/360/",
    }
    results = []
    for label, url in endpoints.items():
        for _ in range(WARM_UP):
            client.get(url(), secure=True)
        queries: list[str] = []
        # Counted with a wrapper: Django empties its query log when a request starts.
        with connection.execute_wrapper(query_counter(queries)):
            client.get(url(), secure=True)
        samples, statuses = [], set()
        for _ in range(requests):
            target = url()
            started = time.perf_counter()
            response = client.get(target, secure=True)
            samples.append((time.perf_counter() - started) * 1000)
            statuses.add(response.status_code)
        results.append(Latency(label, samples, statuses, len(queries)))
    return results


def environment(database_url: str) -> list[str]:
    import django

    vendor = database_url.split(":", 1)[0]
    load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    return [
        f"- Date (UTC): {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M}",
        f"- Machine: {platform.machine()}, {os.cpu_count()} CPUs, load average before the run {load}",
        f"- Python {platform.python_version()}, Django {django.get_version()}",
        f"- Database: {vendor}" + (f" (SQLite {sqlite3.sqlite_version}, WAL)" if vendor == "sqlite" else ""),
    ]


def report(
    *,
    name: str,
    args: argparse.Namespace,
    env_lines: list[str],
    seed_seconds: float,
    summary: str,
    latencies: list[Latency],
) -> str:
    rows = re.sub(r"^Seeded | in [0-9.]+ s[.]$", "", summary)
    lines = [
        f"# Frontoffice benchmark: {name}",
        "",
        "Produced by `python -m bench` (`make bench`); the method is in bench/__main__.py.",
        "",
        *env_lines,
        "",
        "## Demo seed",
        "",
        "| Command | Wall time | What it inserted |",
        "|---|---|---|",
        f"| `manage.py seed_demo --customers {args.customers}` | {seed_seconds:.1f} s | {rows} |",
        "",
        "## API latency over the seeded database",
        "",
        "| Request | Timed requests | p50 | p95 | Max | SQL queries per request | HTTP status |",
        "|---|---|---|---|---|---|---|",
    ]
    for latency in latencies:
        statuses = ", ".join(str(s) for s in sorted(latency.statuses))
        lines.append(
            f"| `{latency.label}` | {len(latency.samples_ms)} | {latency.percentile(50):.1f} ms | "
            f"{latency.percentile(95):.1f} ms | {max(latency.samples_ms):.1f} ms | {latency.queries} | "
            f"{statuses} |"
        )
    lines += [
        "",
        "Measured with Django's test client in one process (no HTTP server, no network): a "
        "deployment adds its proxy and WSGI server. Searches and 360 views pick random names "
        "and customers from the seeded data (fixed random seed). `seed_demo` ends with "
        "`ANALYZE`, so the query planner has statistics about the seeded tables.",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str]) -> None:
    args = parse_args(argv)
    if not re.fullmatch(r"[A-Za-z0-9_.-]{1,60}", args.name):
        raise SystemExit("--name: letters, digits, '.', '_' and '-' only.")
    database_url = args.database_url or fresh_sqlite_url()
    env_lines = environment(database_url)
    print(f"Seeding {args.customers} customers...", flush=True)
    seed_seconds, summary = seed(database_url, args.customers, args.seed)
    print(f"  {seed_seconds:.1f} s: {summary}", flush=True)
    setup_django(database_url)
    print(f"Timing {args.requests} requests per endpoint...", flush=True)
    latencies = measure(args.requests, args.seed)
    text = report(
        name=args.name,
        args=args,
        env_lines=env_lines,
        seed_seconds=seed_seconds,
        summary=summary,
        latencies=latencies,
    )
    RESULTS.mkdir(exist_ok=True)
    target = RESULTS / f"{args.name}.md"
    temporary = target.with_suffix(".md.tmp")
    temporary.write_text(text)
    temporary.replace(target)
    print(text)
    print(f"Written to {target.relative_to(BASE_DIR)}")


if __name__ == "__main__":
    main(sys.argv[1:])
