"""A real `celery beat` process sends every app's periodic tasks: the outbox's sweep
arrives in the broker again and again (an earlier beat sent none of them: its schedule
was installed after the scheduler had read it).

Runs on the embedded file broker in this test's own folder, with no worker: the messages
stay in the queue folder, where the test reads which tasks beat sent.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from tests.integration.test_celery_worker import BASE_DIR, _stop

pytestmark = [pytest.mark.integration]

BOUND_SECONDS = 60  # longest wait for beat to start and send its first sweeps
SWEEPS = 3


def sent_tasks(queue: Path) -> Counter[str]:
    """The task names of the messages waiting in the file broker's queue folder."""
    names: Counter[str] = Counter()
    for path in queue.glob("*.msg"):
        try:
            message = json.loads(path.read_text())
        except (OSError, ValueError):
            continue  # being renamed into place
        names[message["headers"]["task"]] += 1
    return names


def test_beat_on_the_file_broker_keeps_sending_the_outbox_sweep(tmp_path: Path) -> None:
    # given: beat on the embedded broker, in this test's folders
    var_dir = tmp_path / "var"
    env = {key: value for key, value in os.environ.items() if not key.startswith(("CELERY_", "REDIS_"))}
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        DEBUG="1",
        DATABASE_URL=f"sqlite:///{tmp_path / 'beat.sqlite3'}",  # beat itself reads no table
        REDIS_URL="",
        VAR_DIR=str(var_dir),
        PYTHONUNBUFFERED="1",
    )
    log_path = tmp_path / "beat.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [str(Path(sys.executable).parent / "celery"), "-A", "config", "beat", "-l", "info"],
            cwd=BASE_DIR,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    queue = var_dir / "broker" / "queue"
    try:
        # when: it runs for a few of the sweep's periods
        deadline = time.monotonic() + BOUND_SECONDS
        while sent_tasks(queue)["backoffice_sync.tasks.relay_outbox"] < SWEEPS:
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"beat sent {dict(sent_tasks(queue))}:\n{log_path.read_text()}")
            time.sleep(0.5)
    finally:
        _stop(process)

    # then: the sweep came again and again, each app's schedule from its hooks
    assert sent_tasks(queue)["backoffice_sync.tasks.relay_outbox"] >= SWEEPS
    assert "Sending due task relay-outbox" in log_path.read_text()
