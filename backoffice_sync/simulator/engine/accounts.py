"""Customer accounts: created minimal for an unknown ref, numbered from the ERP's own
series or under a number given from outside, upserted from the front office."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from backoffice_sync.contracts import CustomerAnswer
from backoffice_sync.simulator import dice
from backoffice_sync.simulator.engine.change_log import customer_changed
from backoffice_sync.simulator.engine.checks import check_text, optional_object
from backoffice_sync.simulator.engine.rules import LATE_PAYER_RATE, PAYMENT_TERMS_DAYS, Rejected, next_number
from backoffice_sync.simulator.models import SimCustomer, SimState

_OWN_CUSTOMER_NUMBER = re.compile(r"C-(\d{1,12})")


def new_customer(state: SimState, customer_ref: str, *, number: str = "") -> SimCustomer:
    """A minimal customer for a ref the ERP does not know (unsaved, version 0), under
    `number` when one is given, else the next number of the ERP's own series."""
    if number:
        skip_customer_number(state, number)
    return SimCustomer(
        customer_ref=customer_ref,
        number=number or next_number(state, "customer", "C"),
        payment_terms_days=dice.choice(PAYMENT_TERMS_DAYS, state.seed, "terms", customer_ref),
        pays_late=dice.roll(state.seed, "pays-late", customer_ref) < LATE_PAYER_RATE,
    )


def skip_customer_number(state: SimState, number: str) -> None:
    """A number of the ERP's own series (C-000042) given from outside moves the series
    past it, so that no customer created later is numbered the same."""
    own = _OWN_CUSTOMER_NUMBER.fullmatch(number)
    if own is not None and int(own[1]) > state.counters.get("customer", 0):
        state.counters = {**state.counters, "customer": int(own[1])}


CUSTOMER_NUMBER_LENGTH = 20  # SimCustomer.number


def customer_for(state: SimState, customer_ref: str, *, number: str = "") -> SimCustomer:
    """The ERP customer of this ref, created minimal when the ERP does not know it yet:
    under `number` unless another customer holds it (an order is not refused for that)."""
    customer = SimCustomer.objects.select_for_update().filter(customer_ref=customer_ref).first()
    if customer is not None:
        return customer
    if number and SimCustomer.objects.filter(number=number).exists():
        number = ""
    customer = new_customer(state, customer_ref, number=number)
    customer_changed(state, customer)
    return customer


def customer_upsert(state: SimState, payload: Mapping[str, Any]) -> CustomerAnswer:
    customer_ref = check_text(payload, "customer_ref")
    number = check_text(payload, "erp_customer_number", max_length=20, required=False)
    fields = {
        "name": check_text(payload, "name", max_length=300),
        "email": check_text(payload, "email", max_length=300, required=False),
        "phone": check_text(payload, "phone", max_length=100, required=False),
        "billing_address": optional_object(payload, "billing_address"),
        "shipping_address": optional_object(payload, "shipping_address"),
    }
    customer = SimCustomer.objects.select_for_update().filter(customer_ref=customer_ref).first()
    if customer is not None and number and customer.number != number:
        raise Rejected(f"ERP customer number {number} is not the number of customer {customer_ref}")
    if customer is None and number:
        # An upsert creates the account under the number it names (numbered by another
        # system: an import, the demo data, the old ERP), as master data keyed by number
        # is created in a real ERP; a number is never given to two customers.
        owner = SimCustomer.objects.filter(number=number).values_list("customer_ref", flat=True).first()
        if owner is not None:
            raise Rejected(f"ERP customer number {number} belongs to another customer ({owner})")
        customer = new_customer(state, customer_ref, number=number)
    if customer is None:
        customer = customer_for(state, customer_ref)
    if customer.version == 0 or any(getattr(customer, name) != value for name, value in fields.items()):
        for name, value in fields.items():
            setattr(customer, name, value)
        customer_changed(state, customer)
    return {"erp_customer_number": customer.number}
