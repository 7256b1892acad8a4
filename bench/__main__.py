"""`python -m bench` (`make bench`): the served app on PostgreSQL, measured from outside.

1. Data (bench/data.py): `seed_demo` for the customers, COPY for the activities up to
   the scale; reused while the scale, the seed and the applied migrations are unchanged.
2. Serve: gunicorn with 2 workers, production settings (DEBUG=0), on 127.0.0.1.
3. Plan (bench/scenarios.py, in this process with Django loaded): the URLs of each
   scenario, an API token and a session, and the SQL queries of one request of each
   (Django's test client, the same settings, a statement counter).
4. Load and floor (bench/load.py): a separate process sends each scenario's warm-up
   requests, then its timed requests one after the other, and reports every latency.
   The floor, the same rows by one hand-written statement through psycopg after one
   untimed pass over them, is timed by that process too, in rounds alternating with
   the scenario's requests: both figures from the same minutes of the machine's time.
5. Ratio: the app's p50 over the floor's p50.
6. Results, written by this code: bench/results/latest.md and latest.json.

Scales: default 100,000 customers / 1,000,000 activities; `--scale large` (or
SCALE=large) 1,000,000 / 10,000,000. `--customers`/`--activities` override either.
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import json
import os
import platform
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench.load import ROUNDS, Floor, measure

BASE_DIR = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results"
SCALES = {"default": (100_000, 1_000_000), "large": (1_000_000, 10_000_000)}
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/fo_bench"
SECRET = "bench-only-" + "x" * 50  # never used outside the bench's own server


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", choices=sorted(SCALES), default=os.environ.get("SCALE") or "default")
    parser.add_argument("--customers", type=int, help="Overrides the scale's number of customers.")
    parser.add_argument("--activities", type=int, help="Overrides the scale's number of activities.")
    parser.add_argument(
        "--requests", type=int, default=500, help="Timed requests per scenario (at least 500)."
    )
    parser.add_argument("--warm-up", type=int, default=30)
    parser.add_argument("--floor-runs", type=int, default=300, help="Timed floor statements per scenario.")
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL") or DEFAULT_URL)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--port",
        type=int,
        default=int(os.environ.get("BENCH_PORT") or 0),
        help="The server's port (default: a free one; a machine shared by several runs gives each its range).",
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--only", default="", help="Comma-separated scenario names (default: all).")
    parser.add_argument("--name", default="latest", help="Results go to bench/results/<name>.md and .json.")
    return parser.parse_args(argv)


def percentile(samples: list[float], p: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(samples)
    return ordered[max(1, round(p / 100 * len(ordered))) - 1] if ordered else float("nan")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def server_env(database_url: str) -> dict[str, str]:
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": database_url,
        "DEBUG": "0",
        "SECRET_KEY": SECRET,
        "ERP_WEBHOOK_SECRET": "whsec_" + base64.b64encode(b"bench-only-webhook-secret-32-bytes").decode(),
        "ALLOWED_HOSTS": "127.0.0.1,testserver",
        "API_THROTTLE_USER": "1000000/min",
        "API_THROTTLE_ANON": "1000000/min",
        "LOG_LEVEL": "WARNING",
        "STATIC_ROOT": str(BASE_DIR / "var" / "bench-static"),
    }


def collect_static(database_url: str) -> None:
    """Production serves the collected, hashed static files (whitenoise's manifest):
    collected again (minutes, with compression) only when a source file is newer."""
    manifest = Path(server_env(database_url)["STATIC_ROOT"]) / "staticfiles.json"
    sources = [p.stat().st_mtime for p in (BASE_DIR / "static").rglob("*") if p.is_file()]
    if not manifest.exists() or max(sources, default=0) > manifest.stat().st_mtime:
        subprocess.run(
            [sys.executable, "manage.py", "collectstatic", "--noinput", "-v", "0"],
            cwd=BASE_DIR,
            env=server_env(database_url),
            check=True,
        )


def serve(database_url: str, port: int, workers: int) -> subprocess.Popen[bytes]:
    log = open(BASE_DIR / "var" / "bench-gunicorn.log", "wb")  # noqa: SIM115 - lives as long as the server
    server = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "gunicorn"),
            "config.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            "--access-logfile",
            "-",
        ],
        cwd=BASE_DIR,
        env=server_env(database_url),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return server
        except OSError:
            time.sleep(0.3)
    server.terminate()
    raise SystemExit("gunicorn did not start: see var/bench-gunicorn.log")


def setup_django(database_url: str, debug: bool = False) -> None:
    os.environ.update(
        {k: v for k, v in server_env(database_url).items() if k not in os.environ or k != "PATH"}
    )
    os.environ["DEBUG"] = "1" if debug else "0"  # as the server runs: the same session cookie
    import logging
    import warnings

    import django

    warnings.filterwarnings("ignore", message="No directory at", module="whitenoise.base")
    django.setup()
    logging.disable(logging.INFO)


def credentials() -> tuple[dict[str, str], dict[str, str], Any]:
    from django.conf import settings
    from django.test import Client
    from knox.models import AuthToken

    from frontoffice.models import User

    user = User.objects.get(username="sales1")
    _, token = AuthToken.objects.create(user=user)
    client = Client()
    client.force_login(user)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME].value
    return (
        {"Authorization": f"Token {token}"},
        {"Cookie": f"{settings.SESSION_COOKIE_NAME}={cookie}"},
        user,
    )


def count_queries(path: str, headers: dict[str, str], user: Any, auth: str) -> tuple[int, int]:
    from django.db import connection
    from django.test import Client

    client = Client(**({"HTTP_AUTHORIZATION": headers["Authorization"]} if auth == "token" else {}))
    if auth == "session":
        client.force_login(user)
    extra = {"HTTP_HX_REQUEST": "true"} if "/search/" in path else {}
    client.get(path, secure=True, **extra)  # warm caches as the timed run would
    statements: list[str] = []

    def counter(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        statements.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(counter):
        response = client.get(path, secure=True, **extra)
    return len(statements), response.status_code


def floor(database_url: str, sql: str, params: list[list[Any]], runs: int) -> list[float]:
    """`runs` timings of `sql` over `params` (repeated as needed), after one untimed pass."""
    statement = Floor(database_url, sql, params, runs)
    try:
        return statement.time(statement.params)
    finally:
        statement.close()


def verdict(row: dict[str, Any], rows: dict[str, dict[str, Any]]) -> tuple[bool, str]:
    reasons = []
    if "rate" in row:  # a throughput: messages per second
        if row["errors"]:
            reasons.append(f"{row['errors']} not delivered")
        if row["rate"] < row["min_rate"]:
            reasons.append(f"{row['rate']:,.0f}/s < {row['min_rate']:,.0f}/s")
        slower = rows.get(row["faster_than"] or "")
        if slower and row["rate"] <= slower["rate"]:
            reasons.append(f"no faster than {row['faster_than']} ({slower['rate']:,.0f}/s)")
        return not reasons, "; ".join(reasons)
    if row["errors"]:
        reasons.append(f"{row['errors']} non-200 answers")
    if row["p95_ms"] >= row["target_p95_ms"]:
        reasons.append(f"p95 {row['p95_ms']:.1f} ms >= {row['target_p95_ms']:.0f} ms")
    if row["max_ratio"] is not None and row["ratio"] > row["max_ratio"]:
        reasons.append(f"ratio {row['ratio']:.1f} > {row['max_ratio']:.0f}")
    if row["same_as"] and row["same_as"] in rows:
        first = rows[row["same_as"]]["p50_ms"]
        if abs(row["p50_ms"] - first) > 0.2 * first:
            reasons.append(f"p50 not within 20 % of {row['same_as']} ({first:.1f} ms)")
    return not reasons, "; ".join(reasons)


def scale_summary(name: str, customers: int, info: Any) -> dict[str, Any]:
    """The data a run measured on (`info`: bench.data's DataInfo)."""
    return {
        "name": name,
        "customers": customers,
        "activities": info.activities,
        "built": info.built,
        "data_seconds": info.seconds,
    }


def python_loop_ms() -> float:
    """The best of 5 timings of one fixed pure-Python loop: how fast this machine runs
    Python right now. On a shared machine it moved by half within a minute, so a run's
    figures are read beside it (lower is faster)."""
    timings = []
    for _ in range(5):
        started = time.perf_counter()
        for _ in range(2_000):
            sum(range(1_000))
        timings.append((time.perf_counter() - started) * 1000)
    return round(min(timings), 1)


def environment() -> dict[str, Any]:
    import django
    import psycopg

    return {
        "date_utc": f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M}",
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs",
        "load_average_before": [round(v, 2) for v in os.getloadavg()],
        "python_loop_ms_before": python_loop_ms(),
        "python": platform.python_version(),
        "django": django.get_version(),
        "psycopg": psycopg.__version__,
    }


def report_markdown(result: dict[str, Any]) -> str:
    scale = result["scale"]
    lines = [
        "# Frontoffice benchmark: the served app on PostgreSQL",
        "",
        "Written by `python -m bench` (`make bench`); the method is in bench/__main__.py. Do not edit by hand.",
        "",
        f"- Scale: {scale['name']}: {scale['customers']:,} customers, {scale['activities']:,} activities"
        f" (data {'built' if scale['built'] else 'reused'}; {scale['data_seconds']:.0f} s)",
        f"- Served by gunicorn, {result['workers']} workers, DEBUG=0, PostgreSQL {result['postgres']}",
        f"- Load: one client process on 127.0.0.1, sequential requests, {result['warm_up']} warm-up requests"
        f" per scenario not counted, {result['requests']} timed",
        f"- Machine: {result['environment']['machine']}, load average before the run"
        f" {', '.join(str(v) for v in result['environment']['load_average_before'])}; date {result['environment']['date_utc']} UTC",
        f"- Python {result['environment']['python']}, Django {result['environment']['django']}",
        *(
            [
                f"- Machine speed: a fixed pure-Python loop (`python_loop_ms`) took"
                f" {result['environment']['python_loop_ms_before']} ms before the load and"
                f" {result['environment']['python_loop_ms_after']} ms after it (lower is faster;"
                " the same loop tells how another run's machine compared)"
            ]
            if "python_loop_ms_after" in result["environment"]
            else []
        ),
        "",
        "Floor: the same rows fetched by one hand-written statement through psycopg, in the same run"
        f" (served scenarios: in {ROUNDS} rounds alternating with the scenario's timed requests);"
        " ratio = app p50 / floor p50. Queries: SQL statements of one request.",
        "",
        "| Scenario | What | p50 | p95 | p99 | Queries | Floor p50 | Ratio | Target | Result |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in result["scenarios"]:
        if "rate" in row:
            continue
        target = f"p95 < {row['target_p95_ms']:.0f} ms"
        if row["max_ratio"] is not None:
            target += f", ≤ {row['max_ratio']:.0f}x floor"
        if row["same_as"]:
            target += f", p50 within 20 % of {row['same_as']}"
        outcome = "pass" if row["pass"] else f"**fail**: {row['why']}"
        lines.append(
            f"| {row['scenario']} | {row['what']} | {row['p50_ms']:.1f} ms | {row['p95_ms']:.1f} ms |"
            f" {row['p99_ms']:.1f} ms | {row['queries']} | {row['floor_p50_ms']:.2f} ms | {row['ratio']:.1f}x |"
            f" {target} | {outcome} |"
        )
    throughputs = [row for row in result["scenarios"] if "rate" in row]
    if throughputs:
        lines += [
            "",
            "Throughput: messages committed to the outbox first, then relayed by worker processes released"
            " together; floor: one hand-written statement per batch locking and updating as many outbox rows;"
            " ratio = floor rate / app rate.",
            "",
            "| Scenario | What | Wall time | Messages/s | Per worker | Floor | Ratio | Target | Result |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        for row in throughputs:
            target = f"≥ {row['min_rate']:,.0f}/s"
            if row["faster_than"]:
                target += f", faster than {row['faster_than']}"
            outcome = "pass" if row["pass"] else f"**fail**: {row['why']}"
            lines.append(
                f"| {row['scenario']} | {row['what']} | {row['seconds']:.1f} s | {row['rate']:,.0f} |"
                f" {', '.join(f'{c:,}' for c in row['claimed_per_worker'])} | {row['floor_rate']:,.0f}/s |"
                f" {row['ratio']:.1f}x | {target} | {outcome} |"
            )
    lines.append("")
    return "\n".join(lines)


def main(argv: list[str]) -> None:
    args = parse_args(argv)
    if args.requests < 1:
        raise SystemExit("--requests must be at least 1.")
    customers, activities = SCALES[args.scale]
    customers = args.customers or customers
    activities = args.activities or activities
    (BASE_DIR / "var").mkdir(exist_ok=True)
    from bench.data import ensure_data

    print(
        f"Data: {customers:,} customers, {activities:,} activities ({args.database_url.rsplit('/', 1)[-1]})...",
        flush=True,
    )
    info = ensure_data(
        database_url=args.database_url, customers=customers, activities=activities, seed=args.seed
    )
    print(f"  {'built' if info.built else 'reused'} in {info.seconds:.0f} s: {info.summary}", flush=True)
    collect_static(args.database_url)
    setup_django(args.database_url)
    from bench.data import ensure_records

    print(f"  records: {ensure_records(customers, args.seed)}", flush=True)
    from bench.scenarios import build

    scenarios = build(requests=args.requests, warm_up=args.warm_up, seed=args.seed)
    if args.only:
        wanted = set(args.only.split(","))
        scenarios = [s for s in scenarios if s.name in wanted]
    token, session, user = credentials()
    before = environment()  # the machine's load before the run, not after it
    port = args.port or free_port()
    server = serve(args.database_url, port, args.workers)
    try:
        plan = {
            "host": "127.0.0.1",
            "port": port,
            "host_header": "127.0.0.1",
            "database_url": args.database_url,
            "floor_runs": args.floor_runs,
            "scenarios": [
                {
                    "name": s.name,
                    "warm_up": args.warm_up,
                    "paths": s.paths,
                    "headers": {**(token if s.auth == "token" else session), **s.headers},
                    "floor_sql": s.floor_sql,
                    "floor_params": s.floor_params,
                }
                for s in scenarios
            ],
        }
        print(f"Load: {len(scenarios)} scenarios x {args.requests} requests...", flush=True)
        measured = measure(plan, cwd=BASE_DIR)
    finally:
        server.terminate()
        server.wait(timeout=30)
    before["python_loop_ms_after"] = python_loop_ms()
    from django.db import connection

    rows: dict[str, dict[str, Any]] = {}
    for s in scenarios:
        samples = measured[s.name]["samples_ms"]
        statuses = measured[s.name]["statuses"]
        queries, status = count_queries(s.paths[-1], token, user, s.auth)
        floor_samples = measured[s.name]["floor_ms"]
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
            "queries_status": status,
            "floor_p50_ms": percentile(floor_samples, 50),
            "floor_p95_ms": percentile(floor_samples, 95),
            "target_p95_ms": s.target_p95_ms,
            "max_ratio": s.max_ratio,
            "same_as": s.same_as,
        }
        row["ratio"] = row["p50_ms"] / row["floor_p50_ms"] if row["floor_p50_ms"] else float("inf")
        rows[s.name] = row
        print(
            f"  {s.name}: p50 {row['p50_ms']:.1f} p95 {row['p95_ms']:.1f} ms, {queries} queries, floor {row['floor_p50_ms']:.2f} ms",
            flush=True,
        )
    from bench.inprocess import IN_PROCESS, run_all

    wanted = set(args.only.split(",")) if args.only else set()
    if not wanted or wanted & IN_PROCESS:
        print("In process:", flush=True)
        for row in run_all(args.database_url, wanted, runs=20, floor_runs=10):
            rows[row["scenario"]] = row
    for row in rows.values():
        row["pass"], row["why"] = verdict(row, rows)
    result = {
        "scale": scale_summary(args.scale, customers, info),
        "workers": args.workers,
        "requests": args.requests,
        "warm_up": args.warm_up,
        "postgres": connection.cursor().connection.info.server_version,
        "environment": before,
        "scenarios": list(rows.values()),
    }
    RESULTS.mkdir(exist_ok=True)
    for suffix, text in (
        (".json", json.dumps(result, indent=2, default=str) + "\n"),
        (".md", report_markdown(result)),
    ):
        target = RESULTS / f"{args.name}{suffix}"
        temporary = target.with_suffix(suffix + ".tmp")
        temporary.write_text(text)
        temporary.replace(target)
    print(report_markdown(result))
    print(f"Written to bench/results/{args.name}.md and .json")


if __name__ == "__main__":
    main(sys.argv[1:])
