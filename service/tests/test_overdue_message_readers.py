"""Issue 12 §4: marketing needs neither invoices nor balances. The "invoice overdue"
message tells an invoice's number and amount due: it carries the invoice view from its
template, and every reader of messages (the log's page and API, the "message sent"
entry on the customer's page, timeline page, 360 API, timeline API and the activities
endpoint) hides it from whoever lacks that view. Other messages stay for everyone. So
does the customer's reply to it: the case it opens and the e-mails on that thread land on
the timeline with the same view."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from importlib import import_module
from typing import Any

import pytest
from django.apps import apps as django_apps
from django.test import Client, override_settings
from django.urls import reverse
from django.utils import timezone

from backoffice_sync.events import InvoiceOverdue, OrderShipped
from customers.models import Activity, Customer
from customers.outbound.models import MessageTemplate, OutboundMessage
from customers.selectors import timeline_page
from frontoffice import events
from service.loop import proactive
from service.tests.loop_setup import a_customer
from tests.fixtures import client_for

pytestmark = pytest.mark.django_db
NOW = timezone.now()
INVOICE_VIEW = "backoffice_sync.view_invoice"


def overdue(customer: Customer) -> InvoiceOverdue:
    return InvoiceOverdue(
        customer_id=customer.pk,
        invoice_number="INV-7731",
        amount_due=Decimal("120.50"),
        currency="EUR",
        due_on=dt.date(2026, 11, 1),
        occurred_at=NOW,
        erp_event_id="i1",
    )


def shipped(customer: Customer) -> OrderShipped:
    return OrderShipped(
        customer_id=customer.pk,
        order_ref="SO-000042",
        erp_order_number="E-42",
        shipment_number="SH-42",
        carrier="DHL",
        tracking_number="TRK4242",
        shipped_on=dt.date(2026, 11, 3),
        complete=True,
        occurred_at=NOW,
        erp_event_id="s1",
    )


@pytest.fixture
def told(
    agent: Any, django_capture_on_commit_callbacks: Any
) -> tuple[Customer, OutboundMessage, OutboundMessage]:
    """A customer told of an overdue invoice and of a shipment (both e-mailed, both on
    the timeline as sent)."""
    customer = a_customer(agent)
    with django_capture_on_commit_callbacks(execute=True):
        events.publish(overdue(customer))
        events.publish(shipped(customer))
    invoice = OutboundMessage.objects.get(customer=customer, dedupe_key__startswith="invoice-overdue:")
    shipment = OutboundMessage.objects.get(customer=customer, dedupe_key__startswith="order-shipped:")
    return customer, invoice, shipment


def entry_of(message: OutboundMessage) -> Activity:
    """The message's one timeline entry (sent, or not sent and why)."""
    return Activity.objects.get(ref_type="customers.outboundmessage", ref_id=str(message.pk))


def api_reads(user: Any, customer: Customer, message: OutboundMessage) -> dict[str, bool]:
    """Where `user` reads `message` (or its timeline entry) through the API."""
    api = client_for(user)
    entry = entry_of(message)
    listed = api.get(f"/api/v1/outbound/messages/?customer={customer.pk}")
    assert listed.status_code == 200, listed.content
    detail = api.get(f"/api/v1/outbound/messages/{message.pk}/")
    assert detail.status_code in (200, 404)
    three_sixty = api.get(f"/api/v1/customers/{customer.pk}/360/")
    timeline = api.get(f"/api/v1/customers/{customer.pk}/timeline/")
    activities = api.get(f"/api/v1/activities/?customer={customer.pk}")
    activity = api.get(f"/api/v1/activities/{entry.pk}/")
    assert activity.status_code in (200, 404)
    reads = {
        "messages": message.pk in {m["id"] for m in listed.json()["results"]},
        "message": detail.status_code == 200,
        "activity": activity.status_code == 200,
    }
    if three_sixty.status_code == 200:
        reads["360"] = entry.pk in {e["id"] for e in three_sixty.json()["timeline"]}
    if timeline.status_code == 200:
        reads["timeline"] = entry.pk in {e["id"] for e in timeline.json()["results"]}
    if activities.status_code == 200:
        reads["activities"] = entry.pk in {e["id"] for e in activities.json()["results"]}
    return reads


def page_reads(user: Any, customer: Customer, message: OutboundMessage) -> dict[str, bool]:
    """Where `user` reads `message` on the pages (its subject is the invoice's number)."""
    client = Client()
    client.force_login(user)
    log = client.get(reverse("customers:outbound-messages"))
    assert log.status_code == 200
    detail = client.get(reverse("customers:outbound-message", args=[message.pk]))
    assert detail.status_code in (200, 404)
    profile = client.get(reverse("customers:detail", args=[customer.pk]))
    more = client.get(reverse("customers:timeline", args=[customer.pk]))
    assert profile.status_code == more.status_code == 200
    return {
        "log": message.subject in log.content.decode(),
        "message": detail.status_code == 200,
        "360 page": message.subject in profile.content.decode(),
        "timeline page": message.subject in more.content.decode(),
    }


def test_the_overdue_template_and_its_messages_carry_the_invoice_view(
    told: tuple[Customer, OutboundMessage, OutboundMessage],
) -> None:
    _, invoice, shipment = told
    assert MessageTemplate.objects.get(key=proactive.Templates.OVERDUE).view_permission == INVOICE_VIEW
    assert invoice.view_permission == INVOICE_VIEW
    assert entry_of(invoice).kind == "message_sent"
    assert entry_of(invoice).view_permission == INVOICE_VIEW
    assert shipment.view_permission == ""
    assert entry_of(shipment).view_permission == ""


def test_marketing_reads_the_overdue_invoice_message_nowhere(
    marketer: Any, told: tuple[Customer, OutboundMessage, OutboundMessage]
) -> None:
    customer, invoice, _ = told
    assert "INV-7731" in invoice.subject
    seen = {**api_reads(marketer, customer, invoice), **page_reads(marketer, customer, invoice)}
    assert {"messages", "message", "activity", "360", "timeline", "activities"} <= set(seen)
    assert not any(seen.values()), seen


def test_marketing_still_reads_the_shipment_message_everywhere(
    marketer: Any, told: tuple[Customer, OutboundMessage, OutboundMessage]
) -> None:
    customer, _, shipment = told
    seen = {**api_reads(marketer, customer, shipment), **page_reads(marketer, customer, shipment)}
    assert all(seen.values()), seen


def test_an_agent_reads_the_overdue_invoice_message_everywhere(
    agent: Any, told: tuple[Customer, OutboundMessage, OutboundMessage]
) -> None:
    customer, invoice, _ = told
    seen = {**api_reads(agent, customer, invoice), **page_reads(agent, customer, invoice)}
    assert {"messages", "message", "activity", "360", "timeline", "activities"} <= set(seen)
    assert all(seen.values()), seen


def test_the_back_office_reads_the_overdue_invoice_message_in_the_log_and_the_activities(
    back_office: Any, told: tuple[Customer, OutboundMessage, OutboundMessage]
) -> None:
    customer, invoice, _ = told
    seen = api_reads(back_office, customer, invoice)
    assert {"messages", "message", "activity"} <= set(seen)
    assert all(seen.values()), seen


def test_the_migration_gives_the_invoice_view_to_overdue_messages_made_before(
    told: tuple[Customer, OutboundMessage, OutboundMessage],
) -> None:
    # given: the rows as they were before the column (an overdue template deleted since)
    _, invoice, shipment = told
    MessageTemplate.objects.filter(key=proactive.Templates.OVERDUE).update(view_permission="")
    OutboundMessage.objects.filter(pk=invoice.pk).update(view_permission="", template=None)
    Activity.objects.update(view_permission="")
    # when
    migration = import_module("service.migrations.0005_overdue_messages_need_the_invoice_view")
    migration.backfill(django_apps, None)
    # then
    invoice.refresh_from_db()
    assert invoice.view_permission == INVOICE_VIEW
    assert entry_of(invoice).view_permission == INVOICE_VIEW
    assert MessageTemplate.objects.get(key=proactive.Templates.OVERDUE).view_permission == INVOICE_VIEW
    shipment.refresh_from_db()
    assert shipment.view_permission == ""
    assert entry_of(shipment).view_permission == ""


def test_marketing_can_neither_send_the_overdue_message_nor_get_one_back_by_its_key(
    marketer: Any, told: tuple[Customer, OutboundMessage, OutboundMessage]
) -> None:
    customer, invoice, _ = told
    api = client_for(marketer)
    context = {"invoice": {"number": "INV-1", "amount": "1.00", "currency": "EUR", "due_on": "2026-11-01"}}
    # a retry's answer would be the message sent before: refused, nothing told
    again = api.post(
        "/api/v1/outbound/messages/",
        {
            "customer": customer.pk,
            "dedupe_key": invoice.dedupe_key,
            "template": "invoice-overdue",
            "context": context,
        },
        format="json",
    )
    assert again.status_code == 403
    assert "INV-7731" not in again.content.decode()
    fresh = api.post(
        "/api/v1/outbound/messages/",
        {
            "customer": customer.pk,
            "dedupe_key": "invoice-overdue:INV-1",
            "template": "invoice-overdue",
            "context": context,
        },
        format="json",
    )
    assert fresh.status_code == 403
    assert not OutboundMessage.objects.filter(dedupe_key="invoice-overdue:INV-1").exists()


# --- the customer's reply to a restricted message -------------------------------------------

INBOUND_SECRET = "s3cret-inbound"


def customer_writes(client: Client, message_id: str, answering: str, subject: str, text: str) -> Any:
    """The customer's e-mail, as the mail provider's inbound hook posts it."""
    with override_settings(SERVICE_INBOUND_EMAIL_SECRET=INBOUND_SECRET):
        response = client.post(
            "/api/v1/service/inbound-email/",
            {
                "from": "Ada Tester <ada@example.com>",
                "subject": subject,
                "text": text,
                "Message-Id": message_id,
                "In-Reply-To": answering,
            },
            content_type="application/json",
            HTTP_X_INBOUND_SECRET=INBOUND_SECRET,
        )
    assert response.status_code == 201, response.content
    return response.json()


def case_entries(case_id: int) -> list[Activity]:
    return list(Activity.objects.filter(ref_type="service.case", ref_id=str(case_id)).order_by("id"))


def reads_entries(user: Any, customer: Customer, entries: list[Activity], marker: str) -> dict[str, bool]:
    """Where `user` reads the reply: the timeline selector, the timeline API and page."""
    ids = {e.pk for e in entries}
    rows, _ = timeline_page(customer=customer, actor=user, limit=100)
    api = client_for(user).get(f"/api/v1/customers/{customer.pk}/timeline/")
    assert api.status_code == 200, api.content
    page = Client()
    page.force_login(user)
    more = page.get(reverse("customers:timeline", args=[customer.pk]))
    assert more.status_code == 200
    return {
        "selector": ids <= {r.pk for r in rows},
        "selector, any": bool(ids & {r.pk for r in rows}),
        "api": ids <= {e["id"] for e in api.json()["results"]},
        "api, any": bool(ids & {e["id"] for e in api.json()["results"]}),
        "page": marker in more.content.decode(),
    }


@pytest.fixture
def answered_overdue(
    client: Client, told: tuple[Customer, OutboundMessage, OutboundMessage]
) -> tuple[Customer, list[Activity]]:
    """The customer answers the overdue reminder (a case opens), then writes again on
    that thread (an e-mail on the case)."""
    customer, invoice, _ = told
    first = customer_writes(client, "<r1@mail.test>", invoice.message_id, "Re: INV-7731", "Paid: BANK-5521")
    again = customer_writes(client, "<r2@mail.test>", "<r1@mail.test>", "Re: INV-7731", "Did it arrive?")
    assert (first["threaded"], again["threaded"], again["case"]) == (False, True, first["case"])
    entries = case_entries(first["case"])
    assert {e.kind for e in entries} == {"case_opened", "case_email_received"}
    return customer, entries


def test_the_reply_to_the_overdue_message_carries_its_permission(
    answered_overdue: tuple[Customer, list[Activity]],
) -> None:
    _, entries = answered_overdue
    assert [e.view_permission for e in entries] == [INVOICE_VIEW] * len(entries)


def test_an_agent_reads_the_reply_to_the_overdue_message(
    agent: Any, answered_overdue: tuple[Customer, list[Activity]]
) -> None:
    customer, entries = answered_overdue
    seen = reads_entries(agent, customer, entries, "BANK-5521")
    assert all(seen.values()), seen


def test_marketing_does_not_read_the_reply_to_the_overdue_message(
    marketer: Any, answered_overdue: tuple[Customer, list[Activity]]
) -> None:
    customer, entries = answered_overdue
    seen = reads_entries(marketer, customer, entries, "BANK-5521")
    assert not any(seen.values()), seen


def test_a_reply_to_an_ordinary_message_stays_readable_by_all(
    client: Client,
    agent: Any,
    marketer: Any,
    told: tuple[Customer, OutboundMessage, OutboundMessage],
) -> None:
    # given: the customer answers the shipment's message
    customer, _, shipment = told
    first = customer_writes(client, "<s1@mail.test>", shipment.message_id, "Re: SH-42", "Where: TRK-DOOR")
    # when
    entries = case_entries(first["case"])
    # then
    assert [e.view_permission for e in entries] == [""]
    for reader in (agent, marketer):
        seen = reads_entries(reader, customer, entries, "TRK-DOOR")
        assert all(seen.values()), (reader.username, seen)
