"""`python -m bench.sync [--database-url URL] [--redis-url URL] [--name NAME]`:
the back-office sync under load, against the ERP simulator (the `stub` adapter).

1. Relay throughput: N order messages are committed to the outbox, then the relay
   (`relay_due`, what one Celery worker runs) delivers them into the simulator; timed
   from the first claim to the last acknowledgement, with the simulator's latency knob
   at 0 ms and at 20 ms per ERP call.
2. End-to-end lag at a steady rate: this process commits orders at R per second (each
   its own transaction, as a web request would) while ONE real Celery worker process
   (prefork, concurrency 1) relays them on the kicks sent on commit; lag = ERP
   acknowledgement (`delivered_at`) - commit (`created_at`), p50/p95/max.
3. Drain after an outage, with 1 and with 2 worker processes: the simulator's outage
   knob is on while D orders are committed (each kicking the relay, which opens the
   circuit breaker); then the ERP returns (with `--drain-latency-ms` per call, as a
   remote ERP has), and the time from its return to the last acknowledgement is measured,
   with the relay swept every second as beat would. Dead letters and attempts are counted too.
4. Webhook apply rate: E signed ERP events (product and stock changes, each a new
   version) POSTed one by one to /api/v1/erp/webhook/ through the whole Django stack
   (Django's test client: no HTTP server, no network), verified, stored and applied.

Production-like settings (DEBUG=0). The database must be empty or new: by default a new
SQLite file under var/bench-sync/, with the file broker; pass PostgreSQL and Redis URLs
to measure the production set-up. The report records the machine it ran on.
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import json
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

BASE_DIR = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results"
# The simulator's catalogue without its discontinued products (FO-1004, FO-1040).
ACTIVE_SKUS = [f"FO-{n}" for n in range(1001, 1040) if n != 1004]
# The drain's sweep period (what beat's relay-outbox entry sends; 5 s in production).
SWEEP_SECONDS = 1.0
WEBHOOK_SECRET = "whsec_" + base64.b64encode(b"bench-only-webhook-secret-32-bytes!").decode()


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.sync", description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=20_000, help="Messages per throughput run.")
    parser.add_argument("--rate", type=int, default=100, help="Orders per second in the lag run.")
    parser.add_argument("--seconds", type=int, default=30, help="Length of the lag run.")
    parser.add_argument("--events", type=int, default=3_000, help="Webhooks in the apply run.")
    parser.add_argument("--drain-messages", type=int, default=1_000, help="Orders waiting out the outage.")
    parser.add_argument(
        "--drain-latency-ms", type=int, default=100, help="ERP latency per call in the drain."
    )
    parser.add_argument("--drain-batch", type=int, default=50, help="OUTBOX_BATCH_SIZE in the drain.")
    parser.add_argument(
        "--only-drain",
        action="store_true",
        help="Run only the drain after an outage (results to bench/results/<name>-outage-drain.md).",
    )
    parser.add_argument("--name", default="sync-sqlite", help="Results go to bench/results/<name>.md.")
    parser.add_argument("--database-url", default="", help="An empty database (default: new SQLite file).")
    parser.add_argument("--redis-url", default="", help="Redis for broker and cache (default: files).")
    return parser.parse_args(argv)


def configure(args: argparse.Namespace, var_dir: Path) -> dict[str, str]:
    database_url = args.database_url or f"sqlite:///{var_dir / 'bench.sqlite3'}"
    env = {
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": database_url,
        "REDIS_URL": args.redis_url,
        "VAR_DIR": str(var_dir),
        "DEBUG": "0",
        "SECRET_KEY": "bench-only-" + "x" * 50,  # never used outside these processes
        "ALLOWED_HOSTS": "testserver",
        "SECURE_SSL_REDIRECT": "0",
        "ERP_ADAPTER": "stub",
        "ERP_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "ERP_SIMULATOR_TICK_HOURS": "0",
        "LOG_LEVEL": "WARNING",
    }
    os.environ.update(env)
    return env


def setup_django() -> None:
    import warnings

    import django

    warnings.filterwarnings("ignore", message="No directory at", module="whitenoise.base")
    django.setup()
    import logging

    from django.core.management import call_command

    # Keep the cost of the access log (one line per request) but not its output.
    sink = open(os.devnull, "w")  # noqa: SIM115 - lives as long as the process
    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.StreamHandler):
            handler.setStream(sink)

    call_command("migrate", verbosity=0, interactive=False)


def percentile(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[max(1, round(p / 100 * len(ordered))) - 1]


def order_payload(n: int) -> dict[str, Any]:
    return {
        "order_ref": f"B-{n}",
        "customer_ref": f"BENCH-{n % 500}",
        "currency": "EUR",
        "requested_date": None,
        "lines": [
            {"line_no": 1, "sku": ACTIVE_SKUS[n % len(ACTIVE_SKUS)], "quantity": 1, "unit_price": "10.00"}
        ],
        "ship_to": None,
    }


def enqueue_orders(first: int, count: int, per_transaction: int) -> None:
    from django.db import transaction

    from backoffice_sync.erp import MessageKind
    from backoffice_sync.outbox import outbox_enqueue

    for start in range(first, first + count, per_transaction):
        with transaction.atomic():
            for n in range(start, min(start + per_transaction, first + count)):
                outbox_enqueue(
                    kind=MessageKind.ORDER_SUBMIT, aggregate=f"order:B-{n}", payload=order_payload(n)
                )


def throughput(messages: int, latency_ms: int, first: int) -> dict[str, Any]:
    from django.conf import settings

    from backoffice_sync.models import OutboxMessage, OutboxStatus
    from backoffice_sync.outbox import relay_due
    from backoffice_sync.simulator import faults
    from backoffice_sync.simulator.models import SimDelivery

    enqueue_orders(first, messages, per_transaction=500)
    faults.set(latency_ms=latency_ms)
    calls = 0
    started = time.perf_counter()
    while True:
        report, more = relay_due(time_budget_seconds=3600, max_batches=10_000)
        calls += report.claimed // max(settings.OUTBOX_BATCH_SIZE, 1) + (1 if report.claimed else 0)
        if not more:
            break
    elapsed = time.perf_counter() - started
    faults.set(latency_ms=0)
    pending = OutboxMessage.objects.filter(status=OutboxStatus.PENDING).count()
    delivered = OutboxMessage.objects.filter(
        aggregate__in=[f"order:B-{n}" for n in (first, first + messages - 1)], status=OutboxStatus.DELIVERED
    ).count()
    applied = SimDelivery.objects.filter(kind="order.submit").count()
    return {
        "latency_ms": latency_ms,
        "messages": messages,
        "seconds": elapsed,
        "rate": messages / elapsed,
        "batch": settings.OUTBOX_BATCH_SIZE,
        "left_pending": pending,
        "ends_delivered": delivered == 2,
        "erp_applied_total": applied,
    }


def start_celery(env: dict[str, str], log_path: Path, *args: str) -> subprocess.Popen[bytes]:
    with log_path.open("wb") as log:
        return subprocess.Popen(
            [
                str(Path(sys.executable).parent / "celery"),
                "-A",
                "config",
                *args,
                "--loglevel",
                "WARNING",
            ],
            cwd=BASE_DIR,
            env={**os.environ, **env},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def lag(rate: int, seconds: int, first: int, env: dict[str, str], var_dir: Path) -> dict[str, Any]:
    from django.db import connection, transaction

    from backoffice_sync.erp import MessageKind
    from backoffice_sync.models import OutboxMessage, OutboxStatus
    from backoffice_sync.outbox import outbox_enqueue

    worker = start_celery(
        env, var_dir / "worker.log", "worker", "--concurrency", "1", "--without-mingle", "--without-gossip"
    )
    # Beat, as in production: its sweep delivers what a debounced kick left behind.
    beat = start_celery(env, var_dir / "beat.log", "beat", "--schedule", str(var_dir / "beat-schedule"))
    try:
        time.sleep(5)  # the worker connects to the broker
        if worker.poll() is not None:
            raise SystemExit(f"the worker exited:\n{(var_dir / 'worker.log').read_text()}")
        total = rate * seconds
        started = time.perf_counter()
        for i in range(total):
            due = started + i / rate
            pause = due - time.perf_counter()
            if pause > 0:
                time.sleep(pause)
            n = first + i
            with transaction.atomic():
                outbox_enqueue(
                    kind=MessageKind.ORDER_SUBMIT, aggregate=f"order:B-{n}", payload=order_payload(n)
                )
        produced_in = time.perf_counter() - started
        keys = [f"order:B-{n}" for n in range(first, first + total)]
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            left = OutboxMessage.objects.filter(aggregate__in=keys[-1:], status=OutboxStatus.PENDING).exists()
            if not left and not OutboxMessage.objects.filter(status=OutboxStatus.PENDING).exists():
                break
            time.sleep(0.2)
        rows = OutboxMessage.objects.filter(aggregate__in=keys).values_list("created_at", "delivered_at")
        lags = [(d - c).total_seconds() for c, d in rows if d is not None]
        undelivered = sum(1 for _, d in rows if d is None)
        connection.close()
    finally:
        for process in (beat, worker):
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
    return {
        "rate": rate,
        "orders": total,
        "achieved_rate": total / produced_in,
        "p50": percentile(lags, 50),
        "p95": percentile(lags, 95),
        "max": max(lags),
        "undelivered": undelivered,
    }


def drain_after_outage(
    *,
    messages: int,
    workers: int,
    latency_ms: int,
    batch: int,
    first: int,
    env: dict[str, str],
    var_dir: Path,
) -> dict[str, Any]:
    from django.db import connection
    from django.db.models import Max

    from backoffice_sync.models import CircuitState, ErpCircuit, OutboxMessage, OutboxStatus
    from backoffice_sync.simulator import faults
    from backoffice_sync.tasks import relay_outbox

    env = {
        **env,
        "OUTBOX_BATCH_SIZE": str(batch),
        "OUTBOX_RELAY_CONCURRENCY": str(workers),
        "ERP_PROBE_BASE_SECONDS": "1",
        "ERP_PROBE_CAP_SECONDS": "2",
    }
    faults.set(outage=True, latency_ms=0)
    processes = [
        start_celery(
            env,
            var_dir / f"drain-worker-{workers}-{n}.log",
            "worker",
            "--concurrency",
            "1",
            "--without-mingle",
            "--without-gossip",
            "-n",
            f"drain{workers}-{n}@%h",
        )
        for n in range(workers)
    ]
    try:
        time.sleep(5)  # the workers connect to the broker
        enqueue_orders(first, messages, per_transaction=1)  # each kicks the relay, as requests would
        keys = [f"order:B-{n}" for n in range(first, first + messages)]
        deadline = time.monotonic() + 60
        while ErpCircuit.objects.get(pk=1).state == CircuitState.CLOSED and time.monotonic() < deadline:
            time.sleep(0.2)
        opened = ErpCircuit.objects.get(pk=1).state != CircuitState.CLOSED
        sweep_until = time.monotonic() + 5  # the outage goes on; the sweeps find it closed
        while time.monotonic() < sweep_until:
            relay_outbox.delay()
            time.sleep(SWEEP_SECONDS)
        faults.set(outage=False, latency_ms=latency_ms)
        back = time.perf_counter()
        first_ack = None
        deadline = time.monotonic() + 600
        next_sweep = 0.0
        while time.monotonic() < deadline:
            if time.monotonic() >= next_sweep:
                relay_outbox.delay()  # what beat's sweep sends
                next_sweep = time.monotonic() + SWEEP_SECONDS
            done = OutboxMessage.objects.filter(aggregate__in=keys, status=OutboxStatus.DELIVERED).count()
            if done and first_ack is None:
                first_ack = time.perf_counter() - back
            if done == messages:
                break
            time.sleep(0.05)
        drained_in = time.perf_counter() - back
        rows = OutboxMessage.objects.filter(aggregate__in=keys)
        result = {
            "workers": workers,
            "messages": messages,
            "latency_ms": latency_ms,
            "batch": batch,
            "opened": opened,
            "first_ack": first_ack or 0.0,
            "seconds": drained_in,
            "drain_rate": messages / max(drained_in - (first_ack or 0.0), 1e-9),
            "delivered": rows.filter(status=OutboxStatus.DELIVERED).count(),
            "dead": rows.filter(status=OutboxStatus.DEAD).count(),
            "max_attempts": rows.aggregate(m=Max("attempts"))["m"] or 0,
        }
        connection.close()
    finally:
        faults.set(outage=False, latency_ms=0)
        for process in processes:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
    return result


def drain_report(drains: list[dict[str, Any]]) -> list[str]:
    lines = [
        "## Drain after an ERP outage (orders wait out the outage, then the backlog drains)",
        "",
        "Each order committed in its own transaction while the ERP was down; the circuit breaker",
        "opened, no attempt was spent; then the ERP came back with the latency below per call.",
        f"Worker processes have concurrency 1 each; this bench sweeps the relay every {SWEEP_SECONDS:g} s "
        "(beat's schedule sweeps it every 5 s; a commit kicks it at once).",
        "",
        "| Workers | Orders | ERP latency per call | Batch | First ack after return | All acked after return "
        "| Drain rate | Dead | Max attempts |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for run in drains:
        lines.append(
            f"| {run['workers']} | {run['messages']:,} | {run['latency_ms']} ms | {run['batch']} | "
            f"{run['first_ack']:.1f} s | **{run['seconds']:.1f} s** | {run['drain_rate']:,.0f}/s | "
            f"{run['dead']} | {run['max_attempts']} |"
        )
    if any(not run["opened"] for run in drains):
        lines.append("")
        lines.append("Warning: the circuit breaker did not open in some run (see the worker logs).")
    lines += [
        "",
        "Target (issue 11): 1,000 waiting messages all acknowledged within 60 s of the ERP's return.",
        "",
    ]
    return lines


def webhooks(events: int) -> dict[str, Any]:
    from django.test import Client
    from django.utils import timezone
    from standardwebhooks.webhooks import Webhook

    from backoffice_sync.erp import ErpEvent, EventType
    from backoffice_sync.models import InboxEvent, InboxStatus

    signer = Webhook(WEBHOOK_SECRET)
    client = Client()
    skus = [f"W-{n}" for n in range(40)]
    bodies = []
    for sku in skus:
        bodies.append(
            ErpEvent(
                id=f"product:{sku}@1",
                type=EventType.PRODUCT_CHANGED,
                aggregate=f"product:{sku}",
                version=1,
                occurred_at=timezone.now(),
                data={
                    "sku": sku,
                    "name": sku,
                    "unit_price": "9.99",
                    "currency": "EUR",
                    "lead_time_days": 7,
                    "active": True,
                },
            )
        )
    for n in range(events - len(skus)):
        sku = skus[n % len(skus)]
        version = n // len(skus) + 1
        bodies.append(
            ErpEvent(
                id=f"stock:{sku}:AMS@{version}",
                type=EventType.STOCK_CHANGED,
                aggregate=f"stock:{sku}:AMS",
                version=version,
                occurred_at=timezone.now(),
                data={
                    "sku": sku,
                    "warehouse": "AMS",
                    "on_hand": 100 + n % 7,
                    "reserved": n % 5,
                    "incoming": [],
                },
            )
        )
    statuses: dict[int, int] = {}
    started = time.perf_counter()
    for event in bodies:
        body = json.dumps(event.as_json())
        now = dt.datetime.now(dt.UTC)
        response = client.post(
            "/api/v1/erp/webhook/",
            data=body,
            content_type="application/json",
            headers={
                "webhook-id": event.id,
                "webhook-timestamp": str(int(now.timestamp())),
                "webhook-signature": signer.sign(event.id, now, body),
            },
        )
        statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
    elapsed = time.perf_counter() - started
    applied = InboxEvent.objects.filter(status=InboxStatus.APPLIED).count()
    return {
        "events": len(bodies),
        "seconds": elapsed,
        "rate": len(bodies) / elapsed,
        "statuses": statuses,
        "applied": applied,
    }


def header(name: str, args: argparse.Namespace) -> list[str]:
    import django
    from django.db import connection

    load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    return [
        f"# Frontoffice sync benchmark: {name}",
        "",
        "Produced by `python -m bench.sync` (`make bench-sync`); the method is in bench/sync.py.",
        "",
        f"- Date (UTC): {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M}",
        f"- Machine: {platform.machine()}, {os.cpu_count()} CPUs, load average at the end {load}",
        f"- Python {platform.python_version()}, Django {django.get_version()}",
        f"- Database: {connection.vendor}; broker and cache: {'Redis' if args.redis_url else 'files, in-process'}",
        "- ERP: the simulator, in-process (`ERP_ADAPTER=stub`), on the same database",
        "",
    ]


def report(
    name: str, args: argparse.Namespace, runs: list[dict], lagged: dict, hooks: dict, drains: list[dict]
) -> str:
    lines = [
        *header(name, args),
        "## Relay throughput (one relay, batches of OUTBOX_BATCH_SIZE)",
        "",
        "| ERP latency per call | Messages | Batch | Wall time | Messages/s | Left pending |",
        "|---|---|---|---|---|---|",
    ]
    for run in runs:
        lines.append(
            f"| {run['latency_ms']} ms | {run['messages']:,} | {run['batch']} | {run['seconds']:.1f} s | "
            f"**{run['rate']:,.0f}** | {run['left_pending']} |"
        )
    lines += [
        "",
        f"## End-to-end lag at a steady {lagged['rate']} orders/s (one Celery worker, concurrency 1, and beat)",
        "",
        "| Orders | Achieved rate | p50 | p95 | Max | Undelivered after 2 min |",
        "|---|---|---|---|---|---|",
        f"| {lagged['orders']:,} | {lagged['achieved_rate']:.0f}/s | {lagged['p50'] * 1000:.0f} ms | "
        f"**{lagged['p95'] * 1000:.0f} ms** | {lagged['max'] * 1000:.0f} ms | {lagged['undelivered']} |",
        "",
        "## Webhook apply rate (verify, store, apply, one request per event)",
        "",
        "| Events | Wall time | Events/s | HTTP statuses | Applied |",
        "|---|---|---|---|---|",
        f"| {hooks['events']:,} | {hooks['seconds']:.1f} s | **{hooks['rate']:,.0f}** | "
        f"{', '.join(f'{k}: {v}' for k, v in sorted(hooks['statuses'].items()))} | {hooks['applied']:,} |",
        "",
        "Targets (issue 4, on PostgreSQL with one worker): at least 1,000 messages/s at 0 ms, "
        "lag p95 under 2 s at 100 orders/s.",
        "",
        *drain_report(drains),
    ]
    return "\n".join(lines)


def main(argv: list[str]) -> None:
    args = parse_args(argv)
    if not re.fullmatch(r"[A-Za-z0-9_.-]{1,60}", args.name):
        raise SystemExit("--name: letters, digits, '.', '_' and '-' only.")
    var_dir = BASE_DIR / "var" / "bench-sync"
    shutil.rmtree(var_dir, ignore_errors=True)
    var_dir.mkdir(parents=True)
    env = configure(args, var_dir)
    setup_django()
    from backoffice_sync.simulator import engine

    engine.reset(seed=7, start=None)
    drains = []
    for index, workers in enumerate((1, 2)):
        print(f"Drain after an outage, {workers} worker(s)...", flush=True)
        drains.append(
            drain_after_outage(
                messages=args.drain_messages,
                workers=workers,
                latency_ms=args.drain_latency_ms,
                batch=args.drain_batch,
                first=10_000_000 + index * args.drain_messages,
                env=env,
                var_dir=var_dir,
            )
        )
        print(f"  all acknowledged {drains[-1]['seconds']:.1f} s after the ERP returned", flush=True)
    if args.only_drain:
        text = "\n".join([*header(args.name, args), *drain_report(drains)])
        RESULTS.mkdir(exist_ok=True)
        (RESULTS / f"{args.name}-outage-drain.md").write_text(text)
        print(text)
        return
    runs = []
    for index, latency_ms in enumerate((0, 20)):
        print(f"Relay throughput, ERP latency {latency_ms} ms...", flush=True)
        runs.append(throughput(args.messages, latency_ms, first=index * args.messages))
        print(f"  {runs[-1]['rate']:,.0f} messages/s", flush=True)
    print(f"Lag at {args.rate} orders/s for {args.seconds} s...", flush=True)
    lagged = lag(args.rate, args.seconds, first=2 * args.messages, env=env, var_dir=var_dir)
    print(f"  p95 {lagged['p95'] * 1000:.0f} ms", flush=True)
    print(f"Webhook apply rate, {args.events} events...", flush=True)
    hooks = webhooks(args.events)
    print(f"  {hooks['rate']:,.0f} events/s", flush=True)
    text = report(args.name, args, runs, lagged, hooks, drains)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{args.name}.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main(sys.argv[1:])
