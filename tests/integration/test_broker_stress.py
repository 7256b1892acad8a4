"""Thousands of messages published while two real workers consume them from the same
queue: every message runs exactly once and no worker logs an error or dies (issue #12: a
worker died reading a message file of the embedded broker while it was being written).

Runs on the broker the settings choose: the embedded file broker by default (the case
the issue is about), Redis when REDIS_URL is set.
"""

from __future__ import annotations

import os
import re
import subprocess
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings

from config.tests.celery_conf import celery_conf
from frontoffice.tasks import echo_request_id
from tests.integration.test_celery_worker import BASE_DIR, _stop
from tests.subprocesses import celery_worker_argv

pytestmark = pytest.mark.integration

MESSAGES = 3000
BOUND_SECONDS = 60  # for the workers to start, and again for the queue to drain
ECHO = re.compile(r" echo (stress-\d+)$", re.MULTILINE)


@pytest.fixture
def broker_env(tmp_path: Path) -> tuple[dict[str, str], dict[str, object]]:
    """The environment of the workers and the publisher's Celery conf: one broker, in
    this test's own folders when it is the embedded one."""
    var_dir = tmp_path / "var"
    env = {key: value for key, value in os.environ.items() if not key.startswith("CELERY_")}
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings", DEBUG="1", VAR_DIR=str(var_dir), PYTHONUNBUFFERED="1"
    )
    publisher_conf: dict[str, object] = {"task_always_eager": False}
    if settings.REDIS_URL:
        env["REDIS_URL"] = settings.REDIS_URL
    else:
        broker = var_dir / "broker"  # what the workers' settings derive from VAR_DIR
        publisher_conf["broker_transport_options"] = {
            **settings.CELERY_BROKER_TRANSPORT_OPTIONS,
            "data_folder_in": str(broker / "queue"),
            "data_folder_out": str(broker / "queue"),
            "processed_folder": str(broker / "processed"),
            "control_folder": str(broker / "control"),
        }
        for folder in ("queue", "processed", "control"):
            (broker / folder).mkdir(parents=True, exist_ok=True)
    return env, publisher_conf


@pytest.fixture
def two_workers(
    tmp_path: Path, broker_env: tuple[dict[str, str], dict[str, object]]
) -> Iterator[tuple[str, list[tuple[subprocess.Popen[bytes], Path]]]]:
    env, _ = broker_env
    queue = f"itest-stress-{uuid.uuid4().hex[:12]}"
    workers = []
    for name in ("one", "two"):
        log_path = tmp_path / f"{name}.log"
        with log_path.open("wb") as log_file:
            process = subprocess.Popen(
                # A worker takes one message per poll of the folders unless it may hold
                # more; taking many keeps this test well under a minute.
                [*celery_worker_argv(queue=queue, name=f"{name}-{queue}"), "--prefetch-multiplier", "200"],
                cwd=BASE_DIR,
                env=env,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        workers.append((process, log_path))
    try:
        deadline = time.monotonic() + BOUND_SECONDS
        while not all(" ready." in log.read_text(errors="replace") for _, log in workers):
            assert time.monotonic() < deadline, "the workers did not start"
            assert all(process.poll() is None for process, _ in workers), _logs(workers)
            time.sleep(0.2)
        yield queue, workers
    finally:
        for process, _ in workers:
            _stop(process)


def _logs(workers: list[tuple[subprocess.Popen[bytes], Path]]) -> str:
    return "\n".join(log.read_text(errors="replace") for _, log in workers)


def test_thousands_of_messages_published_while_two_workers_consume_each_run_exactly_once(
    broker_env: tuple[dict[str, str], dict[str, object]],
    two_workers: tuple[str, list[tuple[subprocess.Popen[bytes], Path]]],
) -> None:
    # given: two workers consuming one queue
    _, publisher_conf = broker_env
    queue, workers = two_workers
    expected = {f"stress-{n}" for n in range(MESSAGES)}

    # when: messages are published one after the other while they consume
    with celery_conf(**publisher_conf):
        for marker in sorted(expected):
            echo_request_id.apply_async(args=[marker], queue=queue)
    deadline = time.monotonic() + BOUND_SECONDS
    while len(ran := Counter(ECHO.findall(_logs(workers)))) < MESSAGES and time.monotonic() < deadline:
        assert all(process.poll() is None for process, _ in workers), _logs(workers)[-5000:]
        time.sleep(0.5)

    # then: each ran once, both workers took a share, and nothing went wrong
    assert set(ran) == expected, f"{len(expected - set(ran))} never ran"
    assert [marker for marker, times in ran.items() if times > 1] == []
    assert all(ECHO.search(log.read_text(errors="replace")) for _, log in workers)
    assert all(process.poll() is None for process, _ in workers)
    problems = [line for line in _logs(workers).splitlines() if " ERROR " in line or "Traceback" in line]
    assert problems == []
