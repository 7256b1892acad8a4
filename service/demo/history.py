"""Months of service history for the demo (`make run`), replayed through the services.

Like the sales history, it is planned first (a seeded `random.Random` draws who calls,
by which channel, about what, and how each case goes) and then played in time order on
a clock moved with time-machine, from `MONTHS` months ago up to an hour ago, so that
nothing is dated after now:

- admin data first (what admins configure): a business calendar with holidays, SLA
  policies per priority and tier, three queues (front line round robin, billing least
  loaded, supervisors) and goodwill limits per role (agent 50, supervisor 500);
- every case opens through `case_open` (every channel and kind), calls through
  `call_log` (some resolved on first contact), replies, waits on the customer or the
  back office, resolutions and closures through `case_transition`; some are answered
  late, and the SLA sweep (`sla_sweep`, as beat runs it) escalates them to the
  supervisors; complaints get goodwill within the agent's limit (a credit note in the
  outbox) or above it, which a supervisor approves or refuses;
- the most recent cases are left where they are: new, open, waiting.
"""

from __future__ import annotations

import datetime as dt
import heapq
import itertools
import random
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

import time_machine
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group
from django.utils import timezone

from customers.demo.setup import demo_staff
from customers.models import Customer
from frontoffice.actors import DEMO_SEED, SCHEDULER
from frontoffice.management.commands.create_demo_admin import DEMO_PASSWORD
from frontoffice.models import User
from frontoffice.roles import Role
from sales.orders.models import SalesOrder
from service import goodwill, services, settings_services
from service.calls import call_log
from service.choices import CaseCategory, CaseChannel, CaseKind, CasePriority
from service.escalation import sla_sweep
from service.models import Case, Queue

MONTHS = 4
TZ = "Europe/Berlin"
SUBJECTS = {
    CaseKind.ENQUIRY: ["Where is my order?", "Opening hours of the depot", "Do you ship to Ireland?"],
    CaseKind.REQUEST: ["Change the delivery address", "Send a copy of the invoice", "Add a contact person"],
    CaseKind.COMPLAINT: [
        "Delivery arrived damaged",
        "Invoice charged twice",
        "Driver was rude",
        "Parts missing",
    ],
    CaseKind.INCIDENT: ["Pallet jack stopped working", "Wrong items in the parcel", "Web shop login fails"],
}
CATEGORY = {
    "Where is my order?": CaseCategory.DELIVERY,
    "Delivery arrived damaged": CaseCategory.DELIVERY,
    "Parts missing": CaseCategory.DELIVERY,
    "Wrong items in the parcel": CaseCategory.DELIVERY,
    "Change the delivery address": CaseCategory.DELIVERY,
    "Invoice charged twice": CaseCategory.BILLING,
    "Send a copy of the invoice": CaseCategory.BILLING,
    "Driver was rude": CaseCategory.STAFF,
    "Pallet jack stopped working": CaseCategory.PRODUCT,
}
PRIORITIES = [
    CasePriority.LOW,
    CasePriority.NORMAL,
    CasePriority.NORMAL,
    CasePriority.HIGH,
    CasePriority.URGENT,
]
# (priority, first response, resolution) in business minutes; gold customers get half.
TARGETS = {
    CasePriority.LOW: (8 * 60, 5 * 8 * 60),
    CasePriority.NORMAL: (4 * 60, 3 * 8 * 60),
    CasePriority.HIGH: (2 * 60, 8 * 60),
    CasePriority.URGENT: (30, 4 * 60),
}

Event = tuple[dt.datetime, int, Callable[[], None]]


def _configure(staff: dict[str, User], start: dt.date) -> None:
    """The admin data, as an admin would set it up (through the settings services)."""
    holidays = [
        (dt.date(year, month, day), name)
        for year in {start.year, timezone.localdate().year}
        for month, day, name in ((1, 1, "New Year's Day"), (5, 1, "Labour Day"), (12, 25, "Christmas Day"))
    ]
    calendar = settings_services.calendar_create(
        actor=DEMO_SEED,
        name="Service desk",
        timezone=TZ,
        work_days="12345",
        opens_at=dt.time(8),
        closes_at=dt.time(18),
        holidays=holidays,
    )
    for priority, (first, resolution) in TARGETS.items():
        for tier, factor in (("", 1), ("gold", 2)):
            settings_services.sla_policy_create(
                actor=DEMO_SEED,
                name=f"{priority.label}{', gold' if tier else ''}",
                priority=priority,
                tier=tier,
                calendar=calendar.pk,
                first_response_minutes=max(first // factor, 15),
                resolution_minutes=resolution // factor,
                warn_before_minutes=min(60, first // 2),
            )
    supervisors = settings_services.queue_create(
        actor=DEMO_SEED, name="Supervisors", is_supervisor=True, members=[staff["supervisor1"].pk]
    )
    agents = [staff["agent1"].pk, staff["agent2"].pk]
    settings_services.queue_create(
        actor=DEMO_SEED,
        name="Front line",
        description="Every call and message first.",
        is_default=True,
        strategy="round_robin",
        members=agents,
        escalation_queue=supervisors.pk,
    )
    settings_services.queue_create(
        actor=DEMO_SEED,
        name="Billing",
        description="Invoices, credits and payments.",
        strategy="least_loaded",
        members=agents,
        escalation_queue=supervisors.pk,
    )
    for role, amount in ((Role.SERVICE_AGENT, 50), (Role.SERVICE_SUPERVISOR, 500), (Role.ADMIN, 2000)):
        settings_services.goodwill_limit_set(actor=DEMO_SEED, role=role, amount=Decimal(amount))


def _staff() -> dict[str, User]:
    staff, _ = demo_staff()
    second, _created = User.objects.get_or_create(
        username="agent2",
        defaults={
            "first_name": "Mia",
            "last_name": "Novak",
            "email": "agent2@frontoffice.example.com",
            "password": make_password(DEMO_PASSWORD),
        },
    )
    second.groups.add(*Group.objects.filter(name=Role.SERVICE_AGENT))
    staff["agent2"] = second
    return staff


def _working_moment(rng: random.Random, day: dt.date) -> dt.datetime:
    minute = rng.randrange(8 * 60 + 15, 17 * 60 + 30)
    local = dt.datetime.combine(day, dt.time(minute // 60, minute % 60))
    return timezone.make_aware(local, timezone.get_default_timezone())


class Player:
    """Plays the planned events in time order, each at its moment on a frozen clock."""

    def __init__(self, end: dt.datetime) -> None:
        self.end = end
        self.queue: list[Event] = []
        self.counter = itertools.count()
        self.cases: dict[int, int] = {}  # plan number -> case id

    def at(self, moment: dt.datetime, action: Callable[[], None]) -> None:
        if moment < self.end:
            heapq.heappush(self.queue, (moment, next(self.counter), action))

    def play(self) -> int:
        played = 0
        while self.queue:
            moment, _, action = heapq.heappop(self.queue)
            with time_machine.travel(moment, tick=False):
                action()
            played += 1
        return played


def _case(player: Player, n: int) -> Case:
    return Case.objects.get(pk=player.cases[n])


def _plan_case(
    player: Player,
    rng: random.Random,
    n: int,
    customer_id: int,
    order_id: int | None,
    opened: dt.datetime,
    staff: dict[str, User],
) -> None:
    kind = rng.choice(list(CaseKind))
    subject = rng.choice(SUBJECTS[kind])
    channel = list(CaseChannel)[n % len(CaseChannel)]
    priority = rng.choice(PRIORITIES)
    category = CATEGORY.get(subject, CaseCategory.OTHER)
    queue = Queue.objects.get(name="Billing" if category == CaseCategory.BILLING else "Front line")
    agent = staff["agent1"] if n % 2 else staff["agent2"]
    supervisor = staff["supervisor1"]
    fields: dict[str, Any] = {
        "kind": kind,
        "subject": subject,
        "priority": priority,
        "category": category,
        "related_order_id": order_id if category == CaseCategory.DELIVERY else None,
    }
    story = rng.random()

    if channel == CaseChannel.PHONE and story < 0.45:
        # a call resolved on the spot (first-contact resolution)
        def fcr() -> None:
            call = call_log(
                actor=agent,
                customer_id=customer_id,
                direction="inbound",
                duration_seconds=rng.randrange(90, 900),
                outcome="resolved",
                notes=f"{subject}: answered on the call.",
                new_case=fields,
                resolved_on_first_contact=True,
            )
            if call.case_id is not None:
                player.cases[n] = call.case_id

        player.at(opened, fcr)
        return

    def open_() -> None:
        case = services.case_open(
            actor=agent, customer_id=customer_id, channel=channel, queue_id=queue.pk, **fields
        )
        player.cases[n] = case.pk

    player.at(opened, open_)
    late = story > 0.8  # nobody answers in time: the sweep escalates it
    reply_after = (
        dt.timedelta(hours=rng.uniform(6, 30)) if late else dt.timedelta(minutes=rng.randrange(5, 150))
    )
    replied = opened + reply_after
    if late:
        player.at(opened + reply_after - dt.timedelta(minutes=30), _sweep)

    def reply() -> None:
        case = _case(player, n)
        who = supervisor if case.escalated_at else case.assignee or agent
        services.case_note_add(
            actor=who, case_id=case.pk, body="Thank you, we are looking into it.", visibility="public"
        )

    player.at(replied, reply)
    moment = replied
    if rng.random() < 0.3:
        waited = moment + dt.timedelta(hours=rng.uniform(1, 6))
        player.at(waited, lambda: _move(player, n, "waiting_customer"))
        moment = waited + dt.timedelta(hours=rng.uniform(4, 48))
        player.at(moment, lambda: _move(player, n, "open"))
    if category == CaseCategory.BILLING and rng.random() < 0.3:
        waited = moment + dt.timedelta(hours=1)
        player.at(waited, lambda: _move(player, n, "waiting_back_office"))
        moment = waited + dt.timedelta(hours=rng.uniform(4, 30))
        player.at(moment, lambda: _move(player, n, "open"))
    if kind == CaseKind.COMPLAINT:
        amount = Decimal(rng.choice([15, 25, 40, 50, 75, 120, 250]))
        granted = moment + dt.timedelta(minutes=20)

        def grant() -> None:
            case = _case(player, n)
            credit = goodwill.goodwill_grant(
                actor=case.assignee if case.assignee and not case.escalated_at else agent,
                case_id=case.pk,
                amount=amount,
                reason=f"Sorry about: {subject.lower()}",
            )
            if credit.status == "pending":
                decide = goodwill.goodwill_approve if rng.random() < 0.7 else goodwill.goodwill_refuse
                reason = (
                    "Long-standing customer."
                    if decide is goodwill.goodwill_approve
                    else "Already compensated."
                )

                def decision() -> None:
                    decide(actor=supervisor, goodwill_id=credit.pk, reason=reason)

                player.at(timezone.now() + dt.timedelta(hours=rng.uniform(1, 20)), decision)

        player.at(granted, grant)
        moment = granted
    resolved = moment + dt.timedelta(hours=rng.uniform(0.5, 60))
    player.at(
        resolved, lambda: _move(player, n, "resolved", resolution=f"{subject}: sorted out with the customer.")
    )
    player.at(resolved + dt.timedelta(days=rng.uniform(2, 5)), lambda: _move(player, n, "closed"))
    if rng.random() < 0.05:
        player.at(resolved + dt.timedelta(days=1), lambda: _move(player, n, "open"))


def _sweep() -> None:
    sla_sweep(actor=SCHEDULER)


def _move(player: Player, n: int, status: str, resolution: str = "") -> None:
    case = _case(player, n)
    if status == case.status or (status == "closed" and case.status != "resolved"):
        return
    if status == "open" and case.status in ("new", "open"):
        return
    if status == "resolved" and case.status in ("resolved", "closed"):
        return
    who = case.assignee or User.objects.get(username="supervisor1")
    services.case_transition(actor=who, case_id=case.pk, status=status, resolution=resolution)


def seed_service_history(options: Mapping[str, Any]) -> str:
    """Months of service history (nothing when cases exist and `if_empty`)."""
    if options.get("if_empty") and Case.objects.exists():
        return "service history already there"
    rng = random.Random(options.get("seed", 1))
    end = timezone.now() - dt.timedelta(hours=1)
    start_day = (end - dt.timedelta(days=30 * MONTHS)).date()
    staff = _staff()
    if not Queue.objects.exists():
        with time_machine.travel(timezone.make_aware(dt.datetime.combine(start_day, dt.time(7))), tick=False):
            _configure(staff, start_day)
    customers = list(
        Customer.objects.filter(merged_into__isnull=True).order_by("id").values_list("pk", flat=True)
    )
    if not customers:
        return "no customers"
    count = options.get("cases") or min(400, max(40, len(customers) // 6))
    orders: dict[int, list[tuple[dt.datetime, int]]] = {}
    for pk, customer_id, created in SalesOrder.objects.values_list("pk", "customer_id", "created_at"):
        orders.setdefault(customer_id, []).append((created, pk))
    player = Player(end)
    days = [start_day + dt.timedelta(days=d) for d in range((end.date() - start_day).days + 1)]
    workdays = [d for d in days if d.isoweekday() <= 5]
    for n in range(count):
        customer_id = rng.choice(customers)
        opened = _working_moment(rng, rng.choice(workdays))
        if opened >= end:
            continue
        placed = [pk for created, pk in sorted(orders.get(customer_id, [])) if created < opened]
        _plan_case(player, rng, n, customer_id, placed[-1] if placed else None, opened, staff)
    # beat's sweep at the end of each working day, as it runs every minute live
    for day in workdays:
        player.at(
            _working_moment(rng, day).replace(hour=17, minute=55),
            _sweep,
        )
    played = player.play()
    return f"{Case.objects.count()} cases, {played} events"
