"""The demo's proactive messages: after the customers, the sales history (replayed
through the ERP simulator) and the service loop's step, the customers have been told of
confirmed and shipped orders and of overdue invoices, every late order found by the
delay sweep is on the record with its owner's follow-up, and nothing is dated after now;
and after the service steps every service page answers and the measures have figures.

(The sales history's orders in stock ship the day after they are placed; its big
orders, more than the warehouses hold, wait for their supplier, who delivers days after
the lead time they were promised on, or slips on the day: those placed weeks ago ran
late, and the replayed sweep told their customers.)"""

from __future__ import annotations

import datetime as dt
from io import StringIO
from typing import Any

import pytest
import time_machine
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from customers.models import Activity, Customer
from customers.outbound.models import OutboundMessage
from service.loop.demo import seed_loop
from service.loop.models import FollowUp
from service.loop.proactive import Templates

pytestmark = [pytest.mark.django_db, pytest.mark.slow]

# A Wednesday: the sales replay is the same for the same seed and day.
TODAY = dt.datetime(2026, 3, 18, 10, 30, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def _debug(settings: Any) -> None:
    settings.DEBUG = True  # the demo seeds refuse to run without it


def _next_customer_id(next_id: int) -> None:
    """The next customer gets this id, whichever tests ran before (on PostgreSQL sequences
    do not go back when a test's transaction is rolled back)."""
    assert not Customer.objects.exists()
    table = Customer._meta.db_table
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT setval(pg_get_serial_sequence(%s, 'id'), %s, false)", [table, next_id])
        else:
            cursor.execute("DELETE FROM sqlite_sequence WHERE name = %s", [table])
            cursor.execute("INSERT INTO sqlite_sequence (name, seq) VALUES (%s, %s)", [table, next_id - 1])


# The ERP's late payers were picked among ids that happened to be there: the overdue
# invoice went missing when the customers' ids started elsewhere.
@pytest.mark.parametrize("first_id", [1, 503])
def test_the_demo_tells_customers_of_confirmations_shipments_and_overdue_invoices(
    django_capture_on_commit_callbacks: Any, first_id: int
) -> None:
    # given: the demo's customers (their ids starting wherever the database is) and months
    # of sales through the ERP simulator
    _next_customer_id(first_id)
    with time_machine.travel(TODAY, tick=False):
        call_command("seed_demo", customers=80, seed=3, stdout=StringIO())
        with django_capture_on_commit_callbacks(execute=True):
            call_command("seed_sales_demo", deals=40, months=2, stdout=StringIO())
            # when: the service loop's demo step
            summary = seed_loop({"seed": 3})
        now = timezone.now()
    # then: each kind of proactive message was written
    kinds = set(OutboundMessage.objects.values_list("template__key", flat=True))
    assert {Templates.CONFIRMED, Templates.SHIPPED, Templates.OVERDUE} <= kinds, kinds
    late = OutboundMessage.objects.filter(template__key=Templates.DELAYED)
    assert late.exists(), "no late order was told"
    assert summary.endswith(f"{late.count()} late-order messages")
    # ... each delay with its owner's follow-up, and each on the customer's timeline
    refs = {key.removeprefix("order-delayed:") for key in late.values_list("dedupe_key", flat=True)}
    assert set(FollowUp.objects.values_list("order_ref", flat=True)) >= refs
    assert Activity.objects.filter(kind="message_sent", ref_id__in=[str(m.pk) for m in late]).count() == len(
        refs
    )
    # ... and nothing is dated after now
    assert not OutboundMessage.objects.filter(created_at__gt=now).exists()
    assert not Activity.objects.filter(occurred_at__gt=now).exists()
    assert not FollowUp.objects.filter(created_at__gt=now).exists()
    assert not FollowUp.objects.filter(done_at__gt=now).exists()


def test_after_the_demo_every_service_page_answers_and_the_measures_have_figures(
    django_capture_on_commit_callbacks: Any,
) -> None:
    # given: the demo's steps in their order (customers, sales, service history, loop)
    from django.test import Client

    from frontoffice.models import User
    from service.demo.history import seed_service_history
    from service.selectors_metrics import default_period, service_metrics

    with time_machine.travel(TODAY, tick=False):
        call_command("seed_demo", customers=80, seed=3, stdout=StringIO())
        with django_capture_on_commit_callbacks(execute=True):
            call_command("seed_sales_demo", deals=40, months=2, stdout=StringIO())
            seed_service_history({"seed": 3, "cases": 80})
            seed_loop({"seed": 3})
        # then: the measures of the last 30 days have figures
        start, end = default_period()
        total = service_metrics(start=start, end=end)["total"]
        assert total["opened"] > 0
        assert total["resolved"] > 0
        assert total["sla_attainment"] is not None
        assert total["median_resolution_minutes"] is not None
        assert total["complaints_per_100_orders"] is not None
        # ... and every service page answers to a supervisor and to the back office
        client = Client()
        client.force_login(User.objects.get(username="supervisor1"))
        for path in (
            "/service/console/",
            "/service/cases/",
            "/service/cases/mine/",
            "/service/queues/",
            "/service/goodwill/",
            "/service/metrics/",
            "/service/follow-ups/",
        ):
            assert client.get(path).status_code == 200, path
        client.force_login(User.objects.get(username="backoffice1"))
        for path in ("/service/problems/", "/service/voice-of-the-customer/"):
            page = client.get(path)
            assert page.status_code == 200, path
