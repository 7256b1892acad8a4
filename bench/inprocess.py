"""The suite's scenarios that are not one HTTP request: timed in the bench process (or in
worker processes it starts) on the bench database, with production settings.

- `segment_count`: marketing's segment compiler over all customers
  (`segment_customers(rules).count()`, the rules of bench/marketing.py), timed `runs`
  times; floor: the same count written by hand in one statement.
- `relay_1_worker`, `relay_2_workers`: the outbox relay's throughput at 0 ms ERP
  latency (the in-process simulator, `ERP_ADAPTER=stub`): the messages are committed
  first (bench/sync.py's `enqueue_orders`), then 1 or 2 worker processes
  (bench/relay_worker.py, each what one Celery worker runs: `relay_due` until nothing is
  due) are released together; rate = messages / time from the release to the last
  worker's end. Floor: one hand-written statement per batch that locks and updates as
  many outbox rows (a no-op update), as a rate.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

BASE_DIR = Path(__file__).resolve().parent.parent
RELAY_MESSAGES = 20_000
# Outbox messages of this run start after every earlier run's (their keys are unique).
FIRST_KEY = 50_000_000


def _percentiles(samples: list[float]) -> dict[str, float]:
    from bench.__main__ import percentile

    return {
        "p50_ms": percentile(samples, 50),
        "p95_ms": percentile(samples, 95),
        "p99_ms": percentile(samples, 99),
    }


def segment_count(database_url: str, runs: int, floor_runs: int) -> dict[str, Any]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from bench.__main__ import floor
    from bench.marketing import RULES
    from marketing.segments.selectors import segment_customers

    samples, count, queries = [], 0, 0
    for _ in range(runs + 2):
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            count = segment_customers(rules=RULES).count()
            samples.append((time.perf_counter() - started) * 1000)
        queries = len(captured)
    samples = samples[2:]  # warm-up
    # The same customers by hand: live; e-mail marketing consent granted by the latest
    # ledger entry; tagged vip or a prospect.
    sql = (
        "SELECT count(*) FROM customers_customer c WHERE c.merged_into_id IS NULL"
        " AND (SELECT e.granted FROM customers_consentevent e WHERE e.customer_id = c.id"
        " AND e.channel = 'email' AND e.purpose = 'marketing' ORDER BY e.occurred_at DESC, e.id DESC LIMIT 1)"
        " AND (c.lifecycle_stage = 'prospect' OR EXISTS (SELECT 1 FROM customers_customer_tags ct"
        " JOIN customers_tag t ON t.id = ct.tag_id WHERE ct.customer_id = c.id AND lower(t.name) = 'vip'))"
    )
    floor_samples = floor(database_url, sql, [[]] * (floor_runs + 10), floor_runs)
    import psycopg

    with psycopg.connect(database_url) as conn:
        by_hand = conn.execute(sql).fetchone()[0]
    figures = _percentiles(samples)
    floor_p50 = _percentiles(floor_samples)["p50_ms"]
    return {
        "scenario": "segment_count",
        "what": f"marketing segment count over all customers ({count:,} match, by hand {by_hand:,}; in process)",
        "requests": len(samples),
        "statuses": {},
        "errors": 0,
        **figures,
        "queries": queries,
        "queries_status": None,
        "floor_p50_ms": floor_p50,
        "ratio": figures["p50_ms"] / floor_p50 if floor_p50 else float("inf"),
        "floor_p95_ms": _percentiles(floor_samples)["p95_ms"],
        "target_p95_ms": 2000.0,
        "max_ratio": None,
        "same_as": None,
    }


def _relay_floor(database_url: str, first_id: int, messages: int, batch: int) -> float:
    """Messages per second of one hand-written statement per batch that locks and
    updates `batch` outbox rows (a no-op update of rows this run delivered)."""
    import psycopg

    sql = (
        "UPDATE backoffice_sync_outboxmessage SET delivered_at = delivered_at WHERE id IN"
        " (SELECT id FROM backoffice_sync_outboxmessage WHERE id >= %s ORDER BY id LIMIT %s FOR UPDATE SKIP LOCKED)"
    )
    elapsed = 0.0
    with psycopg.connect(database_url, autocommit=True, prepare_threshold=None) as conn:
        for start in range(0, messages, batch):
            started = time.perf_counter()
            conn.execute(sql, [first_id + start, batch])
            elapsed += time.perf_counter() - started
    return messages / elapsed if elapsed else float("inf")


def relay(database_url: str, workers: int, messages: int, run: int) -> dict[str, Any]:
    from django.conf import settings
    from django.db.models import Min

    from backoffice_sync.models import OutboxMessage, OutboxStatus
    from backoffice_sync.simulator import faults
    from bench.sync import enqueue_orders

    # Keys no earlier run used: the simulated ERP keeps the orders it took and refuses
    # one it already has. The seconds since the epoch, spaced wider than a run's keys
    # (the time modulo 1,000 s repeated: two runs 1,000 s apart were refused).
    first = FIRST_KEY + int(time.time()) * 10 * messages + run * messages
    faults.set(latency_ms=0, outage=False)
    # What an earlier run left undelivered (stopped, or refused) would be claimed first
    # and measured with this run: only this run's messages are in the outbox's queue.
    OutboxMessage.objects.filter(aggregate__startswith="order:B-").exclude(
        status=OutboxStatus.DELIVERED
    ).delete()
    enqueue_orders(first, messages, per_transaction=500)
    keys = [f"order:B-{n}" for n in (first, first + messages - 1)]
    first_id = OutboxMessage.objects.filter(aggregate=keys[0]).aggregate(m=Min("id"))["m"]
    env = {**os.environ, "OUTBOX_BATCH_SIZE": str(settings.OUTBOX_BATCH_SIZE)}
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "bench.relay_worker"],
            cwd=BASE_DIR,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(workers)
    ]
    try:
        for process in processes:
            assert process.stdout is not None
            if process.stdout.readline().strip() != "ready":
                raise SystemExit("A relay worker did not start: see its output.")
        started = time.perf_counter()
        for process in processes:
            assert process.stdin is not None
            process.stdin.write("go\n")
            process.stdin.flush()
        reports = []
        for process in processes:
            out, _ = process.communicate(timeout=1800)
            reports.append(json.loads(out.strip().splitlines()[-1]))
        elapsed = time.perf_counter() - started
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
    rows = OutboxMessage.objects.filter(id__gte=first_id)
    pending = rows.exclude(status=OutboxStatus.DELIVERED).count()
    floor_rate = _relay_floor(database_url, first_id, messages, settings.OUTBOX_BATCH_SIZE)
    rate = messages / elapsed
    return {
        "scenario": f"relay_{workers}_worker{'s' if workers > 1 else ''}",
        "what": f"outbox relay, ERP latency 0 ms, {workers} worker process{'es' if workers > 1 else ''},"
        f" {messages:,} messages, batches of {settings.OUTBOX_BATCH_SIZE}",
        "requests": messages,
        "statuses": {"delivered": messages - pending, "not delivered": pending},
        "errors": pending,
        "seconds": elapsed,
        "rate": rate,
        "claimed_per_worker": [r["claimed"] for r in reports],
        "floor_rate": floor_rate,
        "ratio": floor_rate / rate,
        "min_rate": 1000.0,
        "faster_than": "relay_1_worker" if workers > 1 else None,
    }


def run_all(database_url: str, wanted: set[str], runs: int, floor_runs: int) -> list[dict[str, Any]]:
    rows = []
    if not wanted or "segment_count" in wanted:
        print("  segment_count...", flush=True)
        rows.append(segment_count(database_url, runs, floor_runs))
    for index, workers in enumerate((1, 2)):
        name = f"relay_{workers}_worker{'s' if workers > 1 else ''}"
        if not wanted or name in wanted:
            print(f"  {name}...", flush=True)
            rows.append(relay(database_url, workers, RELAY_MESSAGES, index))
    return rows


IN_PROCESS = {"segment_count", "relay_1_worker", "relay_2_workers"}
