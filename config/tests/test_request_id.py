"""Every request gets an id: returned as X-Request-ID, logged once, and carried into Celery."""

from __future__ import annotations

import logging
import re
import uuid
from typing import Any

import pytest
from django.conf import settings
from django.test import Client

from config.celery import app as celery_app
from config.tests.celery_conf import celery_conf
from frontoffice.request_context import current_request_id, reset_request_id, set_request_id
from frontoffice.tasks import echo_request_id

NEW_ID = re.compile(r"[0-9a-f]{32}")


@pytest.fixture
def access_log(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.INFO, logger="frontoffice.requests")
    return caplog


def _access_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [record for record in caplog.records if record.name == "frontoffice.requests"]


def test_each_response_carries_a_fresh_request_id(client: Client) -> None:
    # when
    first = client.get("/healthz")
    second = client.get("/healthz")

    # then
    assert NEW_ID.fullmatch(first["X-Request-ID"])
    assert NEW_ID.fullmatch(second["X-Request-ID"])
    assert first["X-Request-ID"] != second["X-Request-ID"]


def test_a_sane_incoming_request_id_is_honoured(client: Client) -> None:
    # given
    incoming = "edge-4f2a.9c_01"

    # when
    response = client.get("/healthz", HTTP_X_REQUEST_ID=incoming)

    # then
    assert response["X-Request-ID"] == incoming


@pytest.mark.parametrize(
    "incoming",
    [
        "a" * 65,
        "short",
        "has spaces in it",
        "../../etc/passwd",
        "line\nbreak-injected",
        "<script>alert(1)</script>",
        "ünïcode-identifier",
    ],
    ids=["too-long", "too-short", "spaces", "slashes", "newline", "markup", "non-ascii"],
)
def test_an_insane_incoming_request_id_is_replaced(client: Client, incoming: str) -> None:
    # when
    response = client.get("/healthz", HTTP_X_REQUEST_ID=incoming)

    # then
    assert response["X-Request-ID"] != incoming
    assert NEW_ID.fullmatch(response["X-Request-ID"])


@pytest.mark.django_db
def test_one_access_log_line_names_id_user_method_path_status_and_duration(
    client: Client, sales_rep: Any, access_log: pytest.LogCaptureFixture
) -> None:
    # given
    client.force_login(sales_rep)
    access_log.clear()

    # when
    response = client.get("/accounts/login/", HTTP_X_REQUEST_ID="trace-0001-abcd")

    # then
    [record] = _access_records(access_log)
    assert record.request_id == "trace-0001-abcd"
    assert (record.method, record.path, record.status, record.user) == ("GET", "/accounts/login/", 200, "rep")
    assert record.duration_ms >= 0
    assert re.fullmatch(r"GET /accounts/login/ 200 user=rep duration_ms=\d+\.\d", record.getMessage())
    line = logging.Formatter(settings.LOGGING["formatters"]["line"]["format"]).format(record)
    assert "[trace-0001-abcd] GET /accounts/login/ 200 user=rep" in line
    assert response["X-Request-ID"] == "trace-0001-abcd"


def test_anonymous_requests_and_errors_are_logged_too(
    client: Client, access_log: pytest.LogCaptureFixture
) -> None:
    # when
    client.get("/healthz")
    client.post("/healthz", data={})

    # then
    records = _access_records(access_log)
    assert [(r.method, r.status, r.user) for r in records] == [("GET", 200, "-"), ("POST", 200, "-")]
    assert records[0].request_id != records[1].request_id


@pytest.mark.django_db
def test_a_token_client_is_logged_by_username(
    api_as: Any, sales_rep: Any, access_log: pytest.LogCaptureFixture
) -> None:
    # given
    api = api_as(sales_rep)
    access_log.clear()

    # when
    api.get("/api/v1/customers/")

    # then
    [record] = _access_records(access_log)
    assert (record.user, record.status, record.path) == ("rep", 200, "/api/v1/customers/")


@pytest.mark.django_db
def test_a_decoded_newline_in_the_path_cannot_forge_a_log_line(
    client: Client, sales_rep: Any, access_log: pytest.LogCaptureFixture
) -> None:
    # given
    client.force_login(sales_rep)
    access_log.clear()

    # when
    client.get("/nothing%0A2026-01-01 INFO frontoffice.requests GET / 200 user=boss")

    # then
    [record] = _access_records(access_log)
    assert "\n" not in record.getMessage()
    assert record.status == 404


@pytest.mark.urls("config.tests.urls_probe")
def test_an_eager_task_started_by_a_request_runs_under_its_id_and_leaves_it_intact(
    client: Client,
) -> None:
    # given: Celery in eager mode (the test settings)
    assert celery_app.conf.task_always_eager

    # when
    response = client.get("/probe/start-task", HTTP_X_REQUEST_ID="trace-eager-0042")

    # then
    body = response.json()
    assert body["task"] == {"marker": "from-a-request", "request_id": "trace-eager-0042"}
    assert body["request_id_after_task"] == "trace-eager-0042"
    assert response["X-Request-ID"] == "trace-eager-0042"
    assert current_request_id() is None


def test_a_task_adopts_the_id_in_its_message_headers_then_gives_the_previous_one_back() -> None:
    # given
    token = set_request_id("outer-request-1")
    try:
        # when
        seen = echo_request_id.apply(args=["x"], headers={"request_id": "from-header-77"}).get()
        after = current_request_id()
    finally:
        reset_request_id(token)

    # then
    assert seen["request_id"] == "from-header-77"
    assert after == "outer-request-1"


def test_a_task_ignores_an_insane_id_in_its_headers() -> None:
    # when
    seen = echo_request_id.apply(args=["x"], headers={"request_id": "bad id\nforged"}).get()

    # then
    assert seen["request_id"] is None
    assert current_request_id() is None


def _published_headers(queue: str) -> dict[str, Any]:
    with celery_app.connection_for_read() as conn:
        simple = conn.SimpleQueue(queue)
        try:
            message = simple.get(timeout=5)
            message.ack()
            return dict(message.headers)
        finally:
            simple.close()


def test_publishing_puts_the_current_request_id_into_the_message_headers() -> None:
    # given: a real (in-memory) broker instead of eager execution
    queue = f"test-{uuid.uuid4().hex}"
    with celery_conf(task_always_eager=False, broker_url="memory://", broker_transport_options={}):
        token = set_request_id("trace-publish-9")
        try:
            # when
            echo_request_id.apply_async(args=["with-id"], queue=queue)
        finally:
            reset_request_id(token)
        echo_request_id.apply_async(args=["without-id"], queue=queue)

        # then
        with_id = _published_headers(queue)
        without_id = _published_headers(queue)

    assert with_id["request_id"] == "trace-publish-9"
    assert "request_id" not in without_id
