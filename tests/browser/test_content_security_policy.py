"""In a real browser, no page breaks its Content-Security-Policy: not our pages with
HTMX, not the printable quote, not Swagger UI or ReDoc (each of which builds its page
with script)."""

from __future__ import annotations

from typing import Any

import pytest

from customers import services as customer_services
from sales.tests.quote_setup import a_catalogue, a_quote, an_opportunity
from tests.browser.test_journey import log_in
from tests.fixtures import Role, make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Records what the browser refuses, from before any page script runs.
LISTEN = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__csp.push(`${e.violatedDirective} blocked ${e.blockedURI || "inline"} (${e.sourceFile}:${e.lineNumber})`);
});
"""


def _violations(page: Any, path: str, ready: str) -> list[str]:
    page.goto(path)
    # The API docs build their page from the whole OpenAPI document in the browser (ReDoc
    # parses every operation): on a loaded 2-core CI machine that took over 10 s once.
    page.wait_for_selector(ready, timeout=60_000 if path.startswith("/api/") else None)
    page.wait_for_load_state("networkidle")
    return page.evaluate("window.__csp")


def test_no_page_raises_a_content_security_policy_violation(page: Any, transactional_db: Any) -> None:
    # given
    boss = make_user("boss", Role.ADMIN, is_staff=True, is_superuser=True)
    customer = customer_services.customer_create(actor=boss, kind="person", first_name="Ada", last_name="L")
    a_catalogue()
    quote = a_quote(boss, an_opportunity(boss))
    console = []
    page.on("console", lambda message: console.append(message.text))
    page.add_init_script(LISTEN)
    anonymous = {
        "/accounts/login/": "#id_username",
        "/accounts/password/reset/": "#id_email",
        "/api/docs/": ".swagger-ui .info .title",
        "/api/redoc/": ".api-content h1",
    }
    logged_in = {
        "/": "main",
        "/customers/": "main",
        f"/customers/{customer.pk}/": "main",
        f"/customers/{customer.pk}/edit/": "form",
        "/sales/board/": "main",
        "/sales/leads/": "main",
        "/sales/opportunities/": "main",
        f"/sales/quotes/{quote.pk}/": "main",
        f"/sales/quotes/{quote.pk}/print/": "h1",
        "/sales/orders/": "main",
        "/sales/forecast/": "main",
        "/sync/": "main",
        "/accounts/tokens/": "#api-tokens",
        "/accounts/password/": "#id_old_password",
    }

    # when
    seen = {path: _violations(page, path, ready) for path, ready in anonymous.items()}
    log_in(page, "boss", "pw-boss")
    seen |= {path: _violations(page, path, ready) for path, ready in logged_in.items()}
    page.fill("#global-search-input", "Ad")  # an HTMX swap, with its indicator classes
    page.wait_for_selector("#global-search-results a")
    seen["search as you type"] = page.evaluate("window.__csp")

    # then
    assert {path: found for path, found in seen.items() if found} == {}
    assert not [line for line in console if "Content Security Policy" in line]
