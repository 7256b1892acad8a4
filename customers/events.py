"""What the customer profile publishes (contracts for `frontoffice.events`)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ProfileChanged:
    """A customer's own fields or contact points changed, or another customer was merged
    into it. Published inside the change's transaction: a subscriber in the
    IN_TRANSACTION phase (the ERP's outbox) commits with it."""

    customer_id: int
