"""The simulator's webhooks: each new event POSTed to ERP_WEBHOOK_URL, signed.

Signed the Standard Webhooks way (https://www.standardwebhooks.com/): headers
`webhook-id` (the event id, the same on every redelivery), `webhook-timestamp` and
`webhook-signature`, over the body `json.dumps(event.as_json())`. One event per request.

A background thread of `run_erp_simulator` follows the change log from where it was
when the server started, scrambles each batch as the duplicate and reorder knobs say,
and retries a failed delivery a few times before giving up on it: pulling the change
log (`GET /v1/changes`) is the safety net, as it would be with a real ERP.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import threading

import requests
from django.db import close_old_connections, connections
from django.utils import timezone
from standardwebhooks.webhooks import Webhook

from backoffice_sync.erp import ErpEvent
from backoffice_sync.simulator import engine, faults

logger = logging.getLogger(__name__)

BATCH = 100
IDLE_WAKE_SECONDS = 2.0


def signed_request(
    event: ErpEvent, *, secret: str, at: dt.datetime | None = None
) -> tuple[dict[str, str], bytes]:
    """The headers and body of the webhook request carrying this event."""
    body = json.dumps(event.as_json(), separators=(",", ":"))
    at = (at or timezone.now()).astimezone(dt.UTC)
    return (
        {
            "Content-Type": "application/json",
            "webhook-id": event.id,
            "webhook-timestamp": str(int(at.timestamp())),
            "webhook-signature": Webhook(secret).sign(event.id, at, body),
        },
        body.encode(),
    )


class WebhookSender(threading.Thread):
    """Sends the change log's new events as webhooks until `stop()`."""

    def __init__(
        self,
        *,
        url: str,
        secret: str,
        timeout: float,
        after_seq: int,
        attempts: int = 4,
        backoff_seconds: float = 0.5,
    ) -> None:
        super().__init__(name="erp-webhooks", daemon=True)
        self.url = url
        self.secret = secret
        self.timeout = timeout
        self.cursor = after_seq
        self.attempts = attempts
        self.backoff_seconds = backoff_seconds
        self.session = requests.Session()
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self.sent = 0
        self.failed = 0

    def notify(self) -> None:
        """New events may be there: look now rather than at the next idle wake-up."""
        self._wake.set()

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()

    def run(self) -> None:
        try:
            while not self._stopping.is_set():
                self._wake.wait(IDLE_WAKE_SECONDS)
                self._wake.clear()
                try:
                    self.drain()
                except Exception:
                    # The database may be briefly unavailable; the next wake-up tries again.
                    logger.exception("ERP simulator: webhook sender could not read the change log")
                finally:
                    close_old_connections()
        finally:
            connections.close_all()

    def drain(self) -> None:
        """Send every event after the cursor, one request each."""
        while not self._stopping.is_set():
            batch = engine.events_after(seq=self.cursor, limit=BATCH)
            if not batch:
                return
            for event in faults.scramble([event for _, event in batch], seed=engine.current_seed()):
                if self._stopping.is_set():
                    return
                self.send(event)
            self.cursor = batch[-1][0]

    def send(self, event: ErpEvent) -> bool:
        """POST one event; retry connection errors and 5xx with backoff; False when given up."""
        for attempt in range(self.attempts):
            headers, body = signed_request(event, secret=self.secret)
            try:
                response = self.session.post(self.url, data=body, headers=headers, timeout=self.timeout)
            except requests.RequestException as exc:
                problem = f"{exc.__class__.__name__}: {exc}"
            else:
                if response.status_code < 300:
                    self.sent += 1
                    return True
                if response.status_code < 500:
                    problem = f"refused with {response.status_code}"
                    break
                problem = f"answered {response.status_code}"
            if self._stopping.wait(self.backoff_seconds * 2**attempt):
                break
        self.failed += 1
        logger.warning(
            "ERP simulator: webhook %s not delivered (%s); pulling will find it", event.id, problem
        )
        return False
