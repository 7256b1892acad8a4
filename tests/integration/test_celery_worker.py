"""A real Celery worker process, on the broker the settings choose (filesystem folders by
default, Redis when REDIS_URL is set), against the test database of this process.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

from config.tests.celery_conf import celery_conf
from customers.models import Activity
from customers.tasks import diagnostic_probe
from customers.tests.factories import PersonFactory
from frontoffice.request_context import reset_request_id, set_request_id
from tests.subprocesses import celery_worker_argv, this_test_database_url

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

BOUND_SECONDS = 30  # longest wait for the worker to start or to run a task
BASE_DIR = Path(settings.BASE_DIR)


def _wait_for(condition: Callable[[], Any], what: str, worker: CeleryWorker) -> Any:
    deadline = time.monotonic() + BOUND_SECONDS
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        if worker.process.poll() is not None:
            pytest.fail(f"the worker exited ({worker.process.returncode}) before {what}:\n{worker.log()}")
        time.sleep(0.2)
    pytest.fail(f"gave up after {BOUND_SECONDS} s waiting for {what}:\n{worker.log()}")


@dataclass
class CeleryWorker:
    process: subprocess.Popen[bytes]
    queue: str
    log_path: Path
    publisher_conf: dict[str, Any]

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


@pytest.fixture
def celery_worker(tmp_path: Path) -> Iterator[CeleryWorker]:
    """`celery worker --pool prefork --concurrency 1` on its own queue (and, for the
    embedded broker, its own folders), so parallel test runs never take each other's
    messages."""
    queue = f"itest-{uuid.uuid4().hex[:12]}"
    var_dir = tmp_path / "var"
    env = {key: value for key, value in os.environ.items() if not key.startswith("CELERY_")}
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        DEBUG="1",
        DATABASE_URL=this_test_database_url(),
        VAR_DIR=str(var_dir),
        LOG_LEVEL="INFO",
        PYTHONUNBUFFERED="1",
    )
    publisher_conf: dict[str, Any] = {"task_always_eager": False}
    if not settings.REDIS_URL:  # the embedded broker, in files
        broker = var_dir / "broker"  # what the worker's settings derive from VAR_DIR
        publisher_conf["broker_transport_options"] = {
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
    log_path = tmp_path / "worker.log"
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(
            celery_worker_argv(queue=queue, name=queue),
            cwd=BASE_DIR,
            env=env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: the pool children go with it
        )
    worker = CeleryWorker(process, queue, log_path, publisher_conf)
    try:
        _wait_for(lambda: " ready." in worker.log(), "the worker to be ready", worker)
        yield worker
    finally:
        _stop(process)


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()  # warm shutdown: the worker stops its pool itself
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)
    # Whatever survived (a pool child of a killed worker) goes with the group.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)


def _send_probe(worker: CeleryWorker, customer_id: int, marker: str, request_id: str | None) -> None:
    token = set_request_id(request_id)
    try:
        with celery_conf(**worker.publisher_conf):
            diagnostic_probe.apply_async(args=[customer_id, marker], queue=worker.queue)
    finally:
        reset_request_id(token)


def _probe_done(customer_id: int, marker: str) -> Callable[[], Activity | None]:
    def find() -> Activity | None:
        return Activity.objects.filter(
            customer_id=customer_id, kind="diagnostic", payload__marker=marker
        ).first()

    return find


def test_a_task_sent_from_here_runs_in_the_worker_and_writes_to_the_database(
    celery_worker: CeleryWorker,
) -> None:
    # given
    customer = PersonFactory()
    marker = uuid.uuid4().hex

    # when
    _send_probe(celery_worker, customer.pk, marker, request_id=None)

    # then
    activity = _wait_for(_probe_done(customer.pk, marker), "the probe's activity", celery_worker)
    assert activity.source_app == "customers"
    assert activity.payload["pid"] != os.getpid()
    assert activity.payload["request_id"] is None


def test_the_publishers_request_id_reaches_the_worker(celery_worker: CeleryWorker) -> None:
    # given
    customer = PersonFactory()
    marker = uuid.uuid4().hex
    request_id = f"trace-{uuid.uuid4().hex[:16]}"

    # when
    _send_probe(celery_worker, customer.pk, marker, request_id=request_id)

    # then
    activity = _wait_for(_probe_done(customer.pk, marker), "the probe's activity", celery_worker)
    assert activity.payload["request_id"] == request_id
    log_line = _wait_for(
        lambda: next((line for line in celery_worker.log().splitlines() if marker in line), None),
        "the probe's log line",
        celery_worker,
    )
    assert f"[{request_id}]" in log_line


def test_the_worker_keeps_its_database_connection_between_tasks(celery_worker: CeleryWorker) -> None:
    # given
    customer = PersonFactory()
    first, second = uuid.uuid4().hex, uuid.uuid4().hex

    # when: two tasks, one after the other, in the one pool process
    _send_probe(celery_worker, customer.pk, first, request_id=None)
    one = _wait_for(_probe_done(customer.pk, first), "the first probe", celery_worker)
    _send_probe(celery_worker, customer.pk, second, request_id=None)
    two = _wait_for(_probe_done(customer.pk, second), "the second probe", celery_worker)

    # then
    assert one.payload["pid"] == two.payload["pid"]
    assert one.payload["connection"] == two.payload["connection"]
