"""The reads of customer import jobs, for the pages and the API alike: a user sees only
the imports he sent (`CustomerImport.created_by`)."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import Http404

from customers.models import CustomerImport

NOT_YOURS = "No such import of yours."


def customer_import_list(*, actor: Any) -> QuerySet[CustomerImport]:
    """The actor's imports, newest first (one query, no related rows read)."""
    if actor.pk is None:  # an anonymous actor: never the imports whose sender was deleted
        return CustomerImport.objects.none()
    return CustomerImport.objects.filter(created_by_id=actor.pk).order_by("-created_at", "-id")


def customer_import_get(*, actor: Any, import_id: Any) -> CustomerImport:
    """One of the actor's imports; Http404 (404 in the API too) for another's, one that
    does not exist or an id that is not one."""
    try:
        return customer_import_list(actor=actor).get(pk=int(import_id))
    except (CustomerImport.DoesNotExist, TypeError, ValueError, OverflowError):
        raise Http404(NOT_YOURS) from None
