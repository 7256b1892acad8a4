"""The read-replica router, run in a process whose `replica` alias is a second
connection to this test's own database (DATABASE_REPLICA_URL = DATABASE_URL)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

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
print("RESULT" + json.dumps(seen))
"""


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_reads_go_to_the_replica_and_writes_and_transactions_to_the_primary(sales_rep) -> None:
    # given: committed data, and a user the script acts as
    from customers import services
    from frontoffice.models import User

    services.customer_create(actor=sales_rep, kind="person", last_name="Replicated")
    User.objects.create_user(username="router-probe", password="x" * 20, is_superuser=True)
    url = this_test_database_url()
    env = {**os.environ, "DATABASE_URL": url, "DATABASE_REPLICA_URL": url, "DEBUG": "1"}
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
