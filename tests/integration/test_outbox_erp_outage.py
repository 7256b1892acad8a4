"""An ERP outage is waited out: orders placed while the ERP simulator (a separate process,
reached by the `http` adapter) answers 503, two real Celery workers sharing the relay, one
of them SIGKILLed while the backlog drains. Nothing is dead-lettered, every order reaches
the ERP exactly once and in order per aggregate, all within 60 s of the ERP's return.

The outage is shortened by settings (probe waits of a fraction of a second, the alert
after a few seconds), not by skipping the logic: it outlasts the retries that used to
dead-letter the first messages after about 21 s of an outage. The 1,000-order figure is
`make bench-sync`'s (bench/sync.py).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests
from django.utils import timezone

from backoffice_sync.models import CircuitState, ErpCircuit, OutboxMessage, OutboxStatus
from backoffice_sync.simulator import faults
from backoffice_sync.simulator.models import SimDelivery, SimOrder
from tests.integration.test_celery_worker import BASE_DIR
from tests.integration.test_outbox_worker_kill import BOUND_SECONDS, Worker, delivered, place_orders
from tests.subprocesses import this_test_database_url

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

OUTAGE_SECONDS = 25  # longer than the old attempts' budget lasted (the first died after 21 s)
RECOVERY_BOUND_SECONDS = 60
LEASE_SECONDS = 3
SWEEP_SECONDS = 0.5


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def erp_url(tmp_path: Path) -> Iterator[str]:
    """`manage.py run_erp_simulator` on a free port, against this test's database."""
    port = _free_port()
    env = {key: value for key, value in os.environ.items() if not key.startswith(("ERP_", "CELERY_"))}
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        DEBUG="1",
        DATABASE_URL=this_test_database_url(),
        VAR_DIR=str(tmp_path / "erp-var"),
        PYTHONUNBUFFERED="1",
    )
    log_path = tmp_path / "erp.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, str(BASE_DIR / "manage.py"), "run_erp_simulator", "--port", str(port)],
            cwd=BASE_DIR,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + BOUND_SECONDS
        while True:
            if process.poll() is not None:
                pytest.fail(f"the simulator exited ({process.returncode}):\n{log_path.read_text()}")
            try:
                if requests.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"the simulator did not start:\n{log_path.read_text()}")
            time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture
def workers(tmp_path: Path, erp_url: str) -> Iterator[Callable[[str], Worker]]:
    queue = f"itest-outage-{uuid.uuid4().hex[:12]}"
    started: list[Worker] = []
    env = {
        "ERP_ADAPTER": "http",
        "ERP_URL": erp_url,
        "ERP_TIMEOUT_SECONDS": "5",
        "ERP_PROBE_BASE_SECONDS": "0.2",
        "ERP_PROBE_CAP_SECONDS": "1",
        "ERP_UNREACHABLE_ALERT_SECONDS": "5",
        "OUTBOX_RELAY_CONCURRENCY": "2",
    }

    def start(name: str) -> Worker:
        worker = Worker(tmp_path, name, queue, extra_env=env)
        started.append(worker)
        return worker

    try:
        yield start
    finally:
        for worker in started:
            worker.stop()


def sweep_until(worker: Worker, condition: Callable[[], bool], *, seconds: float) -> bool:
    """Send what beat's sweep sends every SWEEP_SECONDS until `condition` or `seconds` pass."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        worker.relay(lease_seconds=LEASE_SECONDS)
        time.sleep(SWEEP_SECONDS)
    return condition()


def test_an_outage_is_waited_out_and_the_backlog_drains_through_a_worker_kill(
    workers: Callable[[str], Worker], monkeypatch: pytest.MonkeyPatch
) -> None:
    # given: two workers share the relay, and the ERP goes down
    first, second = workers("first"), workers("second")
    faults.set(outage=True)

    # when: orders are placed during the outage, swept as beat would
    started = time.monotonic()
    expected = place_orders(monkeypatch)
    total = sum(len(kinds) for kinds in expected.values())
    sweep_until(first, lambda: time.monotonic() - started > OUTAGE_SECONDS, seconds=OUTAGE_SECONDS + 5)

    # then: nothing was delivered, dead or charged an attempt; the breaker is open and alerted
    circuit = ErpCircuit.objects.get(pk=1)
    assert circuit.state != CircuitState.CLOSED
    assert circuit.alerted_at is not None
    assert delivered() == 0
    assert not OutboxMessage.objects.filter(status=OutboxStatus.DEAD).exists()
    assert not OutboxMessage.objects.filter(attempts__gt=0, locked_until__isnull=True).exists()

    # when: the ERP comes back, and a worker is killed while the backlog drains
    faults.set(outage=False)
    back = time.monotonic()
    assert sweep_until(first, lambda: delivered() >= total // 4, seconds=RECOVERY_BOUND_SECONDS), first.log()
    first.kill()
    drained = sweep_until(second, lambda: delivered() == total, seconds=RECOVERY_BOUND_SECONDS)
    took = time.monotonic() - back

    # then: all acknowledged within 60 s of the ERP's return, none dead
    assert drained, f"{delivered()} of {total} delivered after {took:.0f} s:\n{second.log()}"
    assert took <= RECOVERY_BOUND_SECONDS
    assert not OutboxMessage.objects.exclude(status=OutboxStatus.DELIVERED).exists()
    # ... each order in the ERP exactly once, in order per aggregate
    assert SimDelivery.objects.filter(status="accepted").count() == total
    assert set(SimDelivery.objects.values_list("idempotency_key", flat=True)) == set(
        OutboxMessage.objects.values_list("idempotency_key", flat=True)
    )
    applied: dict[str, list[str]] = {}
    for aggregate, kind in SimDelivery.objects.order_by("pk").values_list("aggregate", "kind"):
        applied.setdefault(aggregate, []).append(kind)
    assert applied == expected
    assert SimOrder.objects.count() == len(expected)
    # ... both workers delivered (the second adds throughput), and the breaker is closed
    assert "delivered" in first.log()
    assert "delivered" in second.log()
    assert ErpCircuit.objects.get(pk=1).state == CircuitState.CLOSED
    assert ErpCircuit.objects.get(pk=1).changed_at <= timezone.now()
