"""Issue 12 §4: marketing needs neither invoices nor balances. The 360 panel was not
enough: the ERP's invoice and payment entries on the customer's timeline told the same.
They are hidden from roles without the billing view, on the pages and through every
timeline endpoint alike; order entries stay for everyone."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from backoffice_sync.choices import ErpActivityKind
from backoffice_sync.tests.inbox_helpers import a_customer
from backoffice_sync.tests.test_mirrors_panel import with_history
from customers.models import Activity
from tests.fixtures import client_for

pytestmark = pytest.mark.django_db

BILLING = {ErpActivityKind.INVOICE.value, ErpActivityKind.PAYMENT.value}


def page_client(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def api_kinds(user: Any, customer_id: int) -> dict[str, set[str]]:
    """The kinds of entry `user` reads on `customer_id`'s timeline, per endpoint."""
    api = client_for(user)
    answers = {
        "360": api.get(f"/api/v1/customers/{customer_id}/360/"),
        "timeline": api.get(f"/api/v1/customers/{customer_id}/timeline/"),
        "activities": api.get(f"/api/v1/activities/?customer={customer_id}"),
    }
    kinds = {}
    for name, answer in answers.items():
        assert answer.status_code == 200, (name, answer.content)
        body = answer.json()
        entries = body["timeline"] if name == "360" else body["results"]
        kinds[name] = {entry["kind"] for entry in entries}
    return kinds


def test_marketing_reads_no_invoice_or_payment_on_the_timeline_api(
    marketer: Any, sales_rep: Any, agent: Any
) -> None:
    # given: a customer with invoices, an overdue one, a payment and orders
    customer = with_history(a_customer(), 2)
    assert set(Activity.objects.filter(customer=customer).values_list("kind", flat=True)) >= BILLING
    # when
    seen = api_kinds(marketer, customer.pk)
    # then: orders are there, money is not, on every endpoint
    for name, kinds in seen.items():
        assert ErpActivityKind.ERP_ORDER in kinds, name
        assert not kinds & BILLING, name
    # while those who talk to customers about money still read it
    for user in (sales_rep, agent):
        for name, kinds in api_kinds(user, customer.pk).items():
            assert kinds >= BILLING, (user, name)


def test_marketing_cannot_open_an_invoice_entry_by_id_or_ask_for_the_kind(marketer: Any, agent: Any) -> None:
    customer = with_history(a_customer(), 1)
    entry = Activity.objects.filter(customer=customer, kind=ErpActivityKind.INVOICE).first()
    assert entry is not None
    marketing, service = client_for(marketer), client_for(agent)
    assert marketing.get(f"/api/v1/activities/{entry.pk}/").status_code == 404
    assert service.get(f"/api/v1/activities/{entry.pk}/").status_code == 200
    asked = marketing.get(f"/api/v1/customers/{customer.pk}/timeline/?kind=invoice")
    assert asked.status_code == 200
    assert asked.json()["results"] == []
    by_kind = marketing.get(f"/api/v1/customers/{customer.pk}/360/?kind=invoice")
    assert by_kind.status_code == 200
    assert by_kind.json()["timeline"] == []


def test_marketing_sees_no_invoice_or_payment_on_the_360_page_and_its_timeline(
    marketer: Any, agent: Any
) -> None:
    # given
    customer = with_history(a_customer(), 2)
    invoice_subjects = list(
        Activity.objects.filter(customer=customer, kind__in=BILLING).values_list("subject", flat=True)
    )
    order_subjects = list(
        Activity.objects.filter(customer=customer, kind=ErpActivityKind.ERP_ORDER).values_list(
            "subject", flat=True
        )
    )
    assert invoice_subjects
    assert order_subjects
    # when
    marketing = page_client(marketer)
    pages = {
        "360": marketing.get(f"/customers/{customer.pk}/").content.decode(),
        "timeline": marketing.get(f"/customers/{customer.pk}/timeline/").content.decode(),
    }
    # then
    for name, html in pages.items():
        assert order_subjects[0] in html, name
        for subject in invoice_subjects:
            assert subject not in html, (name, subject)
    # the filter offers no kind marketing cannot see
    assert '<option value="invoice"' not in pages["360"]
    assert '<option value="erp_order"' in pages["360"]
    # an agent still sees the invoices on the page
    service_page = page_client(agent).get(f"/customers/{customer.pk}/").content.decode()
    assert invoice_subjects[0] in service_page
    assert '<option value="invoice"' in service_page
