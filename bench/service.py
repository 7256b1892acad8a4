"""`python -m bench.service [--cases N] [--customers N] [--database-url URL] [--name NAME]`:
the agent console's caller lookup and the case queue, served, on PostgreSQL.

1. Data (not timed): N customers, each with an E.164 mobile phone ("+4479...") and an
   e-mail, 10 queues and N cases spread over them (a third open, with SLA due times;
   the rest resolved or closed), written with set-based SQL (INSERT ... SELECT
   generate_series) on a database of its own, then ANALYZEd. Reused while the
   customer and case counts are unchanged (migrations still run first, so a new index
   is built on the data as it is).
2. Serve: gunicorn with 2 workers, production settings (DEBUG=0), as `python -m bench`
   does (bench/__main__.py), with a service agent who is a member of every queue.
3. Scenarios, each with random inputs drawn with a fixed seed:
   - lookup_fragment: the console's lookup as the agent types 7 digits of a number,
     spaced ("912 3456"): GET /service/console/lookup/?q=...
   - lookup_full: the same with a whole number in the national format ("07912 345678");
   - queue_page: a queue's page of open cases, soonest due first (pages 1-5);
   - queue_api: GET /api/v1/service/cases/?queue=..&open=true (newest first, as the API pages).
4. Load (bench/load.py): warm-up requests not counted, then the timed requests one after
   the other from a separate process; p50/p95/p99 of each.
5. Queries: the SQL statements of one request (Django's test client, same settings).
6. Floor: the same rows fetched by one hand-written statement through psycopg, timed by
   the load process in rounds alternating with the scenario's requests; ratio = app p50
   / floor p50.
7. Results, written by this code: bench/results/<name>.md and .json, with the load
   average before and after the run.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import re
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import psycopg

from bench.__main__ import (
    collect_static,
    count_queries,
    environment,
    free_port,
    percentile,
    serve,
    server_env,
    setup_django,
)
from bench.data import admin_url, database_name, manage
from bench.load import ROUNDS, measure

BASE_DIR = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results"
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/fo_bench_service"
QUEUES = 10
PAGE = 25  # the queue page's size (service.views.PAGE_SIZE)
API_PAGE = 50  # the API's page (frontoffice.api.CursorPagination.page_size)
OPEN = ("new", "open", "waiting_customer", "waiting_back_office")
AGENT = "bench_agent"
# The target `python -m bench` sets for search as you type (bench/scenarios.py); the
# ratio to the floor is reported, not judged.
TARGET_P95_MS = 100.0


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.service", description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=500, help="Timed requests per scenario.")
    parser.add_argument("--warm-up", type=int, default=30)
    parser.add_argument("--floor-runs", type=int, default=300)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--database-url", default=os.environ.get("BENCH_SERVICE_DATABASE_URL") or DEFAULT_URL)
    parser.add_argument("--name", default="service-postgres", help="Results go to bench/results/<name>.md.")
    return parser.parse_args(argv)


# --- data


def _ensure_database(database_url: str) -> None:
    with psycopg.connect(admin_url(database_url), autocommit=True) as conn:
        name = database_name(database_url)
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def _drop_database(database_url: str) -> None:
    with psycopg.connect(admin_url(database_url), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{database_name(database_url)}" WITH (FORCE)')


def ensure_data(database_url: str, customers: int, cases: int) -> tuple[bool, float]:
    """(built, seconds): the data at the wanted size, built only when it is not there."""
    started = time.perf_counter()
    _ensure_database(database_url)
    manage("migrate", "--noinput", "-v", "0", database_url=database_url)
    with psycopg.connect(database_url, autocommit=True) as conn:
        have = conn.execute(
            "SELECT (SELECT count(*) FROM customers_customer), (SELECT count(*) FROM service_case)"
        ).fetchone()
    if have == (customers, cases):
        with psycopg.connect(database_url, autocommit=True) as conn:
            conn.execute("ANALYZE")  # a migration may have added an index
        return False, time.perf_counter() - started
    if have != (0, 0):
        _drop_database(database_url)
        _ensure_database(database_url)
        manage("migrate", "--noinput", "-v", "0", database_url=database_url)
    with psycopg.connect(database_url) as conn:
        _seed(conn, customers, cases)
        conn.commit()
        conn.autocommit = True
        conn.execute("ANALYZE")
    return True, time.perf_counter() - started


def _seed(conn: psycopg.Connection, customers: int, cases: int) -> None:
    conn.execute(
        """
        INSERT INTO customers_customer (id, kind, first_name, last_name, organisation_name, display_name,
            name_key, lifecycle_stage, attributes, version, preferred_channel, created_at, updated_at)
        SELECT g, 'person', 'First' || g, 'Last' || g, '', 'First' || g || ' Last' || g,
            'first' || g || ' last' || g, 'customer', '{}'::jsonb, 1, '', now(), now()
        FROM generate_series(1, %s) AS g
        """,
        [customers],
    )
    conn.execute("SELECT setval(pg_get_serial_sequence('customers_customer', 'id'), %s)", [customers])
    # A distinct mobile number each ("+4479" and 8 digits: 7919 is prime to 10^8).
    conn.execute(
        """
        INSERT INTO customers_contactpoint (customer_id, kind, label, value, is_primary, street, postal_code,
            city, region, country, created_at, updated_at)
        SELECT g, 'phone', 'mobile', '+4479' || lpad(((g::bigint * 7919) %% 100000000)::text, 8, '0'), true,
            '', '', '', '', '', now(), now()
        FROM generate_series(1, %s) AS g
        UNION ALL
        SELECT g, 'email', 'work', 'person' || g || '@example.com', true, '', '', '', '', '', now(), now()
        FROM generate_series(1, %s) AS g
        """,
        [customers, customers],
    )
    conn.execute(
        """
        INSERT INTO service_queue (name, description, strategy, is_default, is_supervisor, version,
            created_at, updated_at)
        SELECT 'Queue ' || q, '', 'round_robin', q = 1, false, 1, now(), now() FROM generate_series(1, %s) AS q
        """,
        [QUEUES],
    )
    # A third of the cases open (due times spread around now, 5 % breached), the rest
    # resolved or closed; created over the last year.
    conn.execute(
        """
        INSERT INTO service_case (customer_id, kind, channel, subject, description, priority, category, status,
            queue_id, resolution, root_cause, first_contact_resolved, reopened_count, resolved_at, closed_at,
            first_response_due_at, resolution_due_at, first_response_at, sla_paused_seconds,
            first_response_met, resolution_met, sla_breached, version, created_at, updated_at)
        SELECT 1 + (g * 7) %% %(customers)s,
            (ARRAY['enquiry', 'request', 'complaint', 'incident'])[1 + g %% 4],
            (ARRAY['phone', 'email', 'web', 'chat', 'social', 'in_person'])[1 + g %% 6],
            'Bench case ' || g, 'What the customer said about case ' || g,
            (ARRAY['low', 'normal', 'high', 'urgent'])[1 + (g / 3) %% 4],
            (ARRAY['product', 'delivery', 'billing', 'staff', 'other'])[1 + g %% 5],
            s.status, q.id, '', '', false, 0,
            CASE WHEN s.done THEN s.created + interval '2 days' END,
            CASE WHEN s.status = 'closed' THEN s.created + interval '9 days' END,
            s.created + interval '4 hours', s.created + interval '3 days',
            CASE WHEN s.done THEN s.created + interval '2 hours' END, 0,
            CASE WHEN s.done THEN true END, CASE WHEN s.done THEN g %% 10 <> 0 END,
            g %% 20 = 0, 1, s.created, s.created
        FROM generate_series(1, %(cases)s) AS g
        CROSS JOIN LATERAL (
            SELECT CASE WHEN g %% 3 = 0 THEN (ARRAY['new', 'open', 'waiting_customer', 'waiting_back_office'])[
                    1 + (g / 3) %% 4]
                ELSE (ARRAY['resolved', 'closed'])[1 + g %% 2] END AS status,
                g %% 3 <> 0 AS done,
                now() - (g %% 365) * interval '1 day' - (g %% 1440) * interval '1 minute' AS created
        ) AS s
        JOIN (SELECT id, row_number() OVER (ORDER BY id) - 1 AS n FROM service_queue) AS q
            ON q.n = g %% %(queues)s
        """,
        {"customers": customers, "cases": cases, "queues": QUEUES},
    )


# --- scenarios


def _agent() -> Any:
    from frontoffice.models import User
    from frontoffice.roles import Role
    from service.models import Queue

    user = User.objects.filter(username=AGENT).first()
    if user is None:
        from django.contrib.auth.models import Group

        user = User.objects.create_user(username=AGENT, password=None)
        user.groups.set(Group.objects.filter(name=Role.SERVICE_AGENT))
    for queue in Queue.objects.all():
        queue.members.add(user)
    return user


def _credentials(user: Any) -> tuple[dict[str, str], dict[str, str]]:
    from django.conf import settings
    from django.test import Client
    from knox.models import AuthToken

    _, token = AuthToken.objects.create(user=user)
    client = Client()
    client.force_login(user)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME].value
    return {"Authorization": f"Token {token}"}, {"Cookie": f"{settings.SESSION_COOKIE_NAME}={cookie}"}


LOOKUP_FLOOR = """
    SELECT c.id, c.display_name,
        (SELECT json_agg(json_build_object('kind', cp.kind, 'value', cp.value)) FROM customers_contactpoint cp
         WHERE cp.customer_id = c.id AND cp.is_primary AND cp.kind <> 'address'),
        (SELECT count(*) FROM service_case sc WHERE sc.customer_id = c.id
         AND sc.status IN ('new', 'open', 'waiting_customer', 'waiting_back_office'))
    FROM customers_customer c
    WHERE c.merged_into_id IS NULL AND c.id IN (
        SELECT customer_id FROM customers_contactpoint WHERE kind = 'phone' AND value LIKE %s)
    ORDER BY c.display_name, c.id LIMIT 8
"""
QUEUE_FLOOR = """
    SELECT sc.*, c.display_name, u.username, q.name
    FROM service_case sc
    JOIN customers_customer c ON c.id = sc.customer_id
    LEFT JOIN frontoffice_user u ON u.id = sc.assignee_id
    LEFT JOIN service_queue q ON q.id = sc.queue_id
    WHERE sc.queue_id = %s AND sc.status IN ('new', 'open', 'waiting_customer', 'waiting_back_office')
    ORDER BY sc.resolution_due_at, sc.created_at DESC, sc.id DESC
    LIMIT %s OFFSET %s
"""
QUEUE_API_FLOOR = QUEUE_FLOOR.replace(
    "ORDER BY sc.resolution_due_at, sc.created_at DESC", "ORDER BY sc.created_at DESC"
)


def scenarios(*, requests: int, warm_up: int, seed: int) -> list[dict[str, Any]]:
    from customers.models import ContactPoint
    from service.models import Queue

    rng = random.Random(seed)
    n = requests + warm_up
    phones = list(
        ContactPoint.objects.filter(kind="phone").order_by("?").values_list("value", flat=True)[:500]
    )
    queues = list(Queue.objects.order_by("id").values_list("id", flat=True))

    def lookup(q: str) -> str:
        return "/service/console/lookup/?" + urlencode({"q": q})

    fragments, full = [], []
    for _ in range(n):
        national = "0" + rng.choice(phones).removeprefix("+44")  # "07912345678"
        start = rng.randint(1, len(national) - 7)
        part = national[start : start + 7]
        fragments.append((lookup(f"{part[:3]} {part[3:]}"), [f"%{part}%"]))
        number = rng.choice(phones)
        national = "0" + number.removeprefix("+44")
        full.append((lookup(f"{national[:5]} {national[5:]}"), [number]))
    pages, api = [], []
    for _ in range(n):
        queue, page = rng.choice(queues), rng.randint(1, 5)
        pages.append((f"/service/queues/{queue}/?page={page}", [queue, PAGE, (page - 1) * PAGE]))
        query = urlencode({"queue": queue, "open": "true"})
        api.append((f"/api/v1/service/cases/?{query}", [queue, API_PAGE, 0]))
    full_floor = LOOKUP_FLOOR.replace("value LIKE %s", "value = %s")
    return [
        {
            "name": "lookup_fragment",
            "what": 'Console lookup, 7 digits of a number ("912 3456")',
            "rows": fragments,
            "floor_sql": LOOKUP_FLOOR,
            "auth": "session",
        },
        {
            "name": "lookup_full",
            "what": 'Console lookup, a whole number, national format ("07912 345678")',
            "rows": full,
            "floor_sql": full_floor,
            "auth": "session",
        },
        {
            "name": "queue_page",
            "what": f"Queue page of open cases, soonest due first, pages 1-5 of {PAGE}",
            "rows": pages,
            "floor_sql": QUEUE_FLOOR,
            "auth": "session",
        },
        {
            "name": "queue_api",
            "what": f"GET /api/v1/service/cases/?queue=&open=true, newest first ({API_PAGE})",
            "rows": api,
            "floor_sql": QUEUE_API_FLOOR,
            "auth": "token",
        },
    ]


# --- run and report


def _load_average() -> list[float]:
    return [round(v, 2) for v in os.getloadavg()]


def report_markdown(result: dict[str, Any]) -> str:
    env = result["environment"]
    lines = [
        "# Frontoffice service benchmark: caller lookup and case queue on PostgreSQL",
        "",
        "Written by `python -m bench.service`; the method is in bench/service.py. Do not edit by hand.",
        "",
        f"- Data: {result['customers']:,} customers (a phone and an e-mail each), {result['cases']:,} cases"
        f" in {QUEUES} queues, {result['open_cases']:,} open (data {'built' if result['built'] else 'reused'};"
        f" {result['data_seconds']:.0f} s)",
        f"- Served by gunicorn, {result['workers']} workers, DEBUG=0, PostgreSQL {result['postgres']}",
        f"- Load: one client process on 127.0.0.1, sequential requests, {result['warm_up']} warm-up requests"
        f" per scenario not counted, {result['requests']} timed",
        f"- Machine: {env['machine']}; load average before the run"
        f" {', '.join(str(v) for v in env['load_average_before'])}, after"
        f" {', '.join(str(v) for v in result['load_average_after'])}; date {env['date_utc']} UTC",
        f"- Python {env['python']}, Django {env['django']}, psycopg {env['psycopg']}",
        "",
        "Floor: the same rows fetched by one hand-written statement through psycopg, in the same run"
        f" (in {ROUNDS} rounds alternating with the scenario's timed requests);"
        " ratio = app p50 / floor p50. Queries: SQL statements of one request (sessions and"
        " permissions included).",
        "",
        "| Scenario | What | p50 | p95 | p99 | Queries | Floor p50 | Floor p95 | Ratio | Target | Result |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in result["scenarios"]:
        outcome = "pass" if row["pass"] else f"**fail**: {row['why']}"
        lines.append(
            f"| {row['scenario']} | {row['what']} | {row['p50_ms']:.1f} ms | {row['p95_ms']:.1f} ms |"
            f" {row['p99_ms']:.1f} ms | {row['queries']} | {row['floor_p50_ms']:.2f} ms |"
            f" {row['floor_p95_ms']:.2f} ms | {row['ratio']:.1f}x | p95 < {row['target_p95_ms']:.0f} ms |"
            f" {outcome} |"
        )
    lines.append("")
    return "\n".join(lines)


def main(argv: list[str]) -> None:
    args = parse_args(argv)
    if args.requests < 1 or args.cases < 1 or args.customers < 1:
        raise SystemExit("--requests, --cases and --customers must be at least 1.")
    if not re.fullmatch(r"[A-Za-z0-9_.-]{1,60}", args.name):
        raise SystemExit("--name: letters, digits, '.', '_' and '-' only.")
    (BASE_DIR / "var").mkdir(exist_ok=True)
    print(f"Data: {args.customers:,} customers, {args.cases:,} cases...", flush=True)
    built, seconds = ensure_data(args.database_url, args.customers, args.cases)
    print(f"  {'built' if built else 'reused'} in {seconds:.0f} s", flush=True)
    collect_static(args.database_url)
    setup_django(args.database_url)
    from django.db import connection

    from service.models import Case

    user = _agent()
    token, session = _credentials(user)
    plan_rows = scenarios(requests=args.requests, warm_up=args.warm_up, seed=args.seed)
    before = environment()
    port = free_port()
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
                    "name": s["name"],
                    "warm_up": args.warm_up,
                    "paths": [path for path, _ in s["rows"]],
                    "headers": token if s["auth"] == "token" else session,
                    "floor_sql": s["floor_sql"],
                    "floor_params": [p for _, p in s["rows"]],
                }
                for s in plan_rows
            ],
        }
        print(f"Load: {len(plan_rows)} scenarios x {args.requests} requests...", flush=True)
        measured = measure(plan, cwd=BASE_DIR, env=server_env(args.database_url))
    finally:
        server.terminate()
        server.wait(timeout=30)
    rows = []
    for s in plan_rows:
        samples = measured[s["name"]]["samples_ms"]
        statuses = measured[s["name"]]["statuses"]
        queries, status = count_queries(s["rows"][-1][0], token, user, s["auth"])
        floor_samples = measured[s["name"]]["floor_ms"]
        row = {
            "scenario": s["name"],
            "what": s["what"],
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
            "target_p95_ms": TARGET_P95_MS,
        }
        row["ratio"] = row["p50_ms"] / row["floor_p50_ms"] if row["floor_p50_ms"] else float("inf")
        reasons = []
        if row["errors"] or status != 200:
            reasons.append(f"{row['errors']} non-200 answers (query count run: {status})")
        if row["p95_ms"] >= TARGET_P95_MS:
            reasons.append(f"p95 {row['p95_ms']:.1f} ms >= {TARGET_P95_MS:.0f} ms")
        row["pass"], row["why"] = not reasons, "; ".join(reasons)
        rows.append(row)
        print(
            f"  {s['name']}: p50 {row['p50_ms']:.1f} p95 {row['p95_ms']:.1f} p99 {row['p99_ms']:.1f} ms,"
            f" {queries} queries, floor {row['floor_p50_ms']:.2f} ms",
            flush=True,
        )
    result = {
        "customers": args.customers,
        "cases": args.cases,
        "open_cases": Case.objects.filter(status__in=OPEN).count(),
        "built": built,
        "data_seconds": seconds,
        "workers": args.workers,
        "requests": args.requests,
        "warm_up": args.warm_up,
        "postgres": connection.cursor().connection.info.server_version,
        "environment": before,
        "load_average_after": _load_average(),
        "date_end_utc": f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M}",
        "scenarios": rows,
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
