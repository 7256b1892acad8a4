"""A real Celery worker relays the outbox to the ERP simulator and is SIGKILLed in the
middle of a batch; a new worker finishes the job. Nothing is lost, nothing applied twice.

Runs on the broker the settings choose (filesystem folders by default, Redis when
REDIS_URL is set), against this process's test database, where the simulator's tables
record every idempotency key it applied.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from backoffice_sync import outbox
from backoffice_sync.erp import MessageKind
from backoffice_sync.models import OutboxMessage, OutboxStatus
from backoffice_sync.simulator import faults
from backoffice_sync.simulator.models import SimDelivery, SimOrder, SimOrderStatus
from backoffice_sync.tasks import relay_outbox
from backoffice_sync.tests.outbox_fakes import order_payload
from config.tests.celery_conf import celery_conf
from tests.integration.test_celery_worker import BASE_DIR, _stop
from tests.subprocesses import celery_worker_argv, this_test_database_url

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

BOUND_SECONDS = 90  # longest wait for a worker to start, or for the outbox to drain
ORDERS = 300
BATCH_SIZE = 20
LATENCY_MS = 300  # per ERP call: a batch takes long enough for the kill to land inside one
LEASE_SECONDS = 3  # what the relay tasks ask for here, so that the test waits seconds, not minutes


class Worker:
    """`celery worker --pool prefork --concurrency 1` in its own process group."""

    def __init__(
        self, tmp_path: Path, name: str, queue: str, extra_env: dict[str, str] | None = None
    ) -> None:
        var_dir = tmp_path / "var"
        env = {key: value for key, value in os.environ.items() if not key.startswith("CELERY_")}
        env.update(
            DJANGO_SETTINGS_MODULE="config.settings",
            DEBUG="1",
            DATABASE_URL=this_test_database_url(),
            VAR_DIR=str(var_dir),
            LOG_LEVEL="INFO",
            PYTHONUNBUFFERED="1",
            ERP_ADAPTER="stub",
            OUTBOX_BATCH_SIZE=str(BATCH_SIZE),
        )
        env.update(extra_env or {})
        self.publisher_conf: dict[str, Any] = {"task_always_eager": False}
        if not settings.REDIS_URL:  # the embedded broker, in files
            broker = var_dir / "broker"  # what the worker's settings derive from VAR_DIR
            self.publisher_conf["broker_transport_options"] = {
                **settings.CELERY_BROKER_TRANSPORT_OPTIONS,
                "data_folder_in": str(broker / "queue"),
                "data_folder_out": str(broker / "queue"),
                "processed_folder": str(broker / "processed"),
                "control_folder": str(broker / "control"),
            }
            for folder in ("queue", "processed", "control"):
                (broker / folder).mkdir(parents=True, exist_ok=True)
        else:
            env["REDIS_URL"] = settings.REDIS_URL
        self.queue = queue
        self.log_path = tmp_path / f"{name}.log"
        with self.log_path.open("wb") as log_file:
            self.process = subprocess.Popen(
                celery_worker_argv(queue=queue, name=f"{name}-{queue}"),
                cwd=BASE_DIR,
                env=env,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: the pool child goes with it
            )
        self.wait_for(lambda: " ready." in self.log(), "the worker to be ready")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_for(self, condition: Callable[[], Any], what: str, *, every: float = 0.1) -> Any:
        deadline = time.monotonic() + BOUND_SECONDS
        while time.monotonic() < deadline:
            value = condition()
            if value:
                return value
            if self.process.poll() is not None:
                pytest.fail(f"the worker exited ({self.process.returncode}) before {what}:\n{self.log()}")
            time.sleep(every)
        pytest.fail(f"gave up after {BOUND_SECONDS} s waiting for {what}:\n{self.log()}")

    def relay(self, lease_seconds: int | None = LEASE_SECONDS) -> None:
        """What beat's sweep does, sent to this worker's queue."""
        with celery_conf(**self.publisher_conf):
            relay_outbox.apply_async(kwargs={"lease_seconds": lease_seconds}, queue=self.queue)

    def kill(self) -> None:
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=BOUND_SECONDS)

    def stop(self) -> None:
        if self.process.poll() is None:
            _stop(self.process)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)


@pytest.fixture
def workers(tmp_path: Path) -> Iterator[Callable[[str], Worker]]:
    queue = f"itest-outbox-{uuid.uuid4().hex[:12]}"
    started: list[Worker] = []

    def start(name: str) -> Worker:
        worker = Worker(tmp_path, name, queue)
        started.append(worker)
        return worker

    try:
        yield start
    finally:
        for worker in started:
            worker.stop()


def place_orders(
    monkeypatch: pytest.MonkeyPatch, orders: int = ORDERS, between: Callable[[int], None] | None = None
) -> dict[str, list[str]]:
    """`orders` orders, each in its own transaction, every fourth cancelled afterwards;
    `between(n)` runs before the n-th (to spread them over time)."""
    # The kicks would relay right here (eager Celery): the workers under test must do it.
    monkeypatch.setattr(outbox, "_kick_relay", lambda: None)
    expected: dict[str, list[str]] = {}
    for n in range(orders):
        if between is not None:
            between(n)
        ref = f"SO-{n}"
        with transaction.atomic():
            outbox_payload = order_payload(ref, customer_ref=f"C-{n % 25}")
            outbox.outbox_enqueue(
                kind=MessageKind.ORDER_SUBMIT, aggregate=f"order:{ref}", payload=outbox_payload
            )
        expected[f"order:{ref}"] = ["order.submit"]
        if n % 4 == 0:
            with transaction.atomic():
                outbox.outbox_enqueue(
                    kind=MessageKind.ORDER_CANCEL,
                    aggregate=f"order:{ref}",
                    payload={"order_ref": ref, "reason": "x"},
                )
            expected[f"order:{ref}"].append("order.cancel")
    return expected


def in_flight() -> int:
    return OutboxMessage.objects.filter(status=OutboxStatus.PENDING, locked_until__gt=timezone.now()).count()


def delivered() -> int:
    return OutboxMessage.objects.filter(status=OutboxStatus.DELIVERED).count()


def test_a_worker_killed_mid_batch_loses_nothing_and_applies_nothing_twice(
    workers: Callable[[str], Worker], monkeypatch: pytest.MonkeyPatch
) -> None:
    # given: orders waiting in the outbox, and a slow ERP
    expected = place_orders(monkeypatch)
    total = sum(len(kinds) for kinds in expected.values())
    faults.set(latency_ms=LATENCY_MS)
    first = workers("first")

    # when: the worker is killed while a batch is in its ERP call
    first.relay()
    first.wait_for(lambda: delivered() >= 2 * BATCH_SIZE and in_flight() > 0, "a batch in flight", every=0.02)
    first.kill()
    stranded = in_flight()
    delivered_before = delivered()

    # ... and a new worker takes over, swept every second as beat would
    second = workers("second")
    deadline = time.monotonic() + BOUND_SECONDS
    while delivered() < total and time.monotonic() < deadline:
        second.relay()
        time.sleep(1)

    # then: the kill left leased messages behind, and they were delivered after all
    assert stranded > 0
    assert delivered_before < total
    assert delivered() == total, second.log()
    assert not OutboxMessage.objects.exclude(status=OutboxStatus.DELIVERED).exists()
    # the simulator applied every key exactly once, in order per order
    assert SimDelivery.objects.filter(status="accepted").count() == total
    assert set(SimDelivery.objects.values_list("idempotency_key", flat=True)) == set(
        OutboxMessage.objects.values_list("idempotency_key", flat=True)
    )
    applied: dict[str, list[str]] = {}
    for aggregate, kind in SimDelivery.objects.order_by("pk").values_list("aggregate", "kind"):
        applied.setdefault(aggregate, []).append(kind)
    assert applied == expected
    assert SimOrder.objects.count() == ORDERS
    assert SimOrder.objects.filter(status=SimOrderStatus.CANCELLED).count() == len(range(0, ORDERS, 4))
