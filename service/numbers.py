"""Cases found by their number in the global search (a `NumberLookup`, see
`frontoffice.numbers`), each with its customer.

A case's number is its id, printed "C-000042" (`Case.reference`): "C-000042", "c 42"
and "42" find it exactly; "C-0004" finds every case whose number starts so (ids 400 to
499), through primary-key ranges in id order. At most 1 + 4 queries whatever the data
(the exact number, then one range per width of number that can start with the input,
stopping once `limit` cases are found).
"""

from __future__ import annotations

from typing import Any

from django.db.models import Q
from django.urls import reverse

from frontoffice.numbers import TypedNumber, padded_ranges
from frontoffice.plugin import NumberHit
from service.models import Case

PREFIX = "C"
_FIELDS = ("id", "subject", "status", "customer__id", "customer__display_name")


def _cases(condition: Q, limit: int) -> list[Case]:
    return list(
        Case.objects.filter(condition).select_related("customer").only(*_FIELDS).order_by("pk")[:limit]
    )


def case_hits(*, number: TypedNumber, actor: Any, limit: int) -> list[NumberHit]:
    """Cases whose number is or starts with the one typed."""
    if not number.names(PREFIX):
        return []
    found = _cases(Q(pk=number.value), 1) if 0 < number.value < 2**63 else []
    if number.prefix_text(PREFIX) is not None:
        for low, high in padded_ranges(number.digits):
            if len(found) >= limit:
                break
            found += _cases(Q(pk__range=(low, high)) & ~Q(pk__in=[c.pk for c in found]), limit - len(found))
    return [
        NumberHit(
            number=case.reference,
            title=f"Case {case.reference}",
            url=reverse("service:case_detail", args=[case.pk]),
            customer_id=case.customer_id,
            customer_name=case.customer.display_name,
            detail=f"{case.customer.display_name} · {case.subject} · {case.get_status_display()}",
        )
        for case in found
    ]
