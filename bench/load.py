"""The load side of `make bench`: a process of its own, apart from the server and from
the process that prepared the plan. `python -m bench.load PLAN.pickle RESULT.json`.

For each scenario of the plan: its warm-up requests (not timed) and one untimed pass
of its floor statement over its rows; then its timed requests and its timed floor
statements in alternating rounds, so that an app's figure and its floor come from the
same minutes of the machine's time. Measured apart (the floor after every scenario's
load), a ratio depended on when the machine ran slow: the same build's 360 API gave
3.9 ms against a 1.00 ms floor in one run, and 7.4 ms against 1.02 ms nine minutes
later, its floor timed in a quiet spell after the load.

Each request is timed from sending it to having read the whole body, one after the
other over one kept-alive HTTP/1.1 connection to 127.0.0.1; each floor statement from
sending it to having fetched every row, through psycopg.
"""

from __future__ import annotations

import http.client
import json
import pickle
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROUNDS = 10  # alternations of requests and floor statements per scenario


class Floor:
    """One statement run for given rows on a connection of its own, without the
    server's JIT (as the app's connections run), after one untimed pass over the same
    rows: the rows in the server's buffers whatever ran before (a floor timed while
    another's pages were cached measured the cache, not the statement: the 360's same
    statement gave 1.96 ms, then 1.18 ms right after)."""

    def __init__(self, database_url: str, sql: str, params: Sequence[Sequence[Any]], runs: int) -> None:
        import psycopg

        self.sql = sql
        self.params = (list(params) * (runs // max(1, len(params)) + 1))[:runs]
        self.connection = psycopg.connect(database_url, autocommit=True, prepare_threshold=None)
        self.connection.execute("SET jit = off")
        for args in self.params:
            self.connection.execute(sql, args).fetchall()

    def time(self, params: Sequence[Sequence[Any]]) -> list[float]:
        samples = []
        for args in params:
            started = time.perf_counter()
            self.connection.execute(self.sql, args).fetchall()
            samples.append((time.perf_counter() - started) * 1000)
        return samples

    def close(self) -> None:
        self.connection.close()


def rounds(items: Sequence[Any], count: int) -> list[Sequence[Any]]:
    """`items` in `count` consecutive slices as even as they go (none lost)."""
    return [items[len(items) * i // count : len(items) * (i + 1) // count] for i in range(count)]


class _Client:
    def __init__(self, plan: dict[str, Any], headers: dict[str, str]) -> None:
        self.host, self.port = plan["host"], int(plan["port"])
        self.headers = {"Host": plan["host_header"], "X-Forwarded-Proto": "https", **headers}
        self.connection = http.client.HTTPConnection(self.host, self.port, timeout=60)

    def get(self, path: str) -> tuple[int, float]:
        started = time.perf_counter()
        self.connection.request("GET", path, headers=self.headers)
        response = self.connection.getresponse()
        response.read()
        elapsed = (time.perf_counter() - started) * 1000
        if response.getheader("Connection", "").lower() == "close":
            self.connection.close()
            self.connection = http.client.HTTPConnection(self.host, self.port, timeout=60)
        return response.status, elapsed

    def close(self) -> None:
        self.connection.close()


def run(plan: dict[str, Any]) -> dict[str, Any]:
    results: dict[str, Any] = {}
    for scenario in plan["scenarios"]:
        client = _Client(plan, scenario["headers"])
        warm_up, paths = scenario["paths"][: scenario["warm_up"]], scenario["paths"][scenario["warm_up"] :]
        for path in warm_up:
            client.get(path)
        floor = Floor(
            plan["database_url"], scenario["floor_sql"], scenario["floor_params"], plan["floor_runs"]
        )
        samples: list[float] = []
        floor_samples: list[float] = []
        statuses: dict[str, int] = {}
        for requests, statements in zip(rounds(paths, ROUNDS), rounds(floor.params, ROUNDS), strict=True):
            for path in requests:
                status, elapsed = client.get(path)
                samples.append(elapsed)
                statuses[str(status)] = statuses.get(str(status), 0) + 1
            floor_samples += floor.time(statements)
        client.close()
        floor.close()
        results[scenario["name"]] = {"samples_ms": samples, "statuses": statuses, "floor_ms": floor_samples}
    return results


def measure(plan: dict[str, Any], *, cwd: Path, env: dict[str, str] | None = None) -> dict[str, Any]:
    """`run(plan)` in a process of its own (this module's `main`), its results read back."""
    with tempfile.TemporaryDirectory() as folder:
        plan_path, result_path = Path(folder) / "plan.pickle", Path(folder) / "result.json"
        plan_path.write_bytes(pickle.dumps(plan))  # the floors' values: dates and times too
        subprocess.run(
            [sys.executable, "-m", "bench.load", str(plan_path), str(result_path)],
            cwd=cwd,
            env=env,
            check=True,
        )
        result: dict[str, Any] = json.loads(result_path.read_text())
        return result


def main(argv: list[str]) -> None:
    plan_path, result_path = argv
    with open(plan_path, "rb") as source:
        plan = pickle.load(source)  # noqa: S301 - the plan this run's own parent process wrote
    with open(result_path, "w") as target:
        json.dump(run(plan), target)


if __name__ == "__main__":
    main(sys.argv[1:])
