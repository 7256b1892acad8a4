"""What every handler shares: the outcome it returns, the two ways it refuses an event,
its data checked against a shape, the live customer the ERP means, and the timeline note.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from rest_framework import serializers

from backoffice_sync.erp import ErpEvent
from backoffice_sync.events import ErpFact
from customers.models import Customer
from customers.timeline import activity_record
from frontoffice.actors import ERP_SYNC

SOURCE_APP = "backoffice_sync"
MAX_LINES = 500
MAX_MERGE_HOPS = 5
CENT = Decimal("0.01")


class Rejected(Exception):
    """The event cannot be applied; `str(exc)` says why (kept on the inbox row)."""


class Deferred(Exception):
    """The event depends on one not applied yet; `str(exc)` says which."""


@dataclass
class Outcome:
    """What a handler did: `stale` when nothing was newer, and the facts to publish
    (`backoffice_sync.events`; a stale event may still bring one, a first shipment)."""

    stale: bool = False
    publish: list[ErpFact] = field(default_factory=list)


STALE = Outcome(stale=True)


def errors_text(detail: Any, prefix: str = "") -> list[str]:
    if isinstance(detail, dict):
        return [m for key, value in detail.items() for m in errors_text(value, f"{prefix}{key}.")]
    if isinstance(detail, list) and any(isinstance(item, dict | list) for item in detail):
        return [m for i, item in enumerate(detail) if item for m in errors_text(item, f"{prefix}{i}.")]
    if isinstance(detail, list):
        return [f"{prefix.rstrip('.') or 'data'}: {message}" for message in detail]
    return [f"{prefix.rstrip('.') or 'data'}: {detail}"]


def valid_data(shape: type[serializers.Serializer], event: ErpEvent) -> dict[str, Any]:
    serializer = shape(data=event.data)
    if not serializer.is_valid():
        raise Rejected("Invalid data: " + "; ".join(errors_text(serializer.errors))[:1000])
    return dict(serializer.validated_data)


def live_customer(customer_id: int) -> Customer:
    """The live customer the ERP means, following a merge to its survivor; locked."""
    seen = 0
    current: Any = customer_id
    while True:
        customer = Customer.objects.select_for_update().filter(pk=current).first()
        if customer is None:
            raise Rejected(f"Unknown customer {customer_id}: no such customer in the front office.")
        if customer.merged_into_id is None:
            return customer
        seen += 1
        if seen > MAX_MERGE_HOPS:
            raise Rejected(f"Customer {customer_id} was merged too many times to follow.")
        current = customer.merged_into_id


def record_on_timeline(
    customer_id: int, kind: str, subject: str, event: ErpEvent, ref: Any, **payload: Any
) -> None:
    activity_record(
        customer_id=customer_id,
        kind=kind,
        actor=ERP_SYNC,
        subject=subject[:200],
        source_app=SOURCE_APP,
        occurred_at=event.occurred_at,
        ref=ref,
        payload={
            "erp_event_id": event.id,
            "erp_event_type": str(event.type),
            "erp_version": event.version,
            **payload,
        },
    )


def money_text(amount: Decimal, currency: str) -> str:
    return f"{amount:.2f} {currency}"
