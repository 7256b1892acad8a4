"""Demo data of the service loop, written through the services (deterministic): a
knowledge base, two systemic problems routed to back-office teams and fixed (their
customers told), satisfaction answers on resolved cases, and the proactive messages
of late orders. Nothing is dated after now."""

from __future__ import annotations

import random
from collections.abc import Mapping
from typing import Any

from customers.models import Customer
from frontoffice.actors import DEMO_SEED
from service import services as case_services
from service.choices import CaseStatus
from service.loop import csat, knowledge, proactive, problems
from service.loop.models import Article, Problem
from service.models import Case

ARTICLES = [
    (
        "Returns and refunds",
        "Goods can be returned within 30 days; the refund follows within 5 working days.",
        "refund return",
    ),
    (
        "Delivery times",
        "Stock items ship in 1-2 days; made-to-order items as the order confirmation says.",
        "delivery late",
    ),
    (
        "Reading your invoice",
        "Each invoice lists the order, the shipment and the payment terms (30 days).",
        "invoice billing",
    ),
]
CANNED = [
    (
        "Sorry for the damage",
        "Dear {{ customer.first_name }}, we are sorry your delivery arrived damaged. A replacement is on its way ({{ case.reference }}).",
    ),
    (
        "Invoice corrected",
        "Dear {{ customer.first_name }}, we corrected the invoice; the credit note follows ({{ case.reference }}).",
    ),
    (
        "Thanks for waiting",
        "Dear {{ customer.first_name }}, thank you for your patience while we look into {{ case.reference }}.",
    ),
]
PROBLEMS = [
    (
        "Parcels crushed by the regional carrier",
        "delivery",
        "logistics",
        "Delivery arrived damaged",
        "Thin outer boxes on the carrier's new sorting line",
        "Double-wall boxes for every parcel over 5 kg",
    ),
    (
        "Invoices charged twice after the ERP upgrade",
        "billing",
        "billing",
        "Invoice charged twice",
        "A retried export sent the same invoice twice",
        "Exports are idempotent per invoice number",
    ),
]
COMMENTS = {
    5: ["Fast and friendly, thank you!", "Sorted in one call.", ""],
    4: ["Good help, took a day longer than hoped.", ""],
    3: ["OK in the end.", ""],
    2: ["I had to call three times.", ""],
    1: ["Nobody called me back.", ""],
}


def seed_loop(options: Mapping[str, Any]) -> str:
    """Seed once (nothing when problems exist and `if_empty`)."""
    if options.get("if_empty") and Problem.objects.exists():
        return "service loop already there"
    rng = random.Random(options.get("seed", 3))  # noqa: S311 -- demo data, not secrets
    if not Article.objects.exists():
        for title, body, keywords in ARTICLES:
            knowledge.article_create(actor=DEMO_SEED, title=title, body=body, keywords=keywords)
        for title, body in CANNED:
            knowledge.canned_create(actor=DEMO_SEED, title=title, body=body)
    customers = list(
        Customer.objects.filter(merged_into__isnull=True).order_by("id").values_list("pk", flat=True)
    )
    if not customers:
        return "no customers for the service loop"
    fixed = 0
    for title, category, team, subject, cause, fix in PROBLEMS:
        cases = [
            case_services.case_open(
                actor=DEMO_SEED,
                customer_id=pk,
                kind="complaint",
                channel=rng.choice(["phone", "email", "web"]),
                subject=subject,
                category=category,
            ).pk
            for pk in rng.sample(customers, min(4, len(customers)))
        ]
        problem = problems.problem_open(
            actor=DEMO_SEED, title=title, category=category, team=team, case_ids=cases
        )
        problems.problem_resolve(
            actor=DEMO_SEED, problem_id=problem.pk, root_cause=cause, fix=fix, inform_customers=True
        )
        fixed += 1
    open_cases = list(Case.objects.filter(status__in=[CaseStatus.NEW, CaseStatus.OPEN]).order_by("id")[:12])
    answered = 0
    for case in open_cases:
        case_services.case_transition(
            actor=DEMO_SEED, case_id=case.pk, status="resolved", resolution="Sorted with the customer"
        )
        survey = csat.csat_survey_send(actor=DEMO_SEED, case_id=case.pk)
        if rng.random() < 0.75:
            score = rng.choice([5, 5, 4, 4, 3, 2, 1])
            csat.csat_answer(
                token=csat.survey_token(survey), score=score, comment=rng.choice(COMMENTS[score])
            )
            answered += 1
    late = proactive.proactive_delay_sweep(actor=DEMO_SEED).messaged
    return f"{fixed} problems fixed, {answered} satisfaction answers, {late} late-order messages"
