"""`python -m bench.profile_overhead [--database-url URL] [--requests 200]`: where the
time of the 360 API and of the customer list page 1 goes, beside their one-statement
floor (issue 15: within 4x of it).

On the bench database (`make bench` builds it), with production settings, in this
process through Django's test client (no server, no network): per endpoint, the time
of a request, the part spent in SQL (a statement timer around every query) and so the
Python part, the query count, and the functions that take the most of it (cProfile,
cumulative, over the same requests). Written to bench/results/<name>.md.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import sys
import time
from typing import Any

from bench.__main__ import DEFAULT_URL, RESULTS, environment, percentile, setup_django


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.profile_overhead", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL") or DEFAULT_URL)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--name", default="overhead-profile")
    return parser.parse_args(argv)


def measure(client: Any, paths: list[str], extra: dict[str, str]) -> dict[str, Any]:
    from django.db import connection

    sql_ms: list[float] = []
    total_ms: list[float] = []
    queries = 0

    def timer(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            spent[0] += (time.perf_counter() - started) * 1000
            spent[1] += 1

    # Statements sent together (`prepared_rows_together`, psycopg's pipeline) return from
    # execute at once; the wait for their results is at the pipeline's end: timed too.
    import psycopg

    pipeline_exit = psycopg.Pipeline.__exit__

    def timed_exit(pipeline: Any, *exc: Any) -> Any:
        started = time.perf_counter()
        try:
            return pipeline_exit(pipeline, *exc)
        finally:
            spent[0] += (time.perf_counter() - started) * 1000

    for path in paths[:20]:
        client.get(path, secure=True, **extra)  # warm-up
    psycopg.Pipeline.__exit__ = timed_exit  # type: ignore[method-assign]
    try:
        for path in paths:
            spent = [0.0, 0]
            with connection.execute_wrapper(timer):
                started = time.perf_counter()
                response = client.get(path, secure=True, **extra)
                total_ms.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, (path, response.status_code)
            sql_ms.append(spent[0])
            queries = int(spent[1])
    finally:
        psycopg.Pipeline.__exit__ = pipeline_exit  # type: ignore[method-assign]
    profile = cProfile.Profile()
    profile.enable()
    for path in paths[:100]:
        client.get(path, secure=True, **extra)
    profile.disable()
    out = io.StringIO()
    stats = pstats.Stats(profile, stream=out)
    stats.sort_stats("tottime").print_stats(15)
    python_ms = [t - s for t, s in zip(total_ms, sql_ms, strict=True)]
    return {
        "p50_ms": percentile(total_ms, 50),
        "p95_ms": percentile(total_ms, 95),
        "sql_p50_ms": percentile(sql_ms, 50),
        "python_p50_ms": percentile(python_ms, 50),
        "queries": queries,
        "top": [line for line in out.getvalue().splitlines() if line.strip()][-16:],
    }


def main(argv: list[str]) -> None:
    args = parse_args(argv)
    setup_django(args.database_url)
    import random

    from django.test import Client

    from bench.__main__ import credentials, floor
    from customers.models import Customer

    rng = random.Random(1)
    token, _, user = credentials()
    live = Customer.objects.filter(merged_into__isnull=True)
    ids = list(live.order_by("?").values_list("id", flat=True)[: args.requests])
    owner, kind, stage = live.exclude(owner=None).values_list("owner_id", "kind", "lifecycle_stage").first()
    api = Client(HTTP_AUTHORIZATION=token["Authorization"])
    page = Client()
    page.force_login(user)
    before = environment()
    rows = {
        "api_360": measure(
            api, [f"/api/v1/customers/{rng.choice(ids)}/360/" for _ in range(args.requests)], {}
        ),
        "page_list_p1": measure(
            page, [f"/customers/?kind={kind}&lifecycle_stage={stage}&owner={owner}"] * args.requests, {}
        ),
    }
    from bench.scenarios import build

    floors = {s.name: s for s in build(requests=20, warm_up=0, seed=1) if s.name in rows}
    for name, row in rows.items():
        scenario = floors[name]
        samples = floor(args.database_url, scenario.floor_sql, scenario.floor_params, 200)
        row["floor_p50_ms"] = percentile(samples, 50)
        row["ratio"] = row["p50_ms"] / row["floor_p50_ms"]
    after = [round(v, 2) for v in os.getloadavg()]
    lines = [
        "# Where the 360 API and the customer list page 1 spend their time",
        "",
        "Written by `python -m bench.profile_overhead`; the method is in bench/profile_overhead.py. Do not edit by hand.",
        "",
        f"- In process (Django's test client, production settings), {args.requests} requests each after 20 of warm-up;"
        " SQL = time inside the database calls of a request (each statement's execute, and the"
        " wait for the results of statements sent together in one round trip); Python = the rest",
        f"- Machine: {before['machine']}, load average before {', '.join(str(v) for v in before['load_average_before'])},"
        f" after {', '.join(str(v) for v in after)}; date {before['date_utc']} UTC",
        "",
        "| Endpoint | p50 | p95 | SQL p50 | Python p50 | Queries | Floor p50 | Ratio (p50 / floor) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, row in rows.items():
        lines.append(
            f"| {name} | {row['p50_ms']:.1f} ms | {row['p95_ms']:.1f} ms | {row['sql_p50_ms']:.1f} ms |"
            f" {row['python_p50_ms']:.1f} ms | {row['queries']} | {row['floor_p50_ms']:.2f} ms | {row['ratio']:.1f}x |"
        )
    for name, row in rows.items():
        lines += ["", f"## {name}: the functions with the most own time (cProfile, 100 requests)", "", "```"]
        lines += row["top"]
        lines += ["```"]
    lines.append("")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{args.name}.md").write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main(sys.argv[1:])
