"""What every write to one customer checks first: the row, locked, is a live customer
(not the tombstone of a merge), and the actor may edit it.

The generic steps (lock, version, text, actor) are the kernel's
(`frontoffice.write_path`); what is the profile's own is here: a merged id is a
conflict naming the survivor, and the ownership rule of customers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from customers.models import Customer
from frontoffice import write_path
from frontoffice.actors import Actor
from frontoffice.errors import Conflict
from frontoffice.permissions import can_edit_owned

if TYPE_CHECKING:
    from django.http import HttpRequest
    from rest_framework.request import Request

ANY_CUSTOMER = "customers.change_any_customer"
EDIT_REFUSED = "You may only edit customers you or your team own."


class CustomerMerged(Conflict):
    code = "customer_merged"
    title = "This customer was merged into another one."

    def __init__(self, *, survivor_id: int) -> None:
        self.survivor_id = survivor_id
        super().__init__(f"Customer was merged into customer {survivor_id}.")


def request_actor(request: HttpRequest | Request) -> Actor:
    """Who acts in a request: its signed-in user. Pages and viewsets let no one else
    in (the services then check what that user may do)."""
    return cast("Actor", request.user)


def check_live(customer: Customer) -> Customer:
    """`customer`, unless a merge made it a tombstone (CustomerMerged, naming the survivor)."""
    if customer.merged_into_id is not None:
        raise CustomerMerged(survivor_id=customer.merged_into_id)
    return customer


def lock_customer(customer_id: Any) -> Customer:
    """The live customer, locked until the transaction ends; Http404 for no such
    customer, CustomerMerged for a merged one."""
    return check_live(write_path.lock(Customer, customer_id, what="customer"))


def authorize_customer_write(
    actor: Actor, customer: Customer, *permissions: str, message: str = "You may not do this."
) -> None:
    """The one rule of every write on a customer or on what hangs off it (its contact
    points, consent, timeline entries, opportunities, from any app, page or API):
    the write's own `permissions` (refused with `message`), and the right to edit that
    customer: owning it alone or through the team, unless holding `change_any_customer`.
    A rep refused editing another team's customer is refused everything else on it too."""
    write_path.authorize(actor, *permissions, message=message)
    write_path.authorize(actor, obj=customer, owner_bypass=ANY_CUSTOMER, message=EDIT_REFUSED)


def may_write(user: Any, customer: Customer) -> bool:
    """Whether pages should offer `user` the writes on `customer` (the rule above,
    without a permission of its own)."""
    return bool(user.is_authenticated) and can_edit_owned(user, customer, any_permission=ANY_CUSTOMER)


def authorize_edit(actor: Actor, customer: Customer) -> None:
    """Who may change a customer: `change_customer`, and owning it (alone or through
    the team) unless holding `change_any_customer`. MissingActor without an actor; a
    system actor is bound by its permissions only (it owns nothing)."""
    write_path.authorize(
        actor, "customers.change_customer", obj=customer, owner_bypass=ANY_CUSTOMER, message=EDIT_REFUSED
    )
