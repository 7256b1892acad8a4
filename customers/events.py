"""What the customer profile publishes (contracts for `frontoffice.events`)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ProfileChanged:
    """A customer's own fields or contact points changed, or another customer was merged
    into it. Published inside the change's transaction: a subscriber in the
    IN_TRANSACTION phase (the ERP's outbox) commits with it."""

    customer_id: int


@dataclass(frozen=True)
class CustomersMerged:
    """`duplicate_id` was merged into `survivor_id` (published inside the merge's
    transaction). `erp_customer_number` is the number the survivor took over from the
    duplicate (None when it kept its own or neither had one): the ERP must learn that
    this number now belongs to the survivor."""

    survivor_id: int
    duplicate_id: int
    erp_customer_number: str | None


@dataclass(frozen=True)
class MessageBounced:
    """A sent e-mail of the outbound room bounced (`outbound.delivery.outbound_bounce`),
    published inside the bounce's transaction: the app whose message it was (its
    `dedupe_key`) marks its own records in the IN_TRANSACTION phase, committing with it."""

    message_id: int
    customer_id: int
    dedupe_key: str
    recipient: str
    reason: str
