"""Every non-trivial read of leads, each with a fixed number of queries whatever the
number of rows."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.db.models import Q, QuerySet
from django.http import Http404

from customers.choices import ContactKind
from customers.models import ContactPoint, Customer
from customers.normalise import name_key
from customers.selectors_duplicates import similar_name_ids
from frontoffice.write_path import as_id
from sales.leads.filters import LeadFilter
from sales.leads.models import Lead
from sales.pipeline.models import Opportunity

CANDIDATE_LIMIT = 10


@dataclass(frozen=True)
class Candidate:
    """A live customer a lead may already be, and why."""

    customer: Customer
    reasons: list[str]


def lead_list(*, filters: Mapping[str, Any] | None = None, actor: Any = None) -> QuerySet[Lead]:
    leads: QuerySet[Lead] = LeadFilter(
        filters or {}, queryset=Lead.objects.select_related("owner", "customer")
    ).qs
    return leads


def lead_get(*, lead_id: Any) -> Lead:
    # `or 0`: what is no id finds no row (ids start at 1) and answers 404.
    lead = Lead.objects.select_related("owner", "customer").filter(pk=as_id(lead_id) or 0).first()
    if lead is None:
        raise Http404("No such lead.")
    return lead


def lead_opportunities(*, lead: Lead, limit: int = 20) -> list[Opportunity]:
    """The opportunities a converted lead opened (one query)."""
    return list(Opportunity.objects.filter(source_lead=lead).select_related("stage").order_by("id")[:limit])


def lead_duplicate_candidates(*, lead: Lead, limit: int = CANDIDATE_LIMIT) -> list[Candidate]:
    """Live customers the lead may already be: the customer profile's duplicate rules
    (same normalised e-mail or phone, similar name). At most 3 queries."""
    reasons: dict[int, list[str]] = defaultdict(list)
    match = Q()
    if lead.email:
        match |= Q(kind=ContactKind.EMAIL, value=lead.email)
    if lead.phone:
        match |= Q(kind=ContactKind.PHONE, value=lead.phone)
    if match:
        for customer_id, kind, value in ContactPoint.objects.filter(
            match, customer__merged_into__isnull=True
        ).values_list("customer_id", "kind", "value")[:100]:
            reasons[customer_id].append(f"same {kind} {value}")
    # The profile's name rule, on an unsaved customer shaped like the lead.
    names = []
    if lead.organisation_name:
        names.append(("organisation", lead.organisation_name))
    person = f"{lead.first_name} {lead.last_name}".strip()
    if person:
        names.append(("person", person))
    for kind, display_name in names:
        probe = Customer(kind=kind, display_name=display_name, name_key=name_key(display_name))
        for customer_id in similar_name_ids(probe, limit):
            if "similar name" not in reasons[customer_id]:
                reasons[customer_id].append("similar name")
    ids = list(reasons)[: limit * 2]
    customers = Customer.objects.filter(merged_into__isnull=True).in_bulk(ids)
    return [Candidate(customer=customers[pk], reasons=reasons[pk]) for pk in ids if pk in customers][:limit]
