"""The bench's load process (bench/load.py): every timed request and floor statement is
counted, and the two alternate in rounds, so that a scenario's figure and its floor come
from the same stretch of the run."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from bench import load

EVENTS: list[str] = []


class _Answers(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        EVENTS.append(f"GET {self.path}")
        self.send_response(404 if self.path == "/missing" else 200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args: Any) -> None:
        pass


class _Floor:
    """Stands in for the psycopg statement: records when it runs."""

    def __init__(self, database_url: str, sql: str, params: Sequence[Sequence[Any]], runs: int) -> None:
        self.params = (list(params) * runs)[:runs]
        EVENTS.append(f"floor untimed x{len(self.params)}")

    def time(self, params: Sequence[Sequence[Any]]) -> list[float]:
        EVENTS.extend(f"floor {args[0]}" for args in params)
        return [1.0] * len(params)

    def close(self) -> None:
        pass


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[int]:
    EVENTS.clear()
    monkeypatch.setattr(load, "Floor", _Floor)
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Answers)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd.server_address[1]
    httpd.shutdown()
    httpd.server_close()


def test_requests_and_floor_statements_alternate_in_rounds(server: int) -> None:
    paths = ["/warm-1", "/warm-2", *(f"/t{i}" for i in range(18)), "/missing"]
    plan = {
        "host": "127.0.0.1",
        "port": server,
        "host_header": "127.0.0.1",
        "database_url": "postgres://unused",
        "floor_runs": 10,
        "scenarios": [
            {
                "name": "s",
                "warm_up": 2,
                "paths": paths,
                "headers": {},
                "floor_sql": "SELECT %s",
                "floor_params": [[i] for i in range(10)],
            }
        ],
    }

    result = load.run(plan)["s"]

    # Every timed request and floor statement counted, the warm-up not.
    assert len(result["samples_ms"]) == 19
    assert result["statuses"] == {"200": 18, "404": 1}
    assert len(result["floor_ms"]) == 10
    # Warm-up first, then the untimed floor pass, then the rounds.
    assert EVENTS[:3] == ["GET /warm-1", "GET /warm-2", "floor untimed x10"]
    timed = EVENTS[3:]
    floors = [i for i, event in enumerate(timed) if event.startswith("floor")]
    assert len(floors) == 10 == load.ROUNDS
    # Each round: some requests, then its floor statement; no two floors in a row.
    assert all(timed[i - 1].startswith("GET") for i in floors)
    assert [e for e in timed if e.startswith("GET")] == [f"GET {p}" for p in paths[2:]]
    assert floors[-1] == len(timed) - 1


def test_rounds_split_everything_in_order() -> None:
    for size in (0, 1, 9, 10, 11, 500):
        items = list(range(size))
        split = load.rounds(items, 10)
        assert len(split) == 10
        assert [x for part in split for x in part] == items
        assert max(map(len, split)) - min(map(len, split)) <= 1
