"""Builders the service-loop tests share."""

from __future__ import annotations

from typing import Any

from customers import services as customer_services
from customers.models import Customer
from service import services
from service.models import Case


def a_customer(actor: Any, name: str = "Ada", email: str | None = None) -> Customer:
    return customer_services.customer_create(
        actor=actor,
        kind="person",
        first_name=name,
        last_name="Tester",
        contact_points=[{"kind": "email", "value": email or f"{name.lower()}@example.com"}],
    )


def a_case(actor: Any, customer: Customer, **fields: Any) -> Case:
    fields.setdefault("kind", "complaint")
    fields.setdefault("channel", "phone")
    fields.setdefault("subject", "Parcel arrived broken")
    fields.setdefault("category", "delivery")
    return services.case_open(actor=actor, customer_id=customer.pk, assignee_id=actor.pk, **fields)
