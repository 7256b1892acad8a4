"""A page links a record only for users who may open it (frontoffice's `links` template
tags): the order page's quote for agents, the quote page's opportunity for the back
office, the lead page's opportunity for marketing, and every link shown opens."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client

from sales.leads import services as lead_services
from sales.orders import services as order_services
from sales.tests import factories as f
from sales.tests.order_setup import a_sent_quote

pytestmark = pytest.mark.django_db

HREF = re.compile(r'href="(/sales/[^"?#]+)"')


def page_client(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def sales_links(client: Client, url: str) -> tuple[str, list[str]]:
    response = client.get(url)
    assert response.status_code == 200
    page = response.content.decode()
    return page, sorted(set(HREF.findall(page)))


def test_the_order_page_names_the_quote_and_links_it_only_for_those_who_may_open_it(
    sales_rep: Any, agent: Any, supervisor: Any
) -> None:
    # given
    quote = a_sent_quote(sales_rep)
    order = order_services.quote_accept(actor=sales_rep, quote_id=quote.pk, expected_version=quote.version)
    quote_url = f"/sales/quotes/{quote.pk}/"
    for user in (agent, supervisor):
        client = page_client(user)
        # when
        page, links = sales_links(client, f"/sales/orders/{order.pk}/")
        # then: named, not linked; and every link shown opens
        assert quote_url not in links
        assert f"Quote {quote.reference} rev. {quote.revision}" in page
        assert all(client.get(link).status_code == 200 for link in links)
    assert quote_url in sales_links(page_client(sales_rep), f"/sales/orders/{order.pk}/")[1]


def test_the_quote_page_links_its_opportunity_only_for_those_who_may_open_it(
    sales_rep: Any, back_office: Any
) -> None:
    quote = a_sent_quote(sales_rep)
    opportunity_url = f"/sales/opportunities/{quote.opportunity_id}/"
    page, links = sales_links(page_client(back_office), f"/sales/quotes/{quote.pk}/")
    assert opportunity_url not in links
    assert quote.opportunity.name in page
    assert opportunity_url in sales_links(page_client(sales_rep), f"/sales/quotes/{quote.pk}/")[1]


def test_the_lead_page_links_its_opportunity_only_for_those_who_may_open_it(
    sales_rep: Any, marketer: Any
) -> None:
    lead = f.lead(sales_rep, organisation_name="Hopper Labs")
    opp = lead_services.lead_convert(actor=sales_rep, lead_id=lead.pk)
    page, links = sales_links(page_client(marketer), f"/sales/leads/{lead.pk}/")
    assert f"/sales/opportunities/{opp.pk}/" not in links
    assert opp.name in page
    assert (
        f"/sales/opportunities/{opp.pk}/"
        in sales_links(page_client(sales_rep), f"/sales/leads/{lead.pk}/")[1]
    )
