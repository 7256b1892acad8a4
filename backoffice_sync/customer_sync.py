"""Customer changes to the ERP: when a customer the ERP knows changes its name, e-mail,
phone or addresses, a `customer.upsert` message joins the outbox in the same
transaction (an address changed at the call centre must reach shipping).

Subscribes to the customer profile's `ProfileChanged` event in the IN_TRANSACTION
phase (see hooks.py); `customers` knows nothing of the ERP.
"""

from __future__ import annotations

from backoffice_sync.contracts import Address, CustomerUpsert
from backoffice_sync.erp import MessageKind
from backoffice_sync.models import ErpOrder, OutboxMessage
from backoffice_sync.outbox import outbox_enqueue
from customers.choices import ContactKind, ContactLabel
from customers.events import ProfileChanged
from customers.models import ContactPoint, Customer


def _address(point: ContactPoint | None) -> Address | None:
    if point is None:
        return None
    return {
        "line": point.value,
        "street": point.street,
        "postal_code": point.postal_code,
        "city": point.city,
        "region": point.region,
        "country": point.country,
    }


def customer_payload(customer: Customer) -> CustomerUpsert:
    """What the ERP keeps of a customer (the payload of a `customer.upsert`)."""
    points = sorted(customer.contact_points.all(), key=lambda p: (not p.is_primary, p.pk))

    def first(kind: str, *labels: str) -> ContactPoint | None:
        for point in points:
            if point.kind == kind and (not labels or point.label in labels):
                return point
        return None

    email, phone = first(ContactKind.EMAIL), first(ContactKind.PHONE)
    fallback = first(ContactKind.ADDRESS)
    return {
        "customer_ref": str(customer.pk),
        "erp_customer_number": customer.erp_customer_number or None,
        "name": customer.display_name,
        "email": email.value if email else None,
        "phone": phone.value if phone else None,
        "billing_address": _address(first(ContactKind.ADDRESS, ContactLabel.BILLING) or fallback),
        "shipping_address": _address(first(ContactKind.ADDRESS, ContactLabel.SHIPPING) or fallback),
    }


def known_to_the_erp(customer: Customer) -> bool:
    return bool(customer.erp_customer_number) or ErpOrder.objects.filter(customer=customer).exists()


def on_profile_changed(event: ProfileChanged) -> OutboxMessage | None:
    """Queue an upsert for a customer the ERP knows, unless the ERP already has exactly
    this (the ERP's own echo of an upsert comes back as a change and must not loop)."""
    customer = Customer.objects.filter(pk=event.customer_id, merged_into=None).first()
    if customer is None or not known_to_the_erp(customer):
        return None
    payload = customer_payload(customer)
    aggregate = f"customer:{customer.pk}"
    last = (
        OutboxMessage.objects.filter(aggregate=aggregate, kind=MessageKind.CUSTOMER_UPSERT)
        .order_by("-sequence")
        .values_list("payload", flat=True)
        .first()
    )
    if last == payload:
        return None
    return outbox_enqueue(kind=MessageKind.CUSTOMER_UPSERT, aggregate=aggregate, payload=payload)
