"""`manage.py seed_sales_demo`: months of sales replayed through the services and the ERP
simulator, so that the demo's orders, forecast and recommendations are real."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import sqlite3
import subprocess
import sys
from collections import Counter
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
import time_machine
from django.core import mail
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import transaction
from django.utils import timezone

from backoffice_sync.erp import MessageKind
from backoffice_sync.models import InboxEvent, InboxStatus, Invoice, OutboxMessage, OutboxStatus
from backoffice_sync.outbox import outbox_enqueue
from customers.models import Activity, Customer
from sales.models import (
    ForecastSnapshot,
    Lead,
    LeadStatus,
    Opportunity,
    OpportunityStatus,
    PriceList,
    ProductAffinity,
    Quote,
    QuoteStatus,
    SalesOrder,
)
from sales.orders.selectors import OrderState, order_queryset, order_state

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
# A Wednesday: the replay is the same for the same seed and day, so the tests fix the day.
TODAY = dt.datetime(2026, 3, 18, 10, 30, tzinfo=dt.UTC)
SMALL = {"deals": 40, "months": 2}
SHIPPING_STATES = {
    OrderState.CONFIRMED,
    OrderState.PARTIALLY_SHIPPED,
    OrderState.SHIPPED,
    OrderState.DELIVERED,
}


@pytest.fixture(autouse=True)
def _debug(settings: Any) -> None:
    # pytest-django runs tests with DEBUG off; the demo seeds refuse to run without it.
    settings.DEBUG = True


@pytest.fixture
def today() -> Any:
    with time_machine.travel(TODAY, tick=False) as traveller:
        yield traveller


def seed_customers() -> None:
    call_command("seed_demo", customers=80, seed=3, stdout=StringIO())


def seed_sales(**options: Any) -> str:
    out = StringIO()
    call_command("seed_sales_demo", stdout=out, **options)
    return out.getvalue()


def test_it_replays_sales_through_the_erp_into_real_statuses(
    today: Any, django_capture_on_commit_callbacks: Any
) -> None:
    # given
    seed_customers()

    # when
    with django_capture_on_commit_callbacks(execute=True) as after_commit:
        output = seed_sales(**SMALL)

    # then: orders went out through the outbox and came back from the ERP with statuses
    states = Counter(order_state(order) for order in order_queryset())
    assert sum(states[state] for state in SHIPPING_STATES) >= SalesOrder.objects.count() * 3 // 4
    # ... at least two statuses the ERP sent back (a cancellation is one: the ERP confirms it)
    assert len(set(states) & (SHIPPING_STATES | {OrderState.CANCELLED})) >= 2, states
    assert OutboxMessage.objects.filter(kind=MessageKind.ORDER_SUBMIT).count() == SalesOrder.objects.count()
    assert not OutboxMessage.objects.exclude(status=OutboxStatus.DELIVERED).exists()
    assert not InboxEvent.objects.exclude(status=InboxStatus.APPLIED).exists()
    invoices = Counter(Invoice.objects.values_list("status", flat=True))
    assert invoices["paid"] > 0, invoices
    # ... every order from an accepted quote of a won opportunity
    assert SalesOrder.objects.exclude(quote__status=QuoteStatus.ACCEPTED).count() == 0
    assert SalesOrder.objects.exclude(opportunity__status=OpportunityStatus.WON).count() == 0
    # ... none promising a day before the one it was placed, though quotes were signed
    # weeks after sending: some customers took a later date, some reps re-quoted
    for ref, promised, placed in SalesOrder.objects.values_list(
        "order_ref", "promised_delivery_on", "created_at"
    ):
        assert promised is not None, ref
        assert promised >= timezone.localdate(placed), (ref, promised, placed)
    moved = Activity.objects.filter(kind="order_placed", payload__has_key="promise_moved_from")
    assert moved.exists()
    re_quoted = [
        order.order_ref
        for order in SalesOrder.objects.select_related("quote")
        if order.quote.revision > 1 and order.created_at - order.quote.sent_at < dt.timedelta(minutes=1)
    ]
    assert re_quoted, "no rep re-quoted a date the back office could no longer keep"
    # the pipeline: opportunities in several stages, won and lost in the past, open ahead
    open_ones = Opportunity.objects.filter(status=OpportunityStatus.OPEN)
    assert open_ones.values("stage").distinct().count() >= 3
    assert set(Opportunity.objects.values_list("status", flat=True)) == set(OpportunityStatus.values)
    assert not open_ones.filter(expected_close_date__lt=TODAY.date()).exists()
    closed = Opportunity.objects.exclude(status=OpportunityStatus.OPEN)
    assert not closed.filter(closed_at__gte=TODAY).exists()
    assert closed.filter(closed_at__lt=TODAY - dt.timedelta(days=30)).exists()
    assert not Opportunity.objects.filter(status=OpportunityStatus.LOST, lost_reason="").exists()
    assert set(Opportunity.objects.values_list("owner__username", flat=True)) <= {
        "sales1",
        "sales2",
        "sales3",
    }
    # leads in every status, disqualified ones with a reason, converted ones with a customer
    assert set(Lead.objects.values_list("status", flat=True)) == set(LeadStatus.values)
    assert not Lead.objects.filter(status=LeadStatus.DISQUALIFIED, disqualified_reason="").exists()
    assert Opportunity.objects.filter(source_lead__status=LeadStatus.CONVERTED).exists()
    # quotes: drafts, sent and accepted; price lists per currency and tier
    quote_statuses = set(Quote.objects.values_list("status", flat=True))
    assert {QuoteStatus.DRAFT, QuoteStatus.SENT, QuoteStatus.ACCEPTED} <= quote_statuses
    assert set(PriceList.objects.values_list("currency", "tier")) >= {
        ("EUR", "standard"),
        ("EUR", "silver"),
        ("EUR", "gold"),
        ("GBP", "standard"),
        ("USD", "standard"),
    }
    # the forecast was published every week, and the recommendations computed
    assert ForecastSnapshot.objects.filter(week_start__lt=TODAY.date() - dt.timedelta(days=30)).exists()
    assert ProductAffinity.objects.exists()
    # the timeline tells the story at the moments it happened
    assert Activity.objects.filter(source_app="sales", occurred_at__lt=TODAY - dt.timedelta(days=30)).exists()
    assert Activity.objects.filter(source_app="backoffice_sync", kind="shipment").exists()
    # no quote e-mailed: the replay's sent quotes were handed over without an e-mail (what
    # ran after the commit is the relay's kick, which found the outbox delivered); what
    # the customers got is the service's proactive order news, through the message room
    assert [m.subject for m in mail.outbox if m.subject.startswith("Quote ")] == []
    assert all(not m.attachments for m in mail.outbox)
    assert not Quote.objects.exclude(email_status="").exists()
    assert not [
        c for c in after_commit if "send_quote_email" in getattr(c, "__qualname__", type(c).__qualname__)
    ]
    assert "Orders:" in output


def test_if_empty_leaves_a_seeded_database_alone(today: Any) -> None:
    # given
    seed_customers()
    seed_sales(deals=12, months=1)
    counts = [m.objects.count() for m in (Lead, Opportunity, Quote, SalesOrder, OutboxMessage, InboxEvent)]

    # when
    output = seed_sales(deals=12, months=1, if_empty=True)

    # then
    assert "already exists" in output
    assert [
        m.objects.count() for m in (Lead, Opportunity, Quote, SalesOrder, OutboxMessage, InboxEvent)
    ] == counts
    with pytest.raises(CommandError, match="already exists"):
        seed_sales(deals=12, months=1)


def test_it_leaves_alone_a_database_whose_erp_simulator_was_used() -> None:
    # given: the front office has already sent the ERP something
    seed_customers()
    with transaction.atomic():
        outbox_enqueue(
            kind=MessageKind.CUSTOMER_UPSERT, aggregate="customer:1", payload={"customer_ref": "1"}
        )

    # when
    output = seed_sales(if_empty=True)

    # then
    assert "No sales demo seeded" in output
    assert not Opportunity.objects.exists()
    with pytest.raises(CommandError, match="clock"):
        seed_sales()


def test_it_needs_the_in_process_erp_simulator(settings: Any) -> None:
    settings.ERP_ADAPTER = "http"
    with pytest.raises(CommandError, match="ERP_ADAPTER=stub"):
        seed_sales()


def test_it_needs_the_customer_seed_first() -> None:
    with pytest.raises(CommandError, match="seed_demo"):
        seed_sales()


def test_it_refuses_to_run_without_debug(settings: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    settings.DEBUG = False
    monkeypatch.delenv("ALLOW_DEMO_ADMIN", raising=False)
    with pytest.raises(CommandError, match="DEBUG only"):
        seed_sales()
    assert not Customer.objects.exists()


# --- the same seed and day give the same history, in any process -------------------------

SNAPSHOT_SQL = {
    "opportunities": "SELECT customer_id, owner_id, name, status, amount, currency, stage_id, "
    "expected_close_date, created_at, closed_at FROM sales_opportunity ORDER BY id",
    "quotes": "SELECT reference, revision, status, total, promised_delivery_on, sent_at FROM sales_quote ORDER BY id",
    "orders": "SELECT order_ref, customer_id, total, created_at FROM sales_salesorder ORDER BY id",
    "erp_orders": "SELECT order_ref, status, status_changed_at FROM backoffice_sync_erporder ORDER BY order_ref",
    "invoices": "SELECT number, amount, status, issued_on, due_on FROM backoffice_sync_invoice ORDER BY number",
    "leads": "SELECT status, organisation_name, disqualified_reason, created_at FROM sales_lead ORDER BY id",
}


def seed_sales_in_a_process(database: Path) -> dict[str, list[tuple[Any, ...]]]:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": f"sqlite:///{database}",
        "VAR_DIR": str(database.parent),
        "DEBUG": "1",
    }
    command = [
        sys.executable,
        "manage.py",
        "seed_sales_demo",
        "--deals",
        "16",
        "--months",
        "1",
        "--seed",
        "4",
    ]
    subprocess.run(command, cwd=ROOT, env=env, check=True, capture_output=True)  # noqa: S603 - our own command
    with sqlite3.connect(database) as db:
        return {name: db.execute(sql).fetchall() for name, sql in SNAPSHOT_SQL.items()}


@pytest.mark.slow
def test_the_same_seed_gives_the_same_history_in_another_process(tmp_path: Path) -> None:
    # given: one database with the demo customers, copied, so both runs start alike
    first, second = tmp_path / "first.sqlite3", tmp_path / "second.sqlite3"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DEBUG": "1",
        "DATABASE_URL": f"sqlite:///{first}",
        "VAR_DIR": str(tmp_path),
    }
    for command in (["migrate", "--noinput", "-v", "0"], ["seed_demo", "--customers", "60", "--seed", "2"]):
        subprocess.run([sys.executable, "manage.py", *command], cwd=ROOT, env=env, check=True)  # noqa: S603
    shutil.copy(first, second)

    # when
    one = seed_sales_in_a_process(first)
    other = seed_sales_in_a_process(second)

    # then
    assert one["orders"], "the history placed no order"
    for name in SNAPSHOT_SQL:
        assert one[name] == other[name], name
