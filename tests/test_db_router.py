"""The read-replica router, run in a process whose `replica` alias is a second
connection to this test's own database (DATABASE_REPLICA_URL = DATABASE_URL)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.test import override_settings

from tests.subprocesses import this_test_database_url

BASE_DIR = Path(__file__).resolve().parents[1]

SCRIPT = """
import json
from django.db import connections, transaction
from django.core.signals import request_started
from customers import services
from customers.models import Customer
from frontoffice.models import User

seen = {"aliases": sorted(connections.databases)}
user = User.objects.get(username="router-probe")
request_started.send(sender=None)
seen["read"] = Customer.objects.all().db
seen["rows_on_replica"] = Customer.objects.using("replica").filter(last_name="Replicated").count()
with transaction.atomic():
    seen["read_in_transaction"] = Customer.objects.all().db
request_started.send(sender=None)
created = services.customer_create(actor=user, kind="person", last_name="Written")
seen["read_after_write"] = Customer.objects.all().db
seen["found_after_write"] = Customer.objects.filter(pk=created.pk).exists()
request_started.send(sender=None)
seen["read_next_request"] = Customer.objects.all().db

# What authenticates a request is read where it is written.
from django.contrib.sessions.models import Session
from knox.models import AuthToken
seen["session_read"] = Session.objects.all().db
seen["token_read"] = AuthToken.objects.all().db

# Across requests, through the whole middleware stack: a login writes (the session, the
# last login), so the pages after it read from the primary until the cookie expires.
from django.db import reset_queries
from django.test import Client
from django.urls import reverse
from frontoffice.db_router import PIN_COOKIE

def queries_by_alias(client, url):
    reset_queries()
    response = client.get(url)
    assert response.status_code == 200, response.status_code
    return {alias: len(connections[alias].queries) for alias in ("default", "replica")}

client = Client(SERVER_NAME="localhost")
response = client.post(reverse("login"), {"username": "router-probe", "password": "x" * 20})
seen["login_status"] = response.status_code
seen["pin_max_age"] = response.cookies[PIN_COOKIE]["max-age"] if PIN_COOKIE in response.cookies else None
seen["pinned_page"] = queries_by_alias(client, "/customers/")
seen["pin_renewed_by_a_read"] = PIN_COOKIE in client.get("/customers/").cookies
del client.cookies[PIN_COOKIE]
seen["unpinned_page"] = queries_by_alias(client, "/customers/")
print("RESULT" + json.dumps(seen))
"""


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_reads_go_to_the_replica_and_writes_transactions_and_the_next_pages_to_the_primary(sales_rep) -> None:
    # given: committed data, and a user the script acts as
    from customers import services
    from frontoffice.models import User

    services.customer_create(actor=sales_rep, kind="person", last_name="Replicated")
    User.objects.create_user(username="router-probe", password="x" * 20, is_superuser=True)
    url = this_test_database_url()
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "DATABASE_REPLICA_URL": url,
        "DEBUG": "1",
        "DATABASE_REPLICA_PIN_SECONDS": "7",
    }
    # when
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", SCRIPT],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    # then
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout.split("RESULT", 1)[1])
    assert seen["aliases"] == ["default", "replica"]
    assert seen["read"] == "replica"
    assert seen["rows_on_replica"] == 1
    assert seen["read_in_transaction"] == "default"
    assert seen["read_after_write"] == "default"
    assert seen["found_after_write"] is True
    assert seen["read_next_request"] == "replica"
    assert seen["session_read"] == seen["token_read"] == "default"
    # the browser after a write: the next pages from the primary, for the pin's seconds
    assert seen["login_status"] == 302
    assert seen["pin_max_age"] == 7
    assert seen["pinned_page"]["replica"] == 0
    assert seen["pinned_page"]["default"] > 0
    assert seen["pin_renewed_by_a_read"] is False
    # without the cookie the same page reads the replica (its session still the primary's)
    assert seen["unpinned_page"]["replica"] > 0


def _through_middleware(*, cookie: bool, writes: bool) -> tuple[Any, bool]:
    """One request through `ReadYourWritesMiddleware`: its response, and whether the
    view read from the primary."""
    from django.core.signals import request_started
    from django.http import HttpResponse
    from django.test import RequestFactory

    from customers.models import Customer
    from frontoffice.db_router import PIN_COOKIE, ReadYourWritesMiddleware, ReplicaRouter, pinned

    seen = {}

    def view(request: Any) -> HttpResponse:
        seen["pinned"] = pinned()
        if writes:
            ReplicaRouter().db_for_write(Customer)  # what the ORM asks the router before a write
        return HttpResponse("ok")

    request_started.send(sender=None)
    request = RequestFactory().get("/customers/")
    if cookie:
        request.COOKIES[PIN_COOKIE] = "1"
    return ReadYourWritesMiddleware(view)(request), seen["pinned"]


# Database access allowed: `request_started` also runs Django's close_old_connections,
# which asks a connection an earlier test of this process left open for its state.
@pytest.mark.django_db
@override_settings(DATABASE_REPLICA_PIN_SECONDS=4, SESSION_COOKIE_SECURE=True)
def test_a_write_pins_the_next_requests_for_the_configured_seconds() -> None:
    from frontoffice.db_router import PIN_COOKIE

    # a read-only request: no cookie, and its reads were the replica's
    response, was_pinned = _through_middleware(cookie=False, writes=False)
    assert PIN_COOKIE not in response.cookies
    assert was_pinned is False
    # a request that wrote: the cookie, for the configured seconds, secure and out of scripts' reach
    response, _ = _through_middleware(cookie=False, writes=True)
    pin = response.cookies[PIN_COOKIE]
    assert (pin["max-age"], pin["secure"], pin["httponly"], pin["samesite"]) == (4, True, True, "Lax")
    # the next request brings it: read from the primary; it renews nothing unless it writes
    response, was_pinned = _through_middleware(cookie=True, writes=False)
    assert was_pinned is True
    assert PIN_COOKIE not in response.cookies
