"""How the `http` adapter tells an unavailable ERP (waited out by the circuit breaker)
from one that refuses the request (counted against the messages)."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from backoffice_sync.adapters.http import HttpAdapter
from backoffice_sync.erp import ErpBadRequest, ErpUnavailable, MessageKind, OutboundMessage

MESSAGE = OutboundMessage("k-1", MessageKind.ORDER_CANCEL, "order:SO-1", {"order_ref": "SO-1", "reason": ""})


class FixedAnswer(BaseHTTPRequestHandler):
    status = 200

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        body = b'{"detail": "answer of the test server"}'
        self.send_response(self.server.status)  # type: ignore[attr-defined]
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        return


@pytest.fixture
def server() -> Iterator[ThreadingHTTPServer]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), FixedAnswer)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


def adapter_for(httpd: ThreadingHTTPServer) -> HttpAdapter:
    host, port = httpd.server_address[:2]
    return HttpAdapter(base_url=f"http://{host!s}:{port}", timeout=2)


@pytest.mark.parametrize("status", [500, 502, 503, 504, 429, 408])
def test_a_5xx_a_429_or_a_408_is_the_erp_being_unavailable(server: Any, status: int) -> None:
    # given
    server.status = status

    # when / then
    with pytest.raises(ErpUnavailable, match=str(status)):
        adapter_for(server).deliver([MESSAGE])


@pytest.mark.parametrize("status", [400, 403, 404, 409, 413, 422])
def test_any_other_4xx_is_a_refusal(server: Any, status: int) -> None:
    # given
    server.status = status

    # when / then
    with pytest.raises(ErpBadRequest, match=str(status)):
        adapter_for(server).deliver([MESSAGE])


def test_a_refused_connection_is_the_erp_being_unavailable() -> None:
    # given: a port nobody listens on
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]

    # when / then
    with pytest.raises(ErpUnavailable, match="unreachable"):
        HttpAdapter(base_url=f"http://127.0.0.1:{port}", timeout=2).deliver([MESSAGE])


def test_a_timeout_is_the_erp_being_unavailable() -> None:
    # given: a server that accepts the connection and never answers
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        port = silent.getsockname()[1]

        # when / then
        with pytest.raises(ErpUnavailable, match="Timeout"):
            HttpAdapter(base_url=f"http://127.0.0.1:{port}", timeout=0.3).deliver([MESSAGE])
