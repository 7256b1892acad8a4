"""Demo cases opened through the service, on the demo's customers (deterministic)."""

from __future__ import annotations

import random
from collections.abc import Mapping
from typing import Any

from customers.models import Customer
from frontoffice.actors import DEMO_SEED
from service.choices import CaseChannel, CaseKind, CasePriority
from service.models import Case
from service.services import case_open

SUBJECTS = {
    CaseKind.ENQUIRY: ["Where is my order?", "Opening hours of the depot", "Do you ship to Ireland?"],
    CaseKind.REQUEST: ["Change the delivery address", "Send a copy of the invoice", "Add a contact person"],
    CaseKind.COMPLAINT: ["Delivery arrived damaged", "Invoice charged twice", "Driver was rude"],
    CaseKind.INCIDENT: ["Pallet jack stopped working", "Wrong items in the parcel", "Web shop login fails"],
}


def seed_cases(options: Mapping[str, Any]) -> str:
    """Open a few cases per 100 customers (nothing when cases exist and `if_empty`)."""
    if options.get("if_empty") and Case.objects.exists():
        return "cases already there"
    rng = random.Random(options.get("seed", 1))
    customers = list(
        Customer.objects.filter(merged_into__isnull=True).order_by("id").values_list("pk", flat=True)
    )
    count = min(len(customers), max(10, len(customers) // 25))
    for customer_id in rng.sample(customers, count):
        kind = rng.choice(list(CaseKind))
        case_open(
            actor=DEMO_SEED,
            customer_id=customer_id,
            kind=kind,
            channel=rng.choice(list(CaseChannel)),
            subject=rng.choice(SUBJECTS[kind]),
            priority=rng.choice(
                [CasePriority.NORMAL, CasePriority.NORMAL, CasePriority.HIGH, CasePriority.LOW]
            ),
        )
    return f"{count} cases"
