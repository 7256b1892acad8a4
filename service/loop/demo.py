"""Demo data of the service loop, written through the services (deterministic): a
knowledge base, two systemic problems routed to back-office teams and fixed (their
customers told), satisfaction answers on resolved cases, and the proactive messages
of late orders. Nothing is dated after now.

The other proactive messages (order confirmed, shipped, invoice overdue) come from the
sales step's replay of the ERP simulator, whose events they answer. A delay is found
by the hourly sweep: the orders of the history that shipped days after the date they
were promised for were late in between, so the sweep is replayed (time-machine) the
morning after each promise, telling the customer and giving the owner a follow-up
then, which the owner ticks off when the order ships; then it runs once now."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Mapping
from typing import Any

import time_machine
from django.utils import timezone

from backoffice_sync.models import ErpOrderStatus, Shipment
from customers.models import Customer
from frontoffice.actors import DEMO_SEED
from sales.orders.models import SalesOrder
from sales.orders.selectors import with_erp_state
from service import services as case_services
from service.choices import CaseStatus
from service.loop import csat, knowledge, proactive, problems
from service.loop.followups import follow_up_done
from service.loop.models import Article, FollowUp, Problem
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
    late = replay_delay_sweeps() + proactive.proactive_delay_sweep(actor=DEMO_SEED).messaged
    return f"{fixed} problems fixed, {answered} satisfaction answers, {late} late-order messages"


def replay_delay_sweeps() -> int:
    """The delay sweep as it ran in the history: each order whose last parcel shipped
    after the day following its promised date (a backorder ships in parts) was found late
    that morning (08:00); its customer was told and its owner got a follow-up, ticked off
    the day the rest shipped (if that has come)."""
    last_shipped: dict[str, dt.date] = {}
    for ref, shipped_on in Shipment.objects.order_by("shipped_on", "id").values_list(
        "order__order_ref", "shipped_on"
    ):
        last_shipped[ref] = shipped_on
    now = timezone.now()
    told = 0
    orders = (
        with_erp_state(SalesOrder.objects.exclude(order_ref=""))
        .filter(promised_delivery_on__isnull=False, order_ref__in=list(last_shipped))
        .select_related("opportunity__owner")
        .order_by("promised_delivery_on", "pk")
    )
    for order in orders:
        promised = order.promised_delivery_on
        if promised is None:
            continue
        day = promised + dt.timedelta(days=1)
        shipped = last_shipped[order.order_ref]
        found = timezone.make_aware(dt.datetime.combine(day, dt.time(8)))
        if shipped <= day or found >= now:
            continue
        with time_machine.travel(found, tick=False):
            proactive.order_delay_tell(actor=DEMO_SEED, order=order, today=day)
        told += 1
        owner = order.opportunity.owner
        done = timezone.make_aware(dt.datetime.combine(shipped, dt.time(10)))
        follow_up = FollowUp.objects.filter(dedupe_key=f"order-delayed:{order.order_ref}").first()
        in_full = getattr(order, "erp_status", None) in (ErpOrderStatus.SHIPPED, ErpOrderStatus.DELIVERED)
        if (
            owner is not None
            and follow_up is not None
            and follow_up.done_at is None
            and in_full
            and done < now
        ):
            with time_machine.travel(done, tick=False):
                follow_up_done(actor=owner, follow_up_id=follow_up.pk)
    return told
