"""`{% load customer_access %}`: whether a page should offer a write on a customer.

    {% if customer|writable_by:request.user and perms.sales.add_opportunity %}...

The same rule the services apply (`customers.guards.may_write`), so a page never offers
what the service then refuses."""

from __future__ import annotations

from typing import Any

from django import template

from customers.guards import may_write

register = template.Library()


@register.filter
def writable_by(customer: Any, user: Any) -> bool:
    return customer is not None and user is not None and may_write(user, customer)
