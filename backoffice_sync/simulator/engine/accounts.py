"""Customer accounts: created minimal for an unknown ref, numbered from the ERP's own
series or under a number given from outside, upserted from the front office, and merged
when the front office merges two customers."""

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
    if customer is not None and customer.merged_into_id is not None:
        # A closed account: its customer lives on in the survivor, whose upserts count.
        # An upsert queued before the merge and delivered after it changes nothing.
        survivor = SimCustomer.objects.get(pk=customer.merged_into_id)
        return {"erp_customer_number": survivor.number}
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


def customer_merge(state: SimState, payload: Mapping[str, Any]) -> CustomerAnswer:
    """The front office merged `duplicate_ref` into `survivor_ref`, which took over the
    duplicate's number: the survivor's account gets the number (created, with the
    duplicate's payment terms, when the ERP does not know the survivor; renumbered when
    it does), and the duplicate's account is closed under a number of the ERP's own
    series, its documents kept. The same merge again changes nothing.

    The closed account publishes no customer.changed: the front office's duplicate is a
    tombstone, and a number for it would only reach its survivor."""
    survivor_ref = check_text(payload, "survivor_ref")
    duplicate_ref = check_text(payload, "duplicate_ref")
    number = check_text(payload, "erp_customer_number", max_length=CUSTOMER_NUMBER_LENGTH)
    if survivor_ref == duplicate_ref:
        raise Rejected(f"customer {survivor_ref} cannot be merged into itself")
    accounts = {
        row.customer_ref: row
        for row in SimCustomer.objects.select_for_update()
        .filter(customer_ref__in=[survivor_ref, duplicate_ref])
        .order_by("customer_ref")
    }
    survivor, duplicate = accounts.get(survivor_ref), accounts.get(duplicate_ref)
    holder = (
        SimCustomer.objects.filter(number=number)
        .exclude(customer_ref__in=[survivor_ref, duplicate_ref])
        .values_list("customer_ref", flat=True)
        .first()
    )
    if holder is not None:
        raise Rejected(f"ERP customer number {number} belongs to another customer ({holder})")
    if survivor is not None and survivor.merged_into_id is not None:
        raise Rejected(f"customer {survivor_ref} was itself merged into another customer")
    merged_into = duplicate.merged_into_id if duplicate is not None else None
    if merged_into is not None and (survivor is None or merged_into != survivor.pk):
        raise Rejected(f"customer {duplicate_ref} was already merged into another customer")
    if duplicate is not None and duplicate.number == number:
        duplicate.number = next_number(state, "customer", "C")  # frees the number first (unique)
        duplicate.save(update_fields=["number", "updated_at"])
    if survivor is None:
        survivor = new_customer(state, survivor_ref, number=number)
        if duplicate is not None:
            survivor.payment_terms_days, survivor.pays_late = (
                duplicate.payment_terms_days,
                duplicate.pays_late,
            )
        customer_changed(state, survivor)
    elif survivor.number != number:
        skip_customer_number(state, number)
        survivor.number = number
        customer_changed(state, survivor)
    if duplicate is not None and duplicate.merged_into_id is None:
        duplicate.merged_into = survivor
        duplicate.save(update_fields=["merged_into", "updated_at"])
    return {"erp_customer_number": survivor.number}
