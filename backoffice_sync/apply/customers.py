"""customer.changed: the ERP's number for a customer, onto the profile."""

from __future__ import annotations

from django.core.exceptions import ValidationError

from backoffice_sync.apply.rules import (
    STALE,
    Outcome,
    Rejected,
    live_customer,
    record_on_timeline,
    valid_data,
)
from backoffice_sync.apply.shapes import CustomerData
from backoffice_sync.erp import ErpEvent
from customers.choices import ActivityKind
from customers.models import Customer
from customers.services import customer_update
from frontoffice.actors import ERP_SYNC


def apply_customer_changed(event: ErpEvent, *, stale: bool) -> Outcome:
    """customer.changed: {customer_ref, erp_customer_number}: the ERP's number for the
    customer, written through the customer profile's own service.

    The account of a customer merged into another changes nothing: its number is the
    duplicate's (an echo from before the merge, or one the ERP gave it since), and the
    survivor keeps the number it has (or took over, which the ERP learns from the
    merge), rather than the last account's to report."""
    if stale:
        return STALE
    data = valid_data(CustomerData, event)
    if Customer.objects.filter(pk=data["customer_ref"], merged_into__isnull=False).exists():
        return Outcome()
    customer = live_customer(data["customer_ref"])
    number = data.get("erp_customer_number") or None
    if customer.erp_customer_number == number:
        return Outcome()
    try:
        customer_update(
            actor=ERP_SYNC, customer_id=customer.pk, expected_version=None, erp_customer_number=number
        )
    except ValidationError as exc:
        raise Rejected("; ".join(exc.messages)[:1000]) from None
    subject = f"ERP customer number set to {number}" if number else "ERP customer number removed"
    record_on_timeline(customer.pk, ActivityKind.PROFILE, subject, event, customer)
    return Outcome()
