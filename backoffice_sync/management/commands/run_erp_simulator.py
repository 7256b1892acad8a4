"""Serve the ERP simulator over HTTP (placeholder: a health endpoint only).

docker-compose.yml runs this as the `erp` service. The full simulator (stock, lead
times, shipping, invoicing, payments and fault knobs, spoken to by the `http` ERP
adapter) comes with the back-office sync issue.
"""

from __future__ import annotations

import json
import signal
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser


class PlaceholderHandler(BaseHTTPRequestHandler):
    server_version = "FrontofficeERPSimulator/0"

    def do_GET(self) -> None:
        if self.path.split("?", 1)[0] in ("/healthz", "/healthz/"):
            self._json(HTTPStatus.OK, {"status": "ok", "simulator": "placeholder"})
        else:
            self._json(
                HTTPStatus.NOT_FOUND,
                {"detail": "Not implemented: the ERP simulator comes with the back-office sync issue."},
            )

    def _json(self, status: HTTPStatus, body: dict[str, Any]) -> None:
        payload = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:
        # Health probes every few seconds would drown the container log.
        return


def make_server(host: str, port: int) -> ThreadingHTTPServer:
    return ThreadingHTTPServer((host, port), PlaceholderHandler)


class Command(BaseCommand):
    help = (
        "Serve the ERP simulator over HTTP. For now a placeholder that answers GET /healthz "
        "with JSON; the full simulator comes with the back-office sync issue."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1", help="Default 127.0.0.1 (0.0.0.0 in a container).")
        parser.add_argument("--port", type=int, default=8765, help="Default 8765.")

    def handle(self, *args: Any, host: str, port: int, **options: Any) -> None:
        if not 1 <= port <= 65535:
            raise CommandError("--port must be between 1 and 65535.")
        try:
            server = make_server(host, port)
        except OSError as exc:
            raise CommandError(f"Cannot listen on {host}:{port}: {exc}") from None
        self.stdout.write(f"ERP simulator placeholder on http://{host}:{port}/healthz (Ctrl-C stops it)")
        # `docker stop` sends SIGTERM: leave the serving loop as Ctrl-C does.
        signal.signal(signal.SIGTERM, _stop)
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            server.server_close()


def _stop(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt
