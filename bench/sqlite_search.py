"""`python -m bench.sqlite_search [--customers 100000]`: the embedded default (SQLite)
searched as you type, measured from outside like `make bench` measures PostgreSQL.

1. Data: a SQLite file built by the demo seed (`manage.py seed_demo --customers N`, what
   `make run DEMO_CUSTOMERS=N` loads for the customers), after `migrate`; reused while N,
   the seed and the applied migrations are unchanged (a `bench_meta` row says so).
2. Serve as `make run` does: `manage.py runserver` (threaded, one process), DEBUG=1.
3. The search scenarios of the suite (bench/scenarios.py `customer_searches`): a 3-letter
   name prefix, an e-mail fragment, a phone fragment in another format than stored;
   timed by the suite's load process (bench/load.py), after warm-up.
4. Floor: the same rows by one hand-written statement through the sqlite3 module.
5. Found: for the e-mail and phone fragments, the share whose customer is among the
   search's matches (the list's `q`) and among the 8 the search box shows.

Target (issue 15): p95 < 150 ms for each. Results: bench/results/<name>.md and .json.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.__main__ import (
    BASE_DIR,
    RESULTS,
    environment,
    free_port,
    percentile,
    server_env,
    setup_django,
    verdict,
)

TARGET_MS = 150.0


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.sqlite_search", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--warm-up", type=int, default=30)
    parser.add_argument("--floor-runs", type=int, default=100)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--name", default="sqlite-search")
    return parser.parse_args(argv)


def _manage(*args: str, database_url: str) -> None:
    env = {**os.environ, "DATABASE_URL": database_url, "DEBUG": "1"}
    subprocess.run([sys.executable, "manage.py", *args], cwd=BASE_DIR, env=env, check=True)


def _applied(path: Path) -> str:
    with sqlite3.connect(path) as conn:
        rows = conn.execute("SELECT app, name FROM django_migrations ORDER BY app, name").fetchall()
    return str(len(rows)) + ":" + (rows[-1][1] if rows else "")


def ensure_sqlite_data(path: Path, customers: int, seed: int) -> tuple[bool, float]:
    """The seeded file: (built, seconds)."""
    started = time.perf_counter()
    database_url = f"sqlite:///{path}"
    wanted = json.dumps({"customers": customers, "seed": seed})
    if path.exists():
        _manage("migrate", "--noinput", "-v", "0", database_url=database_url)
        with sqlite3.connect(path) as conn:
            conn.execute("CREATE TABLE IF NOT EXISTS bench_meta (id int PRIMARY KEY, built text NOT NULL)")
            row = conn.execute("SELECT built FROM bench_meta WHERE id = 1").fetchone()
        if row and row[0] == wanted:
            return False, time.perf_counter() - started
        path.unlink()
    _manage("migrate", "--noinput", "-v", "0", database_url=database_url)
    _manage("seed_demo", "--customers", str(customers), "--seed", str(seed), database_url=database_url)
    with sqlite3.connect(path) as conn:
        conn.execute("ANALYZE")
        conn.execute("CREATE TABLE IF NOT EXISTS bench_meta (id int PRIMARY KEY, built text NOT NULL)")
        conn.execute("INSERT OR REPLACE INTO bench_meta (id, built) VALUES (1, ?)", [wanted])
    return True, time.perf_counter() - started


def serve_embedded(database_url: str, port: int) -> subprocess.Popen[bytes]:
    env = {**server_env(database_url), "DEBUG": "1"}
    log = open(BASE_DIR / "var" / "bench-runserver.log", "wb")  # noqa: SIM115 - lives as long as the server
    server = subprocess.Popen(
        [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"],
        cwd=BASE_DIR,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return server
        except OSError:
            time.sleep(0.3)
    server.terminate()
    raise SystemExit("runserver did not start: see var/bench-runserver.log")


def sqlite_floor(path: Path, sql: str, params: list[list[Any]], runs: int) -> list[float]:
    samples = []
    with sqlite3.connect(path) as conn:
        statement = sql.replace("%s", "?")
        for args in (params * (runs // max(1, len(params)) + 1))[: runs + 10]:
            started = time.perf_counter()
            conn.execute(statement, args).fetchall()
            samples.append((time.perf_counter() - started) * 1000)
    return samples[10:]


def found(scenario: Any, sample: int = 100) -> tuple[float, float] | None:
    """(share found among all matches, share among the 8 the box shows)."""
    if not scenario.expected:
        return None
    from urllib.parse import parse_qs, urlsplit

    from customers.filters import search_customers
    from customers.models import Customer
    from customers.selectors import global_search

    live = Customer.objects.filter(merged_into__isnull=True)
    pairs = list(zip(scenario.paths, scenario.expected, strict=False))[:sample]
    in_all = in_box = 0
    for path, customer in pairs:
        q = parse_qs(urlsplit(path).query)["q"][0]
        in_all += search_customers(live, q).filter(pk=customer).exists()
        in_box += customer in [c.pk for c in global_search(q=q)]
    return in_all / len(pairs), in_box / len(pairs)


def report(result: dict[str, Any]) -> str:
    env = result["environment"]
    lines = [
        "# Frontoffice benchmark: search as you type on the embedded default (SQLite)",
        "",
        "Written by `python -m bench.sqlite_search`; the method is in bench/sqlite_search.py. Do not edit by hand.",
        "",
        f"- Data: {result['customers']:,} customers seeded by `manage.py seed_demo`"
        f" ({'built' if result['built'] else 'reused'}; {result['data_seconds']:.0f} s), SQLite {sqlite3.sqlite_version}",
        "- Served as `make run` serves: `manage.py runserver`, DEBUG=1, one process",
        f"- Load: one client process on 127.0.0.1, sequential requests, {result['warm_up']} warm-up requests"
        f" per scenario not counted, {result['requests']} timed",
        f"- Machine: {env['machine']}, load average before the run {', '.join(str(v) for v in env['load_average_before'])},"
        f" after {', '.join(str(v) for v in result['load_average_after'])}; date {env['date_utc']} UTC",
        f"- Python {env['python']}, Django {env['django']}",
        "",
        "Floor: the same rows by one hand-written statement through the sqlite3 module; ratio = app p50 / floor p50."
        " Found: of 100 requests, the share whose customer is among the search's matches / among the 8 shown.",
        "",
        "| Scenario | What | p50 | p95 | p99 | Queries | Floor p50 | Ratio | Found (all / shown) | Target | Result |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in result["scenarios"]:
        share = row["found"]
        shown = f"{share[0]:.0%} / {share[1]:.0%}" if share else "—"
        outcome = "pass" if row["pass"] else f"**fail**: {row['why']}"
        lines.append(
            f"| {row['scenario']} | {row['what']} | {row['p50_ms']:.1f} ms | {row['p95_ms']:.1f} ms |"
            f" {row['p99_ms']:.1f} ms | {row['queries']} | {row['floor_p50_ms']:.2f} ms | {row['ratio']:.1f}x |"
            f" {shown} | p95 < {row['target_p95_ms']:.0f} ms | {outcome} |"
        )
    lines.append("")
    return "\n".join(lines)


def main(argv: list[str]) -> None:
    args = parse_args(argv)
    (BASE_DIR / "var").mkdir(exist_ok=True)
    path = BASE_DIR / "var" / f"bench-sqlite-{args.customers}.sqlite3"
    database_url = f"sqlite:///{path}"
    print(f"Data: {args.customers:,} customers in {path.name}...", flush=True)
    built, seconds = ensure_sqlite_data(path, args.customers, args.seed)
    print(f"  {'built' if built else 'reused'} in {seconds:.0f} s", flush=True)
    setup_django(database_url, debug=True)
    from bench.__main__ import count_queries, credentials
    from bench.scenarios import customer_searches

    rng = random.Random(args.seed)
    scenarios = customer_searches(rng, args.requests + args.warm_up, vendor="sqlite")
    for scenario in scenarios:
        scenario.target_p95_ms = TARGET_MS
    token, session, user = credentials()
    before = environment()
    port = free_port()
    server = serve_embedded(database_url, port)
    try:
        plan = {
            "host": "127.0.0.1",
            "port": port,
            "host_header": "127.0.0.1",
            "scenarios": [
                {
                    "name": s.name,
                    "warm_up": args.warm_up,
                    "paths": s.paths,
                    "headers": {**session, **s.headers},
                }
                for s in scenarios
            ],
        }
        with tempfile.TemporaryDirectory() as folder:
            plan_path, result_path = Path(folder) / "plan.json", Path(folder) / "result.json"
            plan_path.write_text(json.dumps(plan))
            print(f"Load: {len(scenarios)} scenarios x {args.requests} requests...", flush=True)
            subprocess.run(
                [sys.executable, "-m", "bench.load", str(plan_path), str(result_path)],
                cwd=BASE_DIR,
                check=True,
            )
            measured = json.loads(result_path.read_text())
    finally:
        server.terminate()
        server.wait(timeout=30)
    after = [round(v, 2) for v in os.getloadavg()]
    rows: dict[str, dict[str, Any]] = {}
    for s in scenarios:
        samples = measured[s.name]["samples_ms"]
        statuses = measured[s.name]["statuses"]
        queries, _ = count_queries(s.paths[-1], token, user, s.auth)
        floor_samples = sqlite_floor(path, s.floor_sql, s.floor_params, args.floor_runs)
        row = {
            "scenario": s.name,
            "what": s.what,
            "requests": len(samples),
            "statuses": statuses,
            "errors": sum(v for k, v in statuses.items() if k != "200"),
            "p50_ms": percentile(samples, 50),
            "p95_ms": percentile(samples, 95),
            "p99_ms": percentile(samples, 99),
            "queries": queries,
            "floor_p50_ms": percentile(floor_samples, 50),
            "target_p95_ms": s.target_p95_ms,
            "max_ratio": None,
            "same_as": None,
            "found": found(s),
        }
        row["ratio"] = row["p50_ms"] / row["floor_p50_ms"] if row["floor_p50_ms"] else float("inf")
        rows[s.name] = row
        print(f"  {s.name}: p50 {row['p50_ms']:.1f} p95 {row['p95_ms']:.1f} ms", flush=True)
    for row in rows.values():
        row["pass"], row["why"] = verdict(row, rows)
    result = {
        "customers": args.customers,
        "built": built,
        "data_seconds": seconds,
        "requests": args.requests,
        "warm_up": args.warm_up,
        "environment": before,
        "load_average_after": after,
        "scenarios": list(rows.values()),
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{args.name}.json").write_text(json.dumps(result, indent=2, default=str) + "\n")
    (RESULTS / f"{args.name}.md").write_text(report(result))
    print(report(result))


if __name__ == "__main__":
    main(sys.argv[1:])
