"""Every page carries a Content-Security-Policy that allows no inline script or style,
and no page needs one: no inline <script>, no on…= handler, no style= attribute."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from customers import services as customer_services
from sales.tests.quote_setup import a_catalogue, a_quote, an_opportunity
from tests.fixtures import Role, make_user

pytestmark = pytest.mark.django_db

# Pages that are not ours to style (the admin), answer something other than a page, or
# need a POST: left out of the walk over every parameterless URL.
SKIPPED = re.compile(
    r"^/(admin/|api/v1/|api/schema/|accounts/logout/|healthz|readyz|sales/leads/import/template|sales/quotes/new/$|service/cases/new/$|marketing/segments/preview/$|marketing/bulk/export\.csv$|sync/reconcile/$)"
)
INLINE_SCRIPT = re.compile(r"<script\b(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE)
EVENT_HANDLER = re.compile(r"<[^>]+\son[a-z]+\s*=", re.IGNORECASE)
STYLE_ATTRIBUTE = re.compile(r"<[^>]+\sstyle\s*=", re.IGNORECASE)


def _paths(resolver: URLResolver, prefix: str = "") -> Iterator[str]:
    for entry in resolver.url_patterns:
        route = str(entry.pattern)
        if isinstance(entry, URLResolver):
            yield from _paths(entry, prefix + route)
        elif isinstance(entry, URLPattern) and "<" not in route and not route.startswith("^"):
            yield "/" + prefix + route


def _directives(header: str) -> dict[str, list[str]]:
    return {part.split()[0]: part.split()[1:] for part in header.split(";") if part.strip()}


@pytest.fixture
def boss(db: Any) -> Any:
    return make_user("boss", Role.ADMIN, is_staff=True, is_superuser=True)


def _marketing_pages(boss: Any) -> list[str]:
    from marketing.campaigns.services import campaign_create
    from marketing.capture.services import lead_form_create
    from marketing.segments.services import segment_create

    segment = segment_create(actor=boss, name="All", rules={})
    campaign = campaign_create(actor=boss, name="Spring", segment=segment.pk, subject_template="Hi")
    form = lead_form_create(actor=boss, campaign_id=campaign.pk, name="Demo")
    return [
        f"/marketing/segments/{segment.pk}/",
        f"/marketing/campaigns/{campaign.pk}/",
        f"/marketing/campaigns/{campaign.pk}/edit/",
        f"/marketing/bulk/?segment={segment.pk}",
        f"/marketing/f/{form.public_key}/",
    ]


@pytest.fixture
def pages(boss: Any) -> list[str]:
    customer = customer_services.customer_create(actor=boss, kind="person", first_name="Ada", last_name="L")
    a_catalogue()
    quote = a_quote(boss, an_opportunity(boss))
    detail_pages = [
        f"/customers/{customer.pk}/",
        f"/customers/{customer.pk}/edit/",
        f"/sales/quotes/{quote.pk}/",
        f"/sales/quotes/{quote.pk}/print/",
        f"/sales/opportunities/{quote.opportunity_id}/",
        f"/sales/quotes/new/?opportunity={quote.opportunity_id}",
        f"/service/cases/new/?customer={customer.pk}",
        *_marketing_pages(boss),
    ]
    walked = sorted({p for p in _paths(get_resolver()) if not SKIPPED.match(p)})
    return walked + detail_pages


def test_the_policy_allows_no_inline_script_no_eval_and_only_our_own_origin(client: Client) -> None:
    # when
    response = client.get("/accounts/login/")

    # then
    policy = _directives(response["Content-Security-Policy"])
    assert policy["default-src"] == ["'self'"]
    assert policy["script-src"] == ["'self'"]
    assert policy["object-src"] == ["'none'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert not [value for values in policy.values() for value in values if "unsafe" in value]


def test_every_page_a_logged_in_user_opens_carries_the_policy_and_needs_nothing_inline(
    client: Client, boss: Any, pages: list[str]
) -> None:
    # given
    client.force_login(boss)
    assert len(pages) > 25  # the walk found the site, not an empty list

    # when
    responses = {path: client.get(path) for path in pages}

    # then
    problems = {}
    for path, response in responses.items():
        # A streamed answer (a CSV export) is read whole; it must carry the policy too.
        body = b"".join(response.streaming_content) if response.streaming else response.content
        html = body.decode()
        found = [
            str(match.group(0))[:80]
            for match in (
                INLINE_SCRIPT.search(html),
                EVENT_HANDLER.search(html),
                STYLE_ATTRIBUTE.search(html),
            )
            if match
        ]
        if response.status_code != 200:
            found.append(f"status {response.status_code}")
        if "script-src 'self'" not in response.get("Content-Security-Policy", ""):
            found.append("no policy")
        if found:
            problems[path] = found
    assert problems == {}


def test_the_printable_quote_keeps_its_inline_style_through_the_nonce(client: Client, boss: Any) -> None:
    # given
    a_catalogue()
    quote = a_quote(boss, an_opportunity(boss))
    client.force_login(boss)

    # when
    response = client.get(f"/sales/quotes/{quote.pk}/print/")

    # then
    nonce = re.search(r'<style nonce="([^"]+)">', response.content.decode()).group(1)
    assert f"'nonce-{nonce}'" in _directives(response["Content-Security-Policy"])["style-src"]


def test_anonymous_pages_and_the_api_docs_carry_it_too(client: Client) -> None:
    # when / then
    for path in (
        "/accounts/login/",
        "/accounts/password/reset/",
        "/api/docs/",
        "/api/redoc/",
        "/api/docs/?script=",
    ):
        response = client.get(path)
        assert response.status_code == 200, path
        assert "script-src 'self'" in response["Content-Security-Policy"], path
        assert not INLINE_SCRIPT.search(response.content.decode()), path
