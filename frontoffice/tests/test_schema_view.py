"""/api/schema/ is built once, served from memory with an ETag, and survives a crowd at start-up."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings
from django.test import override_settings
from rest_framework.test import APIClient

from frontoffice.schema_view import SchemaView

BASE_DIR = Path(settings.BASE_DIR)
JSON = "application/vnd.oai.openapi+json"

_CROWD = textwrap.dedent(
    """
    import threading, django
    django.setup()
    from django.test import Client

    statuses = []
    start = threading.Barrier(8)

    def fetch():
        client = Client(raise_request_exception=False)  # a 500 is an answer, as a server gives it
        start.wait()
        statuses.append(client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").status_code)

    threads = [threading.Thread(target=fetch) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    print("statuses", sorted(statuses))
    """
)


@pytest.fixture
def fresh_schema() -> Iterator[None]:
    SchemaView.forget()
    yield
    SchemaView.forget()


def test_eight_concurrent_first_requests_after_a_start_all_get_the_schema(tmp_path: Path) -> None:
    # given: a process that has never built the schema, as a threaded worker just started
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "VAR_DIR": str(tmp_path / "var"),
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DEBUG": "1",
        "ALLOWED_HOSTS": "testserver",
    }

    # when: eight threads ask for it at the same moment
    done = subprocess.run(  # noqa: S603 - fixed argv, our own interpreter
        [sys.executable, "-c", _CROWD],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )

    # then
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "statuses " + str([200] * 8), done.stderr[-3000:]


def test_the_schema_is_built_once_and_then_served_from_memory(
    fresh_schema: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given
    builds = []
    generate = SchemaView._load_or_generate

    def counting(view: SchemaView, request: object) -> dict:
        builds.append(1)
        return generate(view, request)

    monkeypatch.setattr(SchemaView, "_load_or_generate", counting)

    # when
    first = APIClient().get("/api/schema/", HTTP_ACCEPT=JSON)
    second = APIClient().get("/api/schema/", HTTP_ACCEPT=JSON)
    as_yaml = APIClient().get("/api/schema/")

    # then
    assert first.status_code == second.status_code == as_yaml.status_code == 200
    assert len(builds) == 1
    assert first.content == second.content
    assert first["Content-Type"] == JSON
    assert as_yaml["Content-Type"] == "application/vnd.oai.openapi; charset=utf-8"
    assert as_yaml.content.startswith(b"openapi: 3")
    assert first["ETag"] == second["ETag"] != as_yaml["ETag"]


def test_a_client_holding_the_current_etag_gets_304_without_a_body(fresh_schema: None) -> None:
    # given
    etag = APIClient().get("/api/schema/", HTTP_ACCEPT=JSON)["ETag"]

    # when
    unchanged = APIClient().get("/api/schema/", HTTP_ACCEPT=JSON, HTTP_IF_NONE_MATCH=etag)
    stale = APIClient().get("/api/schema/", HTTP_ACCEPT=JSON, HTTP_IF_NONE_MATCH='"something-older"')

    # then
    assert unchanged.status_code == 304
    assert unchanged.content == b""
    assert unchanged["ETag"] == etag
    assert stale.status_code == 200


def test_a_schema_file_written_at_build_time_is_served_instead_of_building_one(
    fresh_schema: None, tmp_path: Path
) -> None:
    # given
    document = {"openapi": "3.0.3", "info": {"title": "Built at deploy", "version": "1"}, "paths": {}}
    schema_file = tmp_path / "openapi.json"
    schema_file.write_text(json.dumps(document))

    # when
    with override_settings(API_SCHEMA_FILE=str(schema_file)):
        response = APIClient().get("/api/schema/", HTTP_ACCEPT=JSON)

    # then
    assert response.status_code == 200
    assert response.json() == document
