"""Serve the ERP simulator as JSON over HTTP (what the `http` ERP adapter talks to).

docker-compose.yml runs this as the `erp` service. Routes:

    GET  /healthz                         {"status": "ok", "simulator": "erp", "now"}
    POST /v1/messages   {"messages": [{"idempotency_key", "kind", "aggregate", "payload"}]}
                        -> {"results": [{"idempotency_key", "status", "error", "data"}]}
    GET  /v1/changes?cursor=&limit=       -> {"events": [ErpEvent.as_json()], "cursor", "has_more"}
    GET  /v1/stock?sku=A&sku=B            -> {"stock": [{"sku", "warehouse", "on_hand", "reserved",
                                                         "incoming": [{"quantity", "expected_on"}], "version"}]}
    GET  /v1/products                     -> {"products": [{"sku", "name", "unit_price", "currency",
                                                            "lead_time_days", "active", "version"}]}
    GET  /v1/daily-totals?since=&until=   -> {"days": [{"day", "orders", "invoiced": {currency: amount}}]}
    POST /v1/tick       {"hours": n}      -> {"now", "events"}
    GET  /v1/clock                        -> {"now"}
    GET  /v1/faults                       -> {"latency_ms", "error_rate", "outage", "duplicate_rate", "reorder_rate"}
    PUT  /v1/faults     {some knobs}      -> all knobs
    POST /v1/reset      {"seed"|null, "start"|null} -> {"now"}   (a fresh ERP: tests and demos)

Errors are JSON `{"detail": ...}`: 400 for a malformed request, 404/405 for a wrong
route or method, 503 when the ERP is "unavailable" (the outage and error-rate knobs).

After a delivery or a tick, new events go to ERP_WEBHOOK_URL (when set) from a
background thread (`simulator/webhooks.py`). With `--tick-seconds S` the clock moves by
`--hours-per-tick H` every S seconds of real time.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import signal
import threading
from collections.abc import Callable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import close_old_connections, connections

from backoffice_sync.adapters import wire
from backoffice_sync.erp import ErpBadRequest, ErpUnavailable
from backoffice_sync.simulator import engine, faults
from backoffice_sync.simulator.webhooks import WebhookSender

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 10 * 1024 * 1024


class BadRequest(Exception):
    """The request is malformed: answered 400 with this text."""


class HttpError(Exception):
    def __init__(self, status: HTTPStatus, detail: str) -> None:
        super().__init__(detail)
        self.status = status


class SimulatorServer(ThreadingHTTPServer):
    daemon_threads = True
    sender: WebhookSender | None = None

    def new_events(self) -> None:
        if self.sender is not None:
            self.sender.notify()


class SimulatorHandler(BaseHTTPRequestHandler):
    server_version = "FrontofficeERPSimulator/1"
    server: SimulatorServer

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_PUT(self) -> None:
        self._handle("PUT")

    def do_DELETE(self) -> None:
        self._handle("DELETE")

    def _handle(self, method: str) -> None:
        parts = urlsplit(self.path)
        path = parts.path.rstrip("/") or "/"
        query = parse_qs(parts.query, keep_blank_values=True)
        close_old_connections()
        try:
            routes = ROUTES.get(path)
            if routes is None:
                raise HttpError(HTTPStatus.NOT_FOUND, f"no route {path}")
            view = routes.get(method)
            if view is None:
                raise HttpError(HTTPStatus.METHOD_NOT_ALLOWED, f"{method} not allowed on {path}")
            body = self._body() if method in ("POST", "PUT") else None
            status, answer = view(self, query, body)
        except HttpError as exc:
            status, answer = exc.status, {"detail": str(exc)}
        except (BadRequest, ErpBadRequest) as exc:
            status, answer = HTTPStatus.BAD_REQUEST, {"detail": str(exc)}
        except ErpUnavailable as exc:
            # An "answer lost" failure may follow applied work: tell the webhook sender anyway.
            self.server.new_events()
            status, answer = HTTPStatus.SERVICE_UNAVAILABLE, {"detail": str(exc)}
        except Exception:
            logger.exception("ERP simulator: %s %s failed", method, path)
            status, answer = (
                HTTPStatus.INTERNAL_SERVER_ERROR,
                {"detail": "internal error (see the simulator's log)"},
            )
        finally:
            # Each request runs in its own thread: its database connection dies with it.
            connections.close_all()
        self._json(status, answer)

    def _body(self) -> Any:
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            raise BadRequest("Content-Length must be an integer") from None
        if length > MAX_BODY_BYTES:
            raise HttpError(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, f"body above {MAX_BODY_BYTES} bytes")
        raw = self.rfile.read(length) if length > 0 else b""
        try:
            return json.loads(raw or b"null")
        except (UnicodeDecodeError, ValueError) as exc:
            raise BadRequest(f"body is not JSON: {exc}") from None

    def _json(self, status: HTTPStatus, body: Any) -> None:
        payload = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:
        # Health probes every few seconds would drown the container log; errors are logged above.
        return


Answer = tuple[HTTPStatus, Any]
View = Callable[[SimulatorHandler, dict[str, list[str]], Any], Answer]


def _object(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise BadRequest("body must be a JSON object")
    return body


def _health(handler: SimulatorHandler, query: dict[str, list[str]], body: Any) -> Answer:
    return HTTPStatus.OK, {"status": "ok", "simulator": "erp", "now": engine.now().isoformat()}


def _messages(handler: SimulatorHandler, query: dict[str, list[str]], body: Any) -> Answer:
    raw = _object(body).get("messages")
    if not isinstance(raw, list):
        raise BadRequest("messages must be a list")
    try:
        messages = [wire.message_from_json(item) for item in raw]
    except (KeyError, TypeError, ValueError) as exc:
        raise BadRequest(f"malformed message: {exc!r}") from None
    results = engine.deliver(messages)
    handler.server.new_events()
    return HTTPStatus.OK, {"results": [wire.result_to_json(result) for result in results]}


def _changes(handler: SimulatorHandler, query: dict[str, list[str]], body: Any) -> Answer:
    cursor = query.get("cursor", [""])[-1]
    raw_limit = query.get("limit", ["500"])[-1]
    if not raw_limit.isdigit():
        raise BadRequest("limit must be an integer")
    batch = engine.pull_changes(cursor=cursor or None, limit=int(raw_limit))
    return HTTPStatus.OK, wire.changes_to_json(batch)


def _stock(handler: SimulatorHandler, query: dict[str, list[str]], body: Any) -> Answer:
    return HTTPStatus.OK, {
        "stock": [wire.stock_to_json(level) for level in engine.stock(query.get("sku", []))]
    }


def _products(handler: SimulatorHandler, query: dict[str, list[str]], body: Any) -> Answer:
    return HTTPStatus.OK, {
        "products": [wire.product_to_json(product) for product in engine.catalogue_products()]
    }


def _daily_totals(handler: SimulatorHandler, query: dict[str, list[str]], body: Any) -> Answer:
    try:
        since = dt.date.fromisoformat(query.get("since", [""])[-1])
        until = dt.date.fromisoformat(query.get("until", [""])[-1])
    except ValueError:
        raise BadRequest("since and until must be ISO dates") from None
    days = engine.daily_totals(since=since, until=until)
    return HTTPStatus.OK, {"days": [wire.daily_totals_to_json(day) for day in days]}


def _tick(handler: SimulatorHandler, query: dict[str, list[str]], body: Any) -> Answer:
    try:
        result = engine.tick(hours=_object(body).get("hours"))  # type: ignore[arg-type]  # checked there
    except ValueError as exc:
        raise BadRequest(str(exc)) from None
    handler.server.new_events()
    return HTTPStatus.OK, {"now": result.now.isoformat(), "events": result.events}


def _clock(handler: SimulatorHandler, query: dict[str, list[str]], body: Any) -> Answer:
    return HTTPStatus.OK, {"now": engine.now().isoformat()}


def _faults_get(handler: SimulatorHandler, query: dict[str, list[str]], body: Any) -> Answer:
    return HTTPStatus.OK, faults.current().as_json()


def _faults_put(handler: SimulatorHandler, query: dict[str, list[str]], body: Any) -> Answer:
    try:
        return HTTPStatus.OK, faults.set(**_object(body)).as_json()
    except ValueError as exc:
        raise BadRequest(str(exc)) from None


def _reset(handler: SimulatorHandler, query: dict[str, list[str]], body: Any) -> Answer:
    body = _object(body or {})
    seed, start = body.get("seed"), body.get("start")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
        raise BadRequest("seed must be an integer or null")
    try:
        start_at = dt.datetime.fromisoformat(start) if start is not None else None
        engine.reset(seed=seed, start=start_at)
    except (TypeError, ValueError) as exc:
        raise BadRequest(f"start must be an ISO date-time with a time zone, or null ({exc})") from None
    if handler.server.sender is not None:
        handler.server.sender.cursor = engine.last_seq()
    return HTTPStatus.OK, {"now": engine.now().isoformat()}


ROUTES: dict[str, dict[str, View]] = {
    "/healthz": {"GET": _health},
    "/v1/messages": {"POST": _messages},
    "/v1/changes": {"GET": _changes},
    "/v1/stock": {"GET": _stock},
    "/v1/products": {"GET": _products},
    "/v1/daily-totals": {"GET": _daily_totals},
    "/v1/tick": {"POST": _tick},
    "/v1/clock": {"GET": _clock},
    "/v1/faults": {"GET": _faults_get, "PUT": _faults_put},
    "/v1/reset": {"POST": _reset},
}


def make_server(host: str, port: int) -> SimulatorServer:
    return SimulatorServer((host, port), SimulatorHandler)


class Ticker(threading.Thread):
    """Moves the simulator's clock by `hours` every `seconds` of real time."""

    def __init__(self, *, seconds: float, hours: float, server: SimulatorServer) -> None:
        super().__init__(name="erp-ticker", daemon=True)
        self.seconds, self.hours, self.server = seconds, hours, server
        self._stopping = threading.Event()

    def stop(self) -> None:
        self._stopping.set()

    def run(self) -> None:
        while not self._stopping.wait(self.seconds):
            try:
                engine.tick(hours=self.hours)
                self.server.new_events()
            except Exception:
                logger.exception("ERP simulator: tick failed; trying again at the next one")
            finally:
                connections.close_all()


class Command(BaseCommand):
    help = "Serve the ERP simulator as JSON over HTTP (see the module docstring for the routes)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1", help="Default 127.0.0.1 (0.0.0.0 in a container).")
        parser.add_argument("--port", type=int, default=8765, help="Default 8765.")
        parser.add_argument(
            "--tick-seconds",
            type=float,
            default=0.0,
            help="Advance the clock every S seconds (default 0: never).",
        )
        parser.add_argument(
            "--hours-per-tick", type=float, default=1.0, help="Hours per automatic tick (default 1)."
        )

    def handle(
        self, *args: Any, host: str, port: int, tick_seconds: float, hours_per_tick: float, **options: Any
    ) -> None:
        if not 1 <= port <= 65535:
            raise CommandError("--port must be between 1 and 65535.")
        if tick_seconds < 0 or (tick_seconds and not 0 < hours_per_tick <= engine.MAX_TICK_HOURS):
            raise CommandError(
                f"--tick-seconds must be >= 0 and --hours-per-tick in (0, {engine.MAX_TICK_HOURS}]."
            )
        try:
            server = make_server(host, port)
        except OSError as exc:
            raise CommandError(f"Cannot listen on {host}:{port}: {exc}") from None
        now, knobs = start_simulator()
        threads: list[WebhookSender | Ticker] = []
        if settings.ERP_WEBHOOK_URL:
            server.sender = WebhookSender(
                url=settings.ERP_WEBHOOK_URL,
                secret=settings.ERP_WEBHOOK_SECRET,
                timeout=settings.ERP_TIMEOUT_SECONDS,
                after_seq=engine.last_seq(),
            )
            threads.append(server.sender)
        if tick_seconds:
            threads.append(Ticker(seconds=tick_seconds, hours=hours_per_tick, server=server))
        connections.close_all()
        for thread in threads:
            thread.start()
        self.stdout.write(
            f"ERP simulator on http://{host}:{port}/ (clock {now:%Y-%m-%d %H:%M} UTC, "
            f"webhooks {'to ' + settings.ERP_WEBHOOK_URL if server.sender else 'off'}; "
            f"faults {_describe(knobs)}; Ctrl-C stops it)"
        )
        self.stdout.flush()
        # `docker stop` sends SIGTERM: leave the serving loop as Ctrl-C does.
        signal.signal(signal.SIGTERM, _stop)
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            for thread in threads:
                thread.stop()
            for thread in threads:
                thread.join(timeout=5)
            server.server_close()
            self.stdout.write("ERP simulator stopped.")


def start_simulator() -> tuple[dt.datetime, faults.Faults]:
    """Start the simulator (on first use, before any request races to) and set its fault
    knobs to what the ERP_FAULT_* settings say, whatever a previous run (or the admin)
    left in its row: the environment is what an operator starting it means."""
    now = engine.now()
    return now, faults.restore_settings()


def _describe(knobs: faults.Faults) -> str:
    changed = {knob: value for knob, value in knobs.as_json().items() if value}
    return ", ".join(f"{knob}={value}" for knob, value in changed.items()) or "none"


def _stop(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt
