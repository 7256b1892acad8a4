"""The 360 page's panels: each loads in a request of its own (HTMX or a page without
JavaScript), guarded by its permission, rendered by its template or the generic one."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.urls import reverse

from customers import services
from customers.merge import customer_merge
from customers.models import Customer
from customers.tests.pages import client_for, html_of, only_panels
from frontoffice.plugin import Panel

pytestmark = pytest.mark.django_db


def test_registry_panels_render_with_the_generic_template(
    sales_rep: Any, ada: Customer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given
    only_panels(
        monkeypatch,
        Panel(
            key="open_cases",
            title="Open cases",
            loader=lambda **_: [{"number": "C-1", "sla_breached": True}, "a plain line"],
        ),
        Panel(key="balance", title="Balance", loader=lambda **_: {"open_amount": "12.50 EUR"}),
    )

    client = client_for(sales_rep)

    # when
    page = html_of(client.get(reverse("customers:detail", args=[ada.pk])))
    html = "".join(
        html_of(client.get(reverse("customers:panel", args=[ada.pk, key]), headers={"HX-Request": "true"}))
        for key in ("open_cases", "balance")
    )

    # then: the page holds each panel's card, which loads its body on its own
    assert 'id="panel-open_cases-title"' in page
    assert f'hx-get="{reverse("customers:panel", args=[ada.pk, "open_cases"])}"' in page
    assert "<html" not in html
    assert re.search(r"<dt>Number</dt><dd>C-1</dd>", html)
    assert re.search(r"<dt>Sla breached</dt><dd>Yes</dd>", html)
    assert "a plain line" in html
    assert re.search(r"<dt>Open amount</dt><dd>12.50 EUR</dd>", html)


def test_a_panel_is_a_page_of_its_own_without_javascript_and_guards_its_permission(
    sales_rep: Any, ada: Customer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given
    only_panels(
        monkeypatch,
        Panel(key="notes", title="Notes", loader=lambda **_: {"count": 3}),
        Panel(key="secret", title="Secret", loader=lambda **_: {}, permission="customers.fly"),
    )
    client = client_for(sales_rep)

    # when
    page = client.get(reverse("customers:panel", args=[ada.pk, "notes"]))
    secret = client.get(reverse("customers:panel", args=[ada.pk, "secret"]))
    missing = client.get(reverse("customers:panel", args=[ada.pk, "nope"]))

    # then
    assert page.status_code == 200
    assert "<html" in html_of(page)
    assert re.search(r"<dt>Count</dt><dd>3</dd>", html_of(page))
    assert secret.status_code == 403
    assert missing.status_code == 404
    assert 'id="panel-secret"' not in html_of(client.get(reverse("customers:detail", args=[ada.pk])))


def test_a_merged_customers_panel_moves_to_the_survivor(
    supervisor: Any, sales_rep: Any, ada: Customer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given
    only_panels(
        monkeypatch, Panel(key="notes", title="Notes", loader=lambda customer, actor: {"id": customer.pk})
    )
    twin = services.customer_create(actor=sales_rep, kind="person", first_name="Ada", last_name="L.")
    customer_merge(actor=supervisor, survivor_id=ada.pk, duplicate_id=twin.pk)

    # when
    response = client_for(sales_rep).get(reverse("customers:panel", args=[twin.pk, "notes"]))

    # then
    assert response.status_code == 301
    assert response["Location"] == reverse("customers:panel", args=[ada.pk, "notes"])
