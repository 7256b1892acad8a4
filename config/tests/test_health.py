"""Health probes answer anonymously in JSON; everything else wants a login."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client, override_settings

from config.tests.celery_conf import celery_conf
from frontoffice import broker


def _closed_port() -> int:
    """A local port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def unreachable_broker() -> Iterator[str]:
    url = f"redis://127.0.0.1:{_closed_port()}/0"
    with celery_conf(broker_url=url, broker_write_url=None):
        yield url


def test_healthz_answers_json_without_login(client: Client) -> None:
    # when
    response = client.get("/healthz")

    # then
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"status": "ok"}
    assert "no-cache" in response["Cache-Control"]


@pytest.mark.django_db
def test_readyz_reports_database_and_broker_ready_without_login(client: Client) -> None:
    # given: the configured database and broker (SQLite + folders, or PostgreSQL + Redis)

    # when
    response = client.get("/readyz")

    # then
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "ok"
    assert body["failing"] == []
    assert body["checks"]["database"]["ok"] is True
    assert body["checks"]["broker"]["ok"] is True


@pytest.mark.django_db
def test_readyz_answers_503_naming_an_unreachable_broker_within_seconds(
    client: Client, unreachable_broker: str
) -> None:
    # given: a broker URL pointing at a closed port

    # when
    started = time.monotonic()
    response = client.get("/readyz")
    elapsed = time.monotonic() - started

    # then
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["failing"] == ["broker"]
    assert body["checks"]["broker"]["ok"] is False
    assert body["checks"]["broker"]["error"]
    assert body["checks"]["database"]["ok"] is True
    assert elapsed < 3


@pytest.mark.django_db
def test_readyz_names_a_broker_folder_that_is_not_writable(client: Client, tmp_path: Any) -> None:
    # given: the embedded broker, pointed at a folder that does not exist
    missing = str(tmp_path / "nowhere")
    options = {"data_folder_in": missing, "data_folder_out": missing, "control_folder": missing}

    # when
    with celery_conf(
        broker_url=f"{broker.SCHEME}://", broker_write_url=None, broker_transport_options=options
    ):
        response = client.get("/readyz")

    # then
    assert response.status_code == 503
    assert response.json()["failing"] == ["broker"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "url",
    ["/", "/search/?q=ann", "/customers/", "/customers/new/", "/customers/1/", "/customers/duplicates/"],
)
def test_pages_send_anonymous_visitors_to_the_login_page(client: Client, url: str) -> None:
    # when
    response = client.get(url)

    # then
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=")


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["/api/v1/customers/", "/api/v1/activities/"])
def test_the_api_answers_anonymous_clients_401_not_a_redirect(client: Client, url: str) -> None:
    # when
    response = client.get(url, HTTP_ACCEPT="application/json")

    # then
    assert response.status_code == 401
    assert response["Content-Type"].startswith("application/")
    assert "Location" not in response
    assert response["WWW-Authenticate"] == "Token"


@pytest.mark.django_db
@override_settings(ALLOWED_HOSTS=["crm.example.com"], SECURE_SSL_REDIRECT=True)
@pytest.mark.parametrize("url", ["/healthz", "/readyz"])
def test_probes_answer_an_orchestrator_calling_by_ip_over_plain_http(client: Client, url: str) -> None:
    # given: production host checking and HTTPS redirects; a probe to the container's IP

    # when
    response = client.get(url, HTTP_HOST="10.1.2.3:8000")

    # then
    assert response.status_code == 200
    assert response["X-Request-ID"]


@pytest.mark.django_db
@override_settings(ALLOWED_HOSTS=["crm.example.com"])
def test_other_pages_still_refuse_an_unknown_host(client: Client) -> None:
    # when
    response = client.get("/accounts/login/", HTTP_HOST="10.1.2.3:8000")

    # then
    assert response.status_code == 400
