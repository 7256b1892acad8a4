"""The benchmark's data: the demo seed for the customers, COPY for the rest of the
activities, reused while the scale and the schema are unchanged.

`manage.py seed_demo` writes the customers (people and organisations, contact points,
tags, consents, some activities, deliberate duplicates); on PostgreSQL its rows go in
through COPY (customers.demo.bulk). The activities up to the wanted total then go in
through COPY too, with the table's secondary indexes dropped during the load and made
again after it, spread over the customers, with a few "heavy" customers holding 3,000
each (so that page 50 of a timeline exists); then VACUUM ANALYZE. A row in `bench_meta`
records what was built: the next run with the same scale, seed and schema of the filled
tables reuses the database as it is; where the migrations changed only the indexes of
those tables (made by `migrate` over the rows already there), it is reused too.
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
from typing import Any
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


# The tables the generator fills: their columns and indexes are "the schema" whose
# change means building again (another app's new table, or a no-op merge migration,
# does not).
FILLED = (
    "customers_customer",
    "customers_contactpoint",
    "customers_activity",
    "customers_consentevent",
    "customers_relationship",
    "customers_customer_tags",
    "customers_tag",
    "customers_duplicatepair",
)


def _columns(conn: psycopg.Connection) -> list[tuple[Any, ...]]:
    return conn.execute(
        "SELECT table_name, column_name, data_type FROM information_schema.columns"
        " WHERE table_name = ANY(%s) ORDER BY 1, 2",
        [list(FILLED)],
    ).fetchall()


def _schema_signature(conn: psycopg.Connection) -> str:
    indexes = conn.execute(
        "SELECT tablename, indexdef FROM pg_indexes WHERE tablename = ANY(%s) ORDER BY 1, 2", [list(FILLED)]
    ).fetchall()
    return hashlib.sha256(repr((_columns(conn), indexes)).encode()).hexdigest()[:16]


def _as_built(database_url: str) -> tuple[str | None, str, list[tuple[Any, ...]]]:
    """Before migrating: what `bench_meta` says was built (None when nothing was), and the
    schema signature and columns of the filled tables as they are."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS bench_meta (id int PRIMARY KEY, built text NOT NULL)")
        row = conn.execute("SELECT built FROM bench_meta WHERE id = 1").fetchone()
        return (row[0] if row else None), _schema_signature(conn), _columns(conn)


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
    built, signature, columns = _as_built(database_url)
    manage("migrate", "--noinput", "-v", "0", database_url=database_url)
    with psycopg.connect(database_url, autocommit=True) as conn:
        wanted = _wanted(customers, activities, seed, _schema_signature(conn))
        if built == wanted:
            total = conn.execute("SELECT count(*) FROM customers_activity").fetchone()[0]
            return DataInfo(customers, total, False, time.perf_counter() - started, "reused")
        if built == _wanted(customers, activities, seed, signature) and _columns(conn) == columns:
            # The migrations changed only indexes of the filled tables, and made them
            # over these very rows, as they would over a production base: the data is
            # what a build would give, so it stays, with its statistics brought up to date.
            conn.execute("ANALYZE")
            conn.execute("UPDATE bench_meta SET built = %s WHERE id = 1", [wanted])
            total = conn.execute("SELECT count(*) FROM customers_activity").fetchone()[0]
            return DataInfo(
                customers, total, False, time.perf_counter() - started, "reused (new indexes made by migrate)"
            )
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
        # One transaction: the indexes come back whole, or the load is undone with them.
        dropped = _drop_secondary_indexes(conn, "customers_activity")
        total = _top_up_activities(conn, activities, seed)
        for _, definition in dropped:
            conn.execute(definition)
        conn.commit()
        conn.autocommit = True
        conn.execute("VACUUM ANALYZE")
        conn.execute("CREATE TABLE IF NOT EXISTS bench_meta (id int PRIMARY KEY, built text NOT NULL)")
        wanted = _wanted(customers, activities, seed, _schema_signature(conn))
        conn.execute(
            "INSERT INTO bench_meta (id, built) VALUES (1, %s) ON CONFLICT (id) DO UPDATE SET built = EXCLUDED.built",
            [wanted],
        )
    return DataInfo(customers, total, True, time.perf_counter() - started, summary)


def _secondary_indexes(conn: psycopg.Connection, table: str) -> list[tuple[str, str]]:
    """(name, CREATE INDEX statement) of the indexes of `table` that back no primary key,
    unique or exclusion constraint."""
    rows = conn.execute(
        "SELECT i.relname, pg_get_indexdef(i.oid) FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid"
        " WHERE x.indrelid = %s::regclass AND NOT EXISTS (SELECT 1 FROM pg_constraint c"
        " WHERE c.conindid = x.indexrelid AND c.conrelid = x.indrelid AND c.contype IN ('p', 'u', 'x'))"
        " ORDER BY 1",
        [table],
    ).fetchall()
    return [(str(name), str(definition)) for name, definition in rows]


def _drop_secondary_indexes(conn: psycopg.Connection, table: str) -> list[tuple[str, str]]:
    """Drop them for a bulk load (one sort per index after it instead of an index update
    per row); returns what `CREATE INDEX` makes them again, as they were."""
    indexes = _secondary_indexes(conn, table)
    for name, _ in indexes:
        conn.execute(f'DROP INDEX "{name}"')
    return indexes


def _top_up_activities(conn: psycopg.Connection, activities: int, seed: int) -> int:
    """COPY activities until the table holds `activities` rows (the caller drops the
    table's secondary indexes first); the customer ids are read from the table, so the
    foreign-key triggers are left out for the load when the role may (a superuser's
    `session_replication_role`)."""
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
    if conn.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user").fetchone() == (True,):
        conn.execute("SET LOCAL session_replication_role = replica")  # a superuser's setting
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


# --- records found by number, and the pipeline board ---------------------------------

BOARD_CARDS = 300
ARCHIVE = "Bench archive"


def ensure_records(customers: int, seed: int) -> str:
    """Orders, quotes and cases (one of each per 5 customers) to find by number, with
    the ERP's order numbers mirrored for half the orders, and 300 open opportunities on
    the default pipeline's board. Made once per database (with Django loaded): the
    orders' and quotes' opportunities sit in a pipeline of their own, so that the board
    holds exactly its 300 cards."""
    from django.db import connection, transaction
    from django.utils import timezone

    from backoffice_sync.models import ErpOrder
    from customers.models import Customer
    from frontoffice.models import User
    from sales.models import Opportunity, Pipeline, PriceList, Quote, SalesOrder, Stage
    from sales.pipeline.services_pipelines import default_pipeline
    from service.models import Case

    if Pipeline.objects.filter(name=ARCHIVE).exists():
        return "reused"
    count = max(1, customers // 5)
    rng = random.Random(seed)
    ids = list(Customer.objects.filter(merged_into__isnull=True).values_list("id", flat=True))
    owner = User.objects.filter(username="sales1").first()
    now = timezone.now()
    today = timezone.localdate()
    with transaction.atomic():
        board = default_pipeline()
        open_stages = list(board.stages.filter(kind="open").order_by("order"))
        Opportunity.objects.bulk_create(
            Opportunity(
                customer_id=rng.choice(ids),
                owner=owner,
                name=f"Bench deal {n}",
                amount=rng.randrange(1_000, 90_000),
                currency="EUR",
                pipeline=board,
                stage=open_stages[n % len(open_stages)],
                expected_close_date=today + dt.timedelta(days=rng.randrange(1, 120)),
            )
            for n in range(BOARD_CARDS)
        )
        archive = Pipeline.objects.create(name=ARCHIVE, is_default=False, active=False)
        won = Stage.objects.create(pipeline=archive, name="Won", order=10, probability=100, kind="won")
        price_list = PriceList.objects.filter(
            currency="EUR", active=True
        ).first() or PriceList.objects.create(name="Bench EUR", currency="EUR")
        opportunities = Opportunity.objects.bulk_create(
            Opportunity(
                customer_id=rng.choice(ids),
                owner=owner,
                name=f"Bench order {n}",
                amount=1000,
                currency="EUR",
                pipeline=archive,
                stage=won,
                status="won",
                closed_at=now,
            )
            for n in range(count)
        )
        quotes = Quote.objects.bulk_create(
            Quote(
                opportunity=o,
                status="accepted",
                currency="EUR",
                price_list=price_list,
                valid_until=today + dt.timedelta(days=30),
                sent_at=now,
                total=1000,
            )
            for o in opportunities
        )
        orders = SalesOrder.objects.bulk_create(
            SalesOrder(quote=q, opportunity=o, customer_id=o.customer_id, currency="EUR", total=1000)
            for q, o in zip(quotes, opportunities, strict=True)
        )
        with connection.cursor() as cursor:
            # The numbers the services give: from the id, zero-padded to six digits.
            cursor.execute(
                "UPDATE sales_quote SET reference = 'Q-' || lpad(id::text, 6, '0') WHERE reference = ''"
            )
            cursor.execute(
                "UPDATE sales_salesorder SET order_ref = 'SO-' || lpad(id::text, 6, '0') WHERE order_ref = ''"
            )
        refs = dict(
            SalesOrder.objects.filter(pk__in=[o.pk for o in orders[::2]]).values_list("pk", "order_ref")
        )
        ErpOrder.objects.bulk_create(
            ErpOrder(
                order_ref=refs[o.pk],
                erp_order_number=f"E-{7_000_000 + o.pk}",
                customer_id=o.customer_id,
                status="confirmed",
                status_changed_at=now,
                currency="EUR",
            )
            for o in orders[::2]
        )
        Case.objects.bulk_create(
            Case(
                customer_id=rng.choice(ids),
                kind="request",
                channel="email",
                subject=f"Bench case {n}",
            )
            for n in range(count)
        )
    with connection.cursor() as cursor:
        for table in (
            "sales_opportunity",
            "sales_quote",
            "sales_salesorder",
            "service_case",
            "backoffice_sync_erporder",
        ):
            cursor.execute(f"ANALYZE {table}")
    return f"{BOARD_CARDS} board cards; {count:,} orders, quotes and cases"


def ensure_catalogue() -> str:
    """A small catalogue for the working day's quotes: the SKUs of bench/workday.py in
    the product mirror, priced on every active EUR price list (with Django loaded;
    made once per database)."""
    from decimal import Decimal

    from django.db import transaction

    from backoffice_sync.models import Product
    from bench.workday import SKUS
    from sales.models import PriceList, PriceListItem

    with transaction.atomic():
        Product.objects.bulk_create(
            (
                Product(sku=sku, name=f"Bench product {n}", unit_price=Decimal(10 * n), currency="EUR")
                for n, sku in enumerate(SKUS, start=1)
            ),
            ignore_conflicts=True,
        )
        lists = list(PriceList.objects.filter(currency="EUR", active=True))
        PriceListItem.objects.bulk_create(
            (
                PriceListItem(price_list=price_list, product_id=sku, unit_price=Decimal(10 * n))
                for price_list in lists
                for n, sku in enumerate(SKUS, start=1)
            ),
            ignore_conflicts=True,
        )
    return f"{len(SKUS)} products on {len(lists)} EUR price lists"
