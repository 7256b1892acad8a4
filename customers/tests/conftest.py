"""Customers the page tests of the profile share (the API tests have theirs in api_setup)."""

from __future__ import annotations

from typing import Any

import pytest

from customers import services
from customers.consent import consent_record
from customers.models import Customer


@pytest.fixture
def ada(sales_rep: Any) -> Customer:
    """A person owned by the sales rep, with an e-mail, a phone and a consent."""
    customer = services.customer_create(
        actor=sales_rep,
        kind="person",
        first_name="Ada",
        last_name="Lovelace",
        tags=["VIP"],
        contact_points=[
            {"kind": "email", "value": "ada@example.com"},
            {"kind": "phone", "value": "020 7946 0000"},
        ],
    )
    consent_record(
        actor=sales_rep,
        customer_id=customer.pk,
        channel="email",
        purpose="newsletter",
        granted=True,
        source="Web form",
    )
    return customer


@pytest.fixture
def theirs(other_rep: Any) -> Customer:
    """A customer owned by a rep of another team."""
    return services.customer_create(actor=other_rep, kind="organisation", organisation_name="Theirs Ltd")
