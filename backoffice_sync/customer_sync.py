"""Customer changes to the ERP: when a customer the ERP knows changes its name, e-mail,
phone or addresses, a `customer.upsert` message joins the outbox in the same
transaction (an address changed at the call centre must reach shipping); when a merge
gives the survivor the duplicate's ERP number, a `customer.merge` goes ahead of the
survivor's upserts, so that the ERP hands the number over before an upsert names it.

Subscribes to the customer profile's `ProfileChanged` and `CustomersMerged` events in
the IN_TRANSACTION phase (see hooks.py); `customers` knows nothing of the ERP.
"""

from __future__ import annotations

from backoffice_sync.contracts import Address, CustomerMerge, CustomerUpsert
from backoffice_sync.erp import MessageKind
from backoffice_sync.models import ErpOrder, OutboxMessage
from backoffice_sync.outbox import outbox_enqueue, outbox_enqueue_ahead
from customers.choices import ContactKind, ContactLabel
from customers.events import CustomersMerged, ProfileChanged
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


def on_profile_changed(event: ProfileChanged) -> None:
    """Queue an upsert for a customer the ERP knows, unless the ERP already has exactly
    this (the ERP's own echo of an upsert comes back as a change and must not loop)."""
    customer = Customer.objects.filter(pk=event.customer_id, merged_into=None).first()
    if customer is None or not known_to_the_erp(customer):
        return
    payload = customer_payload(customer)
    aggregate = f"customer:{customer.pk}"
    last = (
        OutboxMessage.objects.filter(aggregate=aggregate, kind=MessageKind.CUSTOMER_UPSERT)
        .order_by("-sequence")
        .values_list("payload", flat=True)
        .first()
    )
    if last != payload:
        outbox_enqueue(kind=MessageKind.CUSTOMER_UPSERT, aggregate=aggregate, payload=payload)


def on_customers_merged(event: CustomersMerged) -> None:
    """When the survivor took over the duplicate's ERP number, tell the ERP so before
    the survivor's next upsert: that upsert names the number, which the ERP would
    otherwise refuse as another customer's (and the refusal would hold back every later
    message of the survivor). Published in either order with the survivor's
    `ProfileChanged`, the merge goes first (`outbox_enqueue_ahead`)."""
    if not event.erp_customer_number:
        return
    payload: CustomerMerge = {
        "survivor_ref": str(event.survivor_id),
        "duplicate_ref": str(event.duplicate_id),
        "erp_customer_number": event.erp_customer_number,
    }
    outbox_enqueue_ahead(
        kind=MessageKind.CUSTOMER_MERGE, aggregate=f"customer:{event.survivor_id}", payload=payload
    )
