"""The generic API contract over every resource of the v1 router, derived from the apps'
hooks: a resource added to an app's `api_routes` is covered without a line here.

Per resource, for each of its routes and methods: no credentials is a 401 that says how
to authenticate; an unknown row is a problem+json 404; a write whose body is not a JSON
object is a 400 and a form body a 415, both problem+json and writing nothing; an unknown
query parameter on a read is a 400 naming it. The resources' own contract classes
(tests/api_contract.py mixins in each app's tests) add rows, rights and versions.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.apps import apps
from rest_framework.permissions import AllowAny
from rest_framework.test import APIClient

from config.api_router import router
from frontoffice.viewsets import ServiceViewSet
from tests.api_contract import NON_OBJECT_BODIES, assert_problem, send_json, snapshot
from tests.fixtures import client_for

pytestmark = pytest.mark.django_db

MISSING_ID = "999999999"


def _routes(viewset: type) -> list[tuple[str, str, bool]]:
    """(url, method, detail) of every route the router gives the viewset."""
    prefix = next(p for p, v, _ in router.registry if v is viewset)
    found = []
    for route in router.get_routes(viewset):
        mapping = router.get_method_map(viewset, route.mapping)
        if issubclass(viewset, ServiceViewSet):
            mapping = {m: name for m, name in mapping.items() if viewset.offers(name)}
        url = route.url.format(prefix=prefix, lookup=MISSING_ID, trailing_slash="/")
        url = "/api/v1/" + url.lstrip("^").rstrip("$")
        url = re.sub(r"\(\?P<[^>]+>[^)]*\)", MISSING_ID, url)
        found.extend((url, method.upper(), route.detail) for method in mapping)
        for name in mapping.values():
            # The action's own parsers, else the viewset's (an upload-only resource).
            parsers = getattr(getattr(viewset, name, None), "kwargs", {}).get("parser_classes") or getattr(
                viewset, "parser_classes", None
            )
            if parsers and not any("json" in p.media_type for p in parsers):
                FILES_ONLY.add(url)
    return found


FILES_ONLY: set[str] = set()


RESOURCES = {basename: viewset for _, viewset, basename in router.registry}
ROUTES = [
    pytest.param(basename, url, method, detail, id=f"{basename}-{method}-{url}")
    for basename, viewset in RESOURCES.items()
    for url, method, detail in _routes(viewset)
]
# A resource that is not behind our authentication, and what stands in for it.
OPEN = {basename for basename, v in RESOURCES.items() if AllowAny in getattr(v, "permission_classes", [])}


def _every_table() -> tuple[Any, ...]:
    return tuple(
        m
        for m in apps.get_models()
        if m._meta.app_label in ("customers", "sales", "service", "backoffice_sync")
    )


def _client(user: Any, url: str) -> APIClient:
    if url == "/api/v1/auth/tokens/":  # tokens are made from a signed-in session only
        client = APIClient()
        client.force_login(user)
        return client
    return client_for(user)


def _takes_files(basename: str, url: str) -> bool:
    """A route whose action parses uploads (multipart) only, not JSON."""
    return url in FILES_ONLY


def test_the_router_serves_every_route_the_hooks_declare() -> None:
    from frontoffice import plugin

    assert [(r.prefix, r.viewset, r.basename) for r in plugin.api_routes()] == list(router.registry)
    assert len(ROUTES) > len(RESOURCES)


@pytest.mark.parametrize(("basename", "url", "method", "detail"), ROUTES)
def test_every_route_needs_credentials(basename: str, url: str, method: str, detail: bool) -> None:
    # given
    before = snapshot(*_every_table())
    # when
    response = send_json(APIClient(), method, url, {}) if method != "GET" else APIClient().get(url)
    # then: refused, with problem+json; and the client is told how to authenticate
    if basename in OPEN:
        assert response.status_code in (400, 401, 403), (response.status_code, response.content[:300])
        assert response["Content-Type"] == "application/problem+json"
    else:
        assert_problem(response, 401)
        assert response["WWW-Authenticate"] == "Token"
    assert snapshot(*_every_table()) == before


@pytest.mark.parametrize(
    ("basename", "url", "method", "detail"),
    [p for p in ROUTES if p.values[3] and p.values[0] not in OPEN],
)
def test_every_detail_route_answers_an_unknown_row_with_a_problem_404(
    admin_user: Any, basename: str, url: str, method: str, detail: bool
) -> None:
    client = client_for(admin_user)
    response = client.get(url) if method == "GET" else send_json(client, method, url, {}, HTTP_IF_MATCH="*")
    assert_problem(response, 404)


@pytest.mark.parametrize(
    ("basename", "url", "method", "detail"),
    [
        p
        for p in ROUTES
        if p.values[2] in ("POST", "PUT", "PATCH") and not p.values[3] and p.values[0] not in OPEN
    ],
)
def test_every_write_refuses_a_body_that_is_not_a_json_object(
    admin_user: Any, basename: str, url: str, method: str, detail: bool
) -> None:
    # given
    client = _client(admin_user, url)
    before = snapshot(*_every_table())
    # when / then (an upload takes no JSON at all)
    for body in NON_OBJECT_BODIES:
        assert_problem(send_json(client, method, url, body), 415 if _takes_files(basename, url) else 400)
    form = client.generic(method, url, "a=1", "application/x-www-form-urlencoded")
    assert_problem(form, 415)
    assert snapshot(*_every_table()) == before


@pytest.mark.parametrize(
    ("basename", "url", "method", "detail"),
    [p for p in ROUTES if p.values[2] == "GET" and p.values[0] not in OPEN],
)
def test_every_read_refuses_an_unknown_query_parameter(
    admin_user: Any, basename: str, url: str, method: str, detail: bool
) -> None:
    assert_problem(client_for(admin_user).get(url, {"no_such_parameter": "1"}), 400, "no_such_parameter")
