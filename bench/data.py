"""The benchmark's data: the demo seed for the customers, COPY for the rest of the
activities, reused while the scale and the schema are unchanged.

`manage.py seed_demo` writes the customers (people and organisations, contact points,
tags, consents, some activities, deliberate duplicates) with batched inserts; the
activities up to the wanted total then go in through PostgreSQL's COPY, spread over the
customers, with a few "heavy" customers holding 3,000 each (so that page 50 of a
timeline exists). A row in `bench_meta` records what was built: the next run with the
same scale, seed and applied migrations reuses the database as it is.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import random
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg

BASE_DIR = Path(__file__).resolve().parent.parent
HEAVY_CUSTOMERS = 20
HEAVY_ACTIVITIES = 3000
KINDS = ("note", "call", "email", "meeting")


@dataclass
class DataInfo:
    customers: int
    activities: int
    built: bool
    seconds: float
    summary: str


def admin_url(database_url: str) -> str:
    parts = urlsplit(database_url)
    return urlunsplit(parts._replace(path="/postgres"))


def database_name(database_url: str) -> str:
    return urlsplit(database_url).path.lstrip("/")


def manage(*args: str, database_url: str) -> str:
    env = {**os.environ, "DATABASE_URL": database_url, "DEBUG": "1"}
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


def _wanted(customers: int, activities: int, seed: int, schema: str) -> str:
    return json.dumps({"customers": customers, "activities": activities, "seed": seed, "schema": schema})


def _schema_signature(conn: psycopg.Connection) -> str:
    rows = conn.execute("SELECT app, name FROM django_migrations ORDER BY app, name").fetchall()
    return hashlib.sha256(repr(rows).encode()).hexdigest()[:16]


def _recreate(database_url: str) -> None:
    name = database_name(database_url)
    with psycopg.connect(admin_url(database_url), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def _exists(database_url: str) -> bool:
    with psycopg.connect(admin_url(database_url), autocommit=True) as conn:
        return bool(
            conn.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", [database_name(database_url)]
            ).fetchone()
        )


def ensure_data(*, database_url: str, customers: int, activities: int, seed: int) -> DataInfo:
    started = time.perf_counter()
    if not _exists(database_url):
        _recreate(database_url)
    manage("migrate", "--noinput", "-v", "0", database_url=database_url)
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS bench_meta (id int PRIMARY KEY, built text NOT NULL)")
        row = conn.execute("SELECT built FROM bench_meta WHERE id = 1").fetchone()
        wanted = _wanted(customers, activities, seed, _schema_signature(conn))
        if row and row[0] == wanted:
            total = conn.execute("SELECT count(*) FROM customers_activity").fetchone()[0]
            return DataInfo(customers, total, False, time.perf_counter() - started, "reused")
        holds_data = conn.execute("SELECT EXISTS (SELECT 1 FROM customers_customer)").fetchone()[0]
    if holds_data:
        # A different scale or schema: build from an empty database.
        _recreate(database_url)
        manage("migrate", "--noinput", "-v", "0", database_url=database_url)
    output = manage(
        "seed_demo", "--customers", str(customers), "--seed", str(seed), database_url=database_url
    )
    summary = next((line for line in output.splitlines() if line.startswith("Seeded")), output.strip())
    with psycopg.connect(database_url) as conn:
        total = _top_up_activities(conn, activities, seed)
        conn.commit()
        conn.autocommit = True
        conn.execute("ANALYZE")
        conn.execute("CREATE TABLE IF NOT EXISTS bench_meta (id int PRIMARY KEY, built text NOT NULL)")
        wanted = _wanted(customers, activities, seed, _schema_signature(conn))
        conn.execute(
            "INSERT INTO bench_meta (id, built) VALUES (1, %s) ON CONFLICT (id) DO UPDATE SET built = EXCLUDED.built",
            [wanted],
        )
    return DataInfo(customers, total, True, time.perf_counter() - started, summary)


def _top_up_activities(conn: psycopg.Connection, activities: int, seed: int) -> int:
    """COPY activities until the table holds `activities` rows."""
    have = conn.execute("SELECT count(*) FROM customers_activity").fetchone()[0]
    missing = activities - have
    ids = [
        r[0]
        for r in conn.execute("SELECT id FROM customers_customer WHERE merged_into_id IS NULL ORDER BY id")
    ]
    if missing <= 0 or not ids:
        return int(have)
    rng = random.Random(seed)
    heavy = rng.sample(ids, min(HEAVY_CUSTOMERS, len(ids)))
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    span = 3 * 365 * 86400
    columns = "customer_id, kind, occurred_at, system_actor, source_app, subject, body, ref_type, ref_id, payload, created_at"
    with conn.cursor() as cursor, cursor.copy(f"COPY customers_activity ({columns}) FROM STDIN") as copy:
        for n in range(missing):
            if n < len(heavy) * HEAVY_ACTIVITIES:
                customer = heavy[n // HEAVY_ACTIVITIES]
            else:
                customer = ids[rng.randrange(len(ids))]
            kind = KINDS[n % len(KINDS)]
            moment = now - dt.timedelta(seconds=rng.randrange(span))
            copy.write_row(
                (customer, kind, moment, "bench", "customers", f"Bench {kind} {n}", "", "", "", "{}", moment)
            )
    return int(have + missing)
