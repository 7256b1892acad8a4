"""What the customer API tests share: URLs, customers to aim at, and a snapshot of every
table a write could touch (to prove a refusal wrote nothing)."""

from __future__ import annotations

import itertools
from typing import Any

from rest_framework.test import APIClient

from customers import services
from customers.models import (
    Activity,
    ConsentEvent,
    ContactPoint,
    Customer,
    Relationship,
    Tag,
)
from tests.api_contract import snapshot

LIST = "/api/v1/customers/"
WATCHED = (
    Customer,
    Customer.tags.through,
    Customer.history.model,
    ContactPoint,
    Tag,
    Activity,
    ConsentEvent,
    Relationship,
)
SERIAL = itertools.count(1)


def url(customer: Customer | int, sub: str = "") -> str:
    pk = customer if isinstance(customer, int) else customer.pk
    return f"{LIST}{pk}/{sub}"


def person(actor: Any, first: str = "Ada", last: str = "Lovelace", **fields: Any) -> Customer:
    return services.customer_create(actor=actor, kind="person", first_name=first, last_name=last, **fields)


def rich_person(actor: Any) -> Customer:
    """A customer with what a list row shows: tags, a primary e-mail and phone."""
    n = next(SERIAL)
    return person(
        actor,
        first=f"Person{n}",
        tags=["vip", f"segment-{n % 3}"],
        contact_points=[
            {"kind": "email", "value": f"person{n}@example.com"},
            {"kind": "phone", "value": f"+4420794{n:05d}"},
        ],
    )


def unchanged() -> dict[str, list[dict[str, Any]]]:
    return snapshot(*WATCHED)


def etag(client: APIClient, customer: Customer) -> str:
    return client.get(url(customer))["ETag"]
