"""Clients that retry: an `Idempotency-Key` on API creates and actions, and a one-time
token on page forms, so that a retry or a double click answers the first result instead
of writing twice (issue 11, point 4)."""

from __future__ import annotations

import datetime as dt
import re
import threading
import uuid

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from customers.models import Activity, Customer
from frontoffice.idempotency import purge_expired
from frontoffice.models import IdempotencyKey
from sales.models import SalesOrder
from sales.tests.order_setup import a_sent_quote
from service.models import Case

pytestmark = pytest.mark.django_db

CUSTOMERS = "/api/v1/customers/"
GRACE = {"kind": "person", "first_name": "Grace", "last_name": "Hopper"}


def key() -> str:
    return str(uuid.uuid4())


# --- API ---------------------------------------------------------------------------------


def test_a_create_retried_with_its_key_answers_the_first_response(api_as, sales_rep) -> None:
    # given
    client = api_as(sales_rep)
    the_key = key()
    # when: the same POST twice (the first answer was lost)
    first = client.post(CUSTOMERS, GRACE, format="json", HTTP_IDEMPOTENCY_KEY=the_key)
    again = client.post(CUSTOMERS, GRACE, format="json", HTTP_IDEMPOTENCY_KEY=the_key)
    # then: one customer, the same answer twice (status, body, ETag, Location)
    assert first.status_code == 201, first.content
    assert Customer.objects.count() == 1
    assert (again.status_code, again.json()) == (201, first.json())
    assert (again["ETag"], again["Location"]) == (first["ETag"], first["Location"])
    assert again["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first


def test_the_same_key_with_another_body_is_refused_with_422(api_as, sales_rep) -> None:
    client = api_as(sales_rep)
    the_key = key()
    assert client.post(CUSTOMERS, GRACE, format="json", HTTP_IDEMPOTENCY_KEY=the_key).status_code == 201
    other = client.post(
        CUSTOMERS, {**GRACE, "first_name": "Ada"}, format="json", HTTP_IDEMPOTENCY_KEY=the_key
    )
    assert other.status_code == 422
    assert (
        other.json()["type"].endswith("idempotency_key_reused") or "Idempotency-Key" in other.json()["detail"]
    )
    assert Customer.objects.count() == 1


def test_keys_are_per_user_and_requests_without_a_key_write_each_time(api_as, sales_rep, teammate) -> None:
    the_key = key()
    assert (
        api_as(sales_rep).post(CUSTOMERS, GRACE, format="json", HTTP_IDEMPOTENCY_KEY=the_key).status_code
        == 201
    )
    assert (
        api_as(teammate).post(CUSTOMERS, GRACE, format="json", HTTP_IDEMPOTENCY_KEY=the_key).status_code
        == 201
    )
    client = api_as(sales_rep)
    assert client.post(CUSTOMERS, GRACE, format="json").status_code == 201
    assert client.post(CUSTOMERS, GRACE, format="json").status_code == 201
    assert Customer.objects.count() == 4


def test_a_refused_request_keeps_no_key_so_the_corrected_retry_writes(api_as, sales_rep) -> None:
    client = api_as(sales_rep)
    the_key = key()
    bad = client.post(CUSTOMERS, {"kind": "person"}, format="json", HTTP_IDEMPOTENCY_KEY=the_key)
    assert bad.status_code == 400
    assert not IdempotencyKey.objects.exists()
    good = client.post(CUSTOMERS, GRACE, format="json", HTTP_IDEMPOTENCY_KEY=the_key)
    assert good.status_code == 201
    assert Customer.objects.count() == 1


def test_a_malformed_key_is_a_400(api_as, sales_rep) -> None:
    response = api_as(sales_rep).post(CUSTOMERS, GRACE, format="json", HTTP_IDEMPOTENCY_KEY="x" * 201)
    assert response.status_code == 400
    assert "Idempotency-Key" in response.json()["errors"]
    assert not Customer.objects.exists()


def test_keys_expire_after_the_ttl_and_are_purged(api_as, sales_rep, settings, time_machine) -> None:
    # given: a key used now, kept 24 h
    settings.IDEMPOTENCY_KEY_TTL_HOURS = 24
    client = api_as(sales_rep)
    the_key = key()
    client.post(CUSTOMERS, GRACE, format="json", HTTP_IDEMPOTENCY_KEY=the_key)
    # when: 23 h later it still replays; 25 h later the purge removes it
    time_machine.move_to(timezone.now() + dt.timedelta(hours=23))
    assert purge_expired() == 0
    assert client.post(CUSTOMERS, GRACE, format="json", HTTP_IDEMPOTENCY_KEY=the_key).status_code == 201
    assert Customer.objects.count() == 1
    time_machine.move_to(timezone.now() + dt.timedelta(hours=2))
    assert purge_expired() == 1
    assert not IdempotencyKey.objects.exists()


def test_a_client_retrying_an_accepted_quote_after_a_lost_answer_gets_its_order(
    live_server, sales_rep
) -> None:
    # given: a sent quote, accepted over HTTP with a key; the answer is "lost"
    import requests
    from knox.models import AuthToken

    quote = a_sent_quote(sales_rep)
    _, token = AuthToken.objects.create(user=sales_rep)
    headers = {
        "Authorization": f"Token {token}",
        "If-Match": f'"{quote.version}"',
        "Idempotency-Key": key(),
    }
    url = f"{live_server.url}/api/v1/sales/quotes/{quote.pk}/accept/"
    first = requests.post(url, json={}, headers=headers, timeout=30)
    assert first.status_code == 201, first.text
    # when: the client retries the very same request (same If-Match: the old version)
    retry = requests.post(url, json={}, headers=headers, timeout=30)
    # then: the same order, not a 412 or a second order
    assert retry.status_code == 201, retry.text
    assert retry.json() == first.json()
    assert retry.headers["Location"] == first.headers["Location"]
    assert SalesOrder.objects.count() == 1
    # and without the key, the old If-Match is stale as before
    del headers["Idempotency-Key"]
    assert requests.post(url, json={}, headers=headers, timeout=30).status_code == 412


@pytest.mark.django_db(transaction=True)
def test_concurrent_duplicates_make_one_record(sales_rep) -> None:
    """Two requests with one key at once: the second waits for the first and replays it
    (PostgreSQL blocks the second insert on the unique key; SQLite serialises writers)."""
    from tests.fixtures import client_for

    the_key = key()
    answers: list[int] = []
    bodies: list[dict] = []

    def post() -> None:
        try:
            response = client_for(sales_rep).post(
                CUSTOMERS, GRACE, format="json", HTTP_IDEMPOTENCY_KEY=the_key
            )
            answers.append(response.status_code)
            bodies.append(response.json())
        finally:
            connection.close()

    threads = [threading.Thread(target=post) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert Customer.objects.count() == 1
    assert sorted(answers) == [201, 201]
    assert bodies[0] == bodies[1]


def test_the_schema_documents_the_header_on_creates_and_actions(api) -> None:
    schema = api.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    create = schema["paths"]["/api/v1/customers/"]["post"]
    accept = schema["paths"]["/api/v1/sales/quotes/{id}/accept/"]["post"]
    for operation in (create, accept):
        names = [p["name"] for p in operation.get("parameters", []) if p["in"] == "header"]
        assert "Idempotency-Key" in names
        assert "422" in operation["responses"]
    update = schema["paths"]["/api/v1/customers/{id}/"]["patch"]
    assert "Idempotency-Key" not in [p["name"] for p in update.get("parameters", [])]


# --- pages -------------------------------------------------------------------------------


def form_token(html: str, prefix: str = "") -> str:
    name = f"{prefix}-form_token" if prefix else "form_token"
    match = re.search(rf'name="{name}" value="([0-9a-f]+)"', html)
    assert match, f"no {name} in the page"
    return match.group(1)


def test_a_double_click_on_create_makes_one_customer_and_shows_it_twice(client, sales_rep) -> None:
    # given: the create page, with its one-time token
    client.force_login(sales_rep)
    page = client.get(reverse("customers:create")).content.decode()
    form = {
        "kind": "person",
        "first_name": "Grace",
        "last_name": "Hopper",
        "lifecycle_stage": "prospect",
        "owner": sales_rep.pk,
        "form_token": form_token(page),
    }
    # when: posted twice (a double click)
    first = client.post(reverse("customers:create"), form)
    second = client.post(reverse("customers:create"), form)
    # then: one customer; both land on it with the same success
    customer = Customer.objects.get()
    assert first.status_code == second.status_code == 302
    assert first["Location"] == second["Location"] == reverse("customers:detail", args=[customer.pk])


def test_a_double_click_on_log_makes_one_timeline_entry(client, sales_rep) -> None:
    from customers import services

    ada = services.customer_create(actor=sales_rep, kind="person", first_name="Ada", last_name="Lovelace")
    client.force_login(sales_rep)
    page = client.get(reverse("customers:detail", args=[ada.pk])).content.decode()
    form = {
        "activity-kind": "call",
        "activity-subject": "Rang about renewal",
        "activity-form_token": form_token(page, "activity"),
    }
    url = reverse("customers:activity-create", args=[ada.pk])
    before = Activity.objects.filter(customer=ada).count()
    first = client.post(url, form)
    second = client.post(url, form)
    assert first.status_code == second.status_code == 302
    assert Activity.objects.filter(customer=ada).count() == before + 1
    # a new page gives a new token: a second, deliberate entry is possible
    fresh = form_token(client.get(reverse("customers:detail", args=[ada.pk])).content.decode(), "activity")
    assert fresh != form["activity-form_token"]
    client.post(url, {**form, "activity-form_token": fresh})
    assert Activity.objects.filter(customer=ada).count() == before + 2


def test_a_double_click_on_accept_places_one_order_and_shows_success_twice(client, sales_rep) -> None:
    quote = a_sent_quote(sales_rep)
    client.force_login(sales_rep)
    page = client.get(reverse("sales:quote_detail", args=[quote.pk])).content.decode()
    form = {"version": quote.version, "form_token": form_token(page)}
    url = reverse("sales:quote_accept", args=[quote.pk])
    first = client.post(url, form)
    second = client.post(url, form, follow=True)
    order = SalesOrder.objects.get()
    assert first["Location"] == reverse("sales:order_detail", args=[order.pk])
    assert second.redirect_chain[-1][0] == reverse("sales:order_detail", args=[order.pk])
    texts = [str(m) for m in second.context["messages"]]
    assert any("Quote accepted" in t for t in texts), texts
    assert not any("changed" in t.lower() or "conflict" in t.lower() for t in texts), texts


def test_a_double_click_on_open_case_opens_one_case(client, agent) -> None:
    from customers import services

    ada = services.customer_create(actor=agent, kind="person", first_name="Ada", last_name="Lovelace")
    client.force_login(agent)
    url = reverse("service:case_open") + f"?customer={ada.pk}"
    page = client.get(url).content.decode()
    form = {
        "customer": ada.pk,
        "kind": "enquiry",
        "channel": "phone",
        "priority": "normal",
        "subject": "Where is my order?",
        "form_token": form_token(page),
    }
    first = client.post(url, form)
    second = client.post(url, form)
    assert first.status_code == second.status_code == 302
    assert first["Location"] == second["Location"]
    assert Case.objects.count() == 1
