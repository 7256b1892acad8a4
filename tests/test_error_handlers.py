"""Errors Django answers itself, before or outside any view (a Host header this server
does not answer to, a crash in a middleware): problem JSON under /api/, as every other
API error; the site's own pages elsewhere. Found by schemathesis, which once sent a
generated `host` header to the quote API and got an HTML 400."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client, RequestFactory

from frontoffice import errors

pytestmark = pytest.mark.django_db

HTTPS = {"HTTP_X_FORWARDED_PROTO": "https"}


@pytest.mark.parametrize("path", ["/api/v1/customers/", "/api/v1/sales/quotes/7/send/"])
def test_an_api_request_with_a_host_header_this_server_does_not_answer_to_gets_problem_json(
    path: str, settings: Any
) -> None:
    # given: the deployed settings (DEBUG off: Django's own error handlers answer)
    settings.DEBUG = False
    settings.ALLOWED_HOSTS = ["crm.example.com"]
    client = Client(raise_request_exception=False)
    # when
    response = client.post(path, HTTP_HOST="evil.example", **HTTPS)
    # then: a 400 an API client can read, which does not echo the refused host
    assert response.status_code == 400
    assert response["Content-Type"] == errors.PROBLEM_CONTENT_TYPE
    body = json.loads(response.content)
    assert body["status"] == 400
    assert body["type"].endswith("/bad_request")
    assert set(body) == {"type", "title", "status", "detail", "errors"}
    assert "evil.example" not in response.content.decode()


def test_a_page_request_with_a_host_header_this_server_does_not_answer_to_gets_the_html_page(
    settings: Any,
) -> None:
    settings.DEBUG = False
    settings.ALLOWED_HOSTS = ["crm.example.com"]
    response = Client(raise_request_exception=False).get("/customers/", HTTP_HOST="evil.example", **HTTPS)
    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/html")


@pytest.mark.parametrize(
    ("handler", "status", "code"),
    [
        (errors.bad_request, 400, "bad_request"),
        (errors.permission_denied, 403, "permission_denied"),
        (errors.page_not_found, 404, "not_found"),
        (errors.server_error, 500, "server_error"),
    ],
)
def test_each_of_djangos_error_answers_is_problem_json_under_api_and_a_page_elsewhere(
    handler: Any, status: int, code: str
) -> None:
    factory = RequestFactory()
    extra = {} if status == 500 else {"exception": Exception("why")}
    # when
    api = handler(factory.get("/api/v1/anything/"), **extra)
    page = handler(factory.get("/customers/"), **extra)
    # then
    assert (api.status_code, page.status_code) == (status, status)
    assert api["Content-Type"] == errors.PROBLEM_CONTENT_TYPE
    assert json.loads(api.content)["type"].endswith(f"/{code}")
    assert page["Content-Type"].startswith("text/html")
