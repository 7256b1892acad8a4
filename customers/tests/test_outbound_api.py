"""The outbound room's API and pages: templates with a preview, the message log,
sending through the API, and who may do what."""

from __future__ import annotations

from typing import Any

import pytest
from django.core import mail

from customers import services as customer_services
from customers.models import Customer
from customers.outbound import services
from customers.outbound.models import MessageTemplate, OutboundMessage
from tests.fixtures import client_for

pytestmark = pytest.mark.django_db
TEMPLATES = "/api/v1/outbound/templates/"
MESSAGES = "/api/v1/outbound/messages/"


@pytest.fixture
def grace(agent: Any) -> Customer:
    return customer_services.customer_create(
        actor=agent,
        kind="person",
        first_name="Grace",
        last_name="Hopper",
        contact_points=[{"kind": "email", "value": "grace@example.com"}],
    )


@pytest.fixture
def template(admin_user: Any) -> MessageTemplate:
    return services.message_template_create(
        actor=admin_user,
        key="hello",
        name="Hello",
        subject="Hello {{ customer.first_name }}",
        body="Dear {{ customer.display_name }}, {{ note }}",
    )


def test_an_admin_creates_and_updates_a_template_with_if_match(admin_user: Any) -> None:
    client = client_for(admin_user)
    created = client.post(
        TEMPLATES,
        {"key": "t1", "name": "T1", "subject": "Hi {{ customer.first_name }}", "body": "B"},
        format="json",
    )
    assert created.status_code == 201, created.content
    url = f"{TEMPLATES}{created.json()['id']}/"
    assert client.patch(url, {"name": "T2"}, format="json").status_code == 428
    stale = client.patch(url, {"name": "T2"}, format="json", HTTP_IF_MATCH='"0"')
    assert stale.status_code == 412
    updated = client.patch(url, {"name": "T2"}, format="json", HTTP_IF_MATCH=created["ETag"])
    assert updated.status_code == 200
    assert updated.json()["version"] == 2


def test_a_bad_template_is_a_400_with_field_errors(admin_user: Any) -> None:
    response = client_for(admin_user).post(
        TEMPLATES,
        {"key": "t1", "name": "T1", "subject": "Hi {{ customer.password }}", "body": "B"},
        format="json",
    )
    assert response.status_code == 400
    assert "subject" in response.json()["errors"]
    assert not MessageTemplate.objects.filter(key__in=["bad", "t1"]).exists()


def test_an_agent_previews_but_cannot_write_templates(
    agent: Any, grace: Customer, template: MessageTemplate
) -> None:
    client = client_for(agent)
    preview = client.post(
        f"{TEMPLATES}{template.pk}/preview/",
        {"customer": grace.pk, "context": {"note": "thanks"}},
        format="json",
    )
    assert preview.status_code == 200, preview.content
    assert preview.json()["subject"] == "Hello Grace"
    assert preview.json()["body"] == "Dear Grace Hopper, thanks"
    assert (
        client.post(
            TEMPLATES, {"key": "x", "name": "X", "subject": "S", "body": "B"}, format="json"
        ).status_code
        == 403
    )


def test_sending_through_the_api_is_idempotent_per_key(
    agent: Any, grace: Customer, template: MessageTemplate, django_capture_on_commit_callbacks: Any
) -> None:
    client = client_for(agent)
    body = {"customer": grace.pk, "dedupe_key": "k1", "template": "hello", "context": {"note": "n"}}
    with django_capture_on_commit_callbacks(execute=True):
        first = client.post(MESSAGES, body, format="json")
    with django_capture_on_commit_callbacks(execute=True):
        second = client.post(MESSAGES, body, format="json")
    assert first.status_code == 201, first.content
    assert second.json()["id"] == first.json()["id"]
    assert len(mail.outbox) == 1
    detail = client.get(f"{MESSAGES}{first.json()['id']}/").json()
    assert [d["status"] for d in detail["deliveries"]] == ["queued", "sending", "sent"]


def test_a_send_with_bad_input_is_a_400_and_writes_nothing(agent: Any, grace: Customer) -> None:
    response = client_for(agent).post(
        MESSAGES, {"customer": grace.pk, "dedupe_key": "k", "template": "nope"}, format="json"
    )
    assert response.status_code == 400
    assert "template" in response.json()["errors"]
    assert not OutboundMessage.objects.exists()


def test_the_back_office_reads_the_log_but_cannot_send(back_office: Any, grace: Customer) -> None:
    client = client_for(back_office)
    assert client.get(MESSAGES).status_code == 200
    assert (
        client.post(
            MESSAGES, {"customer": grace.pk, "dedupe_key": "k", "subject": "s", "body": "b"}, format="json"
        ).status_code
        == 403
    )


def test_the_message_list_has_a_fixed_query_count(
    agent: Any, grace: Customer, template: MessageTemplate, django_assert_max_num_queries: Any
) -> None:
    client = client_for(agent)
    with django_assert_max_num_queries(8):
        assert client.get(MESSAGES).status_code == 200
    for i in range(30):
        services.send_to_customer(
            actor=agent, customer=grace, dedupe_key=f"k{i}", template=template, context={"note": "n"}
        )
    with django_assert_max_num_queries(8):
        response = client.get(MESSAGES)
    assert len(response.json()["results"]) == 30


def test_the_message_filters(agent: Any, grace: Customer, template: MessageTemplate) -> None:
    services.send_to_customer(
        actor=agent, customer=grace, dedupe_key="a", template=template, context={"note": "n"}
    )
    services.send_to_customer(
        actor=agent, customer=grace, dedupe_key="b", subject="S", body="B", channel="post"
    )
    client = client_for(agent)
    assert len(client.get(MESSAGES, {"status": "queued"}).json()["results"]) == 1
    assert len(client.get(MESSAGES, {"status": "suppressed"}).json()["results"]) == 1
    assert len(client.get(MESSAGES, {"template": template.pk}).json()["results"]) == 1
    assert len(client.get(MESSAGES, {"dedupe_key": "b"}).json()["results"]) == 1
    assert len(client.get(MESSAGES, {"customer": grace.pk, "channel": "email"}).json()["results"]) == 1
    assert client.get(MESSAGES, {"status": "nope"}).status_code == 400


def test_the_pages_show_templates_preview_and_the_log(
    client: Any, admin_user: Any, grace: Customer, template: MessageTemplate
) -> None:
    # given
    message = services.send_to_customer(
        actor=admin_user, customer=grace, dedupe_key="a", template=template, context={"note": "n"}
    )
    client.force_login(admin_user)
    # then
    assert "Hello" in client.get("/customers/messages/templates/").content.decode()
    assert client.get(f"/customers/messages/templates/{template.pk}/").status_code == 200
    preview = client.get(
        "/customers/messages/templates/preview/",
        {"preview_customer": grace.pk, "subject": "Hi {{ customer.first_name }}", "body": "x"},
    )
    assert "Hi Grace" in preview.content.decode()
    assert "Hello Grace" in client.get("/customers/messages/").content.decode()
    detail = client.get(f"/customers/messages/{message.pk}/").content.decode()
    assert "Delivery log" in detail
    assert "Queued" in detail


def test_a_template_saved_from_the_page(client: Any, admin_user: Any) -> None:
    client.force_login(admin_user)
    response = client.post(
        "/customers/messages/templates/new/",
        {
            "key": "page",
            "name": "From page",
            "category": "service",
            "subject": "S {{ customer.first_name }}",
            "body": "B",
            "is_active": "on",
        },
    )
    assert response.status_code == 302
    assert MessageTemplate.objects.get(key="page").name == "From page"
    bad = client.post(
        "/customers/messages/templates/new/",
        {"key": "p2", "name": "X", "category": "service", "subject": "{{ customer.x }}", "body": "B"},
    )
    assert bad.status_code == 400
    assert not MessageTemplate.objects.filter(key="p2").exists()


def test_an_agent_cannot_save_a_template_from_the_page(client: Any, agent: Any) -> None:
    client.force_login(agent)
    response = client.post(
        "/customers/messages/templates/new/",
        {"key": "p", "name": "X", "category": "service", "subject": "S", "body": "B"},
    )
    assert response.status_code == 403
