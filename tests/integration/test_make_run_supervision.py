"""`make run` keeps serving when one of its processes dies (issue #12: the worker died
and took web and beat down with it). `make serve` is `make run` without the demo seed:
web, worker and beat under supervisord (config/supervisord.conf). The worker is killed
as a crash would kill it; supervisord starts it again and says so, while web and beat
go on; then Ctrl-C stops everything.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.integration.test_celery_worker import BASE_DIR
from tests.subprocesses import this_test_database_url

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

BOUND_SECONDS = 60  # for the processes to start, to come back, or to stop
PROGRAMS = {"web": " runserver ", "worker": " worker ", "beat": " beat "}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Serving:
    make: subprocess.Popen[bytes]
    port: int
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def programs(self) -> dict[str, int]:
        """The pid of web, worker and beat now: the group leaders of make's session (each
        program runs in its own process group), by command line."""
        found: dict[str, int] = {}
        for proc in Path("/proc").iterdir():
            if not proc.name.isdigit():
                continue
            try:
                # after "(command)": state, ppid, pgrp, session
                fields = (proc / "stat").read_text().rpartition(")")[2].split()
                command = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue  # gone meanwhile
            pid, pgrp, session = int(proc.name), int(fields[2]), int(fields[3])
            if session != self.make.pid or pgrp != pid:
                continue
            for name, marker in PROGRAMS.items():
                if marker in command:
                    found[name] = pid
        return found

    def answers(self) -> bool:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=2) as response:
                return response.status == 200
        except OSError:
            return False

    def wait_for(self, condition: Callable[[], Any], what: str) -> Any:
        deadline = time.monotonic() + BOUND_SECONDS
        while time.monotonic() < deadline:
            value = condition()
            if value:
                return value
            if self.make.poll() is not None:
                pytest.fail(f"make serve exited ({self.make.returncode}) before {what}:\n{self.log()}")
            time.sleep(0.2)
        pytest.fail(f"gave up after {BOUND_SECONDS} s waiting for {what}:\n{self.log()}")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.fixture
def serving(tmp_path: Path) -> Iterator[Serving]:
    var_dir = tmp_path / "var"
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("CELERY_", "MAKE")) and key not in {"REDIS_URL", "MFLAGS"}
    }
    # The embedded broker in this test's folder, and this test's database.
    env.update(DATABASE_URL=this_test_database_url(), PYTHONUNBUFFERED="1")
    port = _free_port()
    log_path = tmp_path / "serve.log"
    # Appending: supervisord and the programs it starts write to this file through
    # different descriptors, which must not overwrite each other.
    with log_path.open("ab") as log_file:
        make = subprocess.Popen(
            ["make", "--no-print-directory", "serve", f"PORT={port}", f"VAR_DIR={var_dir}"],  # noqa: S607
            cwd=BASE_DIR,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # what a terminal's Ctrl-C reaches: make and supervisord
        )
    serving = Serving(make, port, log_path)
    try:
        yield serving
    finally:
        if make.poll() is None:
            os.killpg(make.pid, signal.SIGINT)
            with contextlib.suppress(subprocess.TimeoutExpired):
                make.wait(timeout=BOUND_SECONDS)
        for pid in serving.programs().values():  # each leads its own process group
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(make.pid, signal.SIGKILL)


def test_a_worker_that_dies_is_restarted_and_logged_while_web_and_beat_go_on(serving: Serving) -> None:
    # given: web answering and the worker ready
    serving.wait_for(serving.answers, "the web server to answer")
    serving.wait_for(lambda: serving.log().count(" ready.") == 1, "the worker to be ready")
    before = serving.wait_for(lambda: len(found := serving.programs()) == 3 and found, "the three programs")

    # when: the worker dies (with its pool, as an out-of-memory kill would take it)
    os.killpg(before["worker"], signal.SIGKILL)

    # then: it is started again, the log says so, and the site kept serving throughout
    assert serving.answers()
    serving.wait_for(lambda: serving.log().count(" ready.") == 2, "a new worker to be ready")
    after = serving.programs()
    assert after["worker"] != before["worker"]
    assert after["web"] == before["web"]
    assert after["beat"] == before["beat"]
    assert "exited: worker (terminated by SIGKILL; not expected)" in serving.log()
    assert f"spawned: 'worker' with pid {after['worker']}" in serving.log()
    assert serving.answers()


def test_ctrl_c_stops_web_worker_and_beat(serving: Serving) -> None:
    # given
    serving.wait_for(serving.answers, "the web server to answer")
    serving.wait_for(lambda: serving.log().count(" ready.") == 1, "the worker to be ready")
    programs = serving.wait_for(lambda: len(found := serving.programs()) == 3 and found, "the three programs")

    # when: Ctrl-C in the terminal
    os.killpg(serving.make.pid, signal.SIGINT)
    serving.make.wait(timeout=BOUND_SECONDS)

    # then: every program stopped, with its process group (runserver's child, the pool)
    for pid in programs.values():
        with pytest.raises(ProcessLookupError):
            os.killpg(pid, 0)
    assert not serving.answers()
