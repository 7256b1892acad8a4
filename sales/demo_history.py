"""Months of sales history for the demo (`manage.py seed_sales_demo`), replayed through
the sales services and the ERP simulator.

Why a replay rather than inserted rows: the forecast's accuracy compares each past month
with the snapshot published before it began; an order's page shows what the ERP did
with it over weeks (confirmed, shipped in parts, delivered, invoiced, paid or overdue);
timelines show when each step happened. None of that can be made true after the fact.

So the history is *planned* first, in memory, from a seeded `random.Random` (which
customers buy, who owns the deal, which products, when it opens, moves, is quoted, won
or lost, slips, is cancelled), and then *played* in time order on a clock moved with
time-machine, from about `months` months ago up to last midnight:

- each business action runs through its service at its planned moment:
  `sales.services` (leads, opportunities, stage moves, win/lose), `sales.quotes`
  (price lists, quotes, approval, sending, revising), `sales.orders` (accepting a
  quote places the order and queues it in the outbox; cancelling);
- a quote is signed weeks after it was sent, when the back office often can no longer
  deliver by the date it promised (other orders took the stock, or the date is past):
  accepting then refuses, as it does live, and the deal goes one of the two ways it does
  in real life, planned like the rest: the customer takes the later date, or the rep
  sends a new revision with the date the back office can promise now, which the
  customer signs. No order carries a promise made in the past;
- placing or cancelling an order kicks the outbox relay, as the commit does live: the
  simulator's clock moves to that moment and the message is delivered;
- every working day at 07:00 the back office catches up as beat would: the simulator
  works through the night (`tick_simulator`: confirming, reserving, shipping, invoicing,
  collecting payments, flagging overdue invoices, reordering stock), the relay delivers
  what is due (`relay_outbox`), sent quotes past their validity expire
  (`expire_quotes`), and the inbox pulls and applies what the ERP did (`poll_erp`);
- every Monday at 06:00 the forecast is published, as beat's `publish_forecast` does;
- at the end, at the real time, the last catch-up, this week's forecast, the product
  affinities (`recompute_affinities`) and the reconciliation of the sync monitor.

Nothing is written behind the services' backs, except configuration no service writes
(the `tier` custom field and the discount limits, admin data, as the customers seed
does for its fields) and, on the ERP's side, its credit control marking a few customers
as late payers (`erp_simulator.customer_update`, there for demos), so that some invoices
are overdue whatever the simulator's dice say.

Same seed, same date: same history. Everything that is drawn is drawn while planning;
what happens while playing depends only on the database (the simulator rolls its own
seeded dice), and the replay stops at last midnight whatever the hour it runs.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import heapq
import itertools
import logging
import random
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import time_machine
from django.conf import settings
from django.contrib.auth.models import Permission
from django.db.models import Q
from django.utils import timezone

from backoffice_sync import inbox
from backoffice_sync.erp import ErpError, get_adapter
from backoffice_sync.models import InboxEvent, Invoice, OutboxMessage, Product
from backoffice_sync.outbox import relay_due
from backoffice_sync.simulator import engine as erp_simulator
from backoffice_sync.sync_status import reconcile
from customers.choices import AppliesTo, ContactKind, CustomerKind, FieldType
from customers.models import ContactPoint, Customer, CustomFieldDefinition
from customers.services import customer_update
from frontoffice.actors import DEMO_SEED
from frontoffice.models import User
from frontoffice.roles import Role
from sales import forecast, orders, quote_expiry, quotes, services
from sales.models import (
    CustomerTier,
    DiscountLimit,
    ForecastSnapshot,
    Lead,
    LeadSource,
    LeadStatus,
    Opportunity,
    Pipeline,
    PriceList,
    Quote,
    SalesOrder,
    StageKind,
)
from sales.selectors_orders import order_queryset, order_state
from sales.tasks import recompute_affinities

CENT = Decimal("0.01")
MORNING = dt.time(7, 0)  # the back office catches up: the ERP's night, the relay, the pull
FORECAST_AT = dt.time(6, 0)  # beat's `publish-forecast`: Mondays 06:00
WORKING_MINUTES = range(8 * 60 + 30, 16 * 60 + 45, 15)  # business actions between these

# Price lists: (currency, tier, factor on the ERP's catalogue price in EUR).
PRICE_LISTS = (
    ("EUR", CustomerTier.STANDARD, Decimal("1.00")),
    ("EUR", CustomerTier.SILVER, Decimal("0.95")),
    ("EUR", CustomerTier.GOLD, Decimal("0.90")),
    ("GBP", CustomerTier.STANDARD, Decimal("0.86")),
    ("USD", CustomerTier.STANDARD, Decimal("1.08")),
)
# The largest line discount each role gives without approval (admins configure these).
DISCOUNT_LIMITS = {Role.SALES: Decimal("10"), Role.ADMIN: Decimal("25")}
if "Sales manager" in Role.ALL:
    DISCOUNT_LIMITS["Sales manager"] = Decimal("20")
TAX_RATES = {
    "DE": Decimal("19"),
    "FR": Decimal("20"),
    "NL": Decimal("21"),
    "GB": Decimal("20"),
    "US": Decimal("0"),
}
TIER_FIELD = {
    "key": "tier",
    "label": "Price tier",
    "field_type": FieldType.CHOICE,
    "choices": list(CustomerTier.values),
    "applies_to": AppliesTo.ANY,
    "help_text": "Which price list quotes use: standard, silver or gold.",
}
SECOND_PIPELINE = (
    "Framework agreements",
    (("Scoping", 20, StageKind.OPEN), ("Tender", 40, StageKind.OPEN), ("Shortlisted", 70, StageKind.OPEN)),
)

# What customers buy together (product families of the ERP catalogue, by name), so that
# "customers who bought X also bought Y" has something to say. Quantities per family.
THEMES = (
    ("Workstations", ("Standing desk", "Ergonomic desk chair", "Monitor arm", "Desk lamp", "Footrest")),
    ("Meeting rooms", ("Meeting table", "Ergonomic desk chair", "Whiteboard", "Acoustic panel")),
    ("Storage", ("Filing cabinet", "Bookcase")),
    ("Quiet office", ("Acoustic panel", "Desk lamp", "Footrest", "Whiteboard")),
)
QUANTITIES = {
    "Standing desk": (2, 24),
    "Ergonomic desk chair": (2, 30),
    "Monitor arm": (2, 30),
    "Desk lamp": (2, 25),
    "Footrest": (1, 15),
    "Meeting table": (1, 3),
    "Whiteboard": (1, 5),
    "Acoustic panel": (4, 20),
    "Filing cabinet": (1, 10),
    "Bookcase": (1, 8),
}
BIG_ORDER = (700, 900)  # units: more than the ERP's three warehouses hold of a product
BIG_ORDER_ITEM_PRICE = Decimal("100")  # ... of a small item only
WITHIN_LIMIT_DISCOUNTS = (0, 0, 0, 0, 3, 5, 5, 8, 10)
ABOVE_LIMIT_DISCOUNTS = (12, 15)
LOST_REASONS = (
    "Price too high compared with the competition",
    "Went with a competitor's framework agreement",
    "No budget this year",
    "Project postponed to next year",
    "Our lead time was too long for their move",
    "No decision: the buyer left the company",
)
DISQUALIFIED_REASONS = (
    "No budget and no project",
    "Private person furnishing a flat, not a business",
    "A competitor asking for our prices",
    "Outside our delivery area",
    "Already a customer: handled by the account owner",
    "Not reachable after three attempts",
)
CANCEL_REASON = "The customer ordered through their group's framework agreement instead."
# Of the deals whose quoted date can no longer be kept at signing, the share where the
# rep re-quotes rather than the customer taking the later date.
REDATE_SHARE = 0.35
LEAD_FIRST = (
    "Anna",
    "Ben",
    "Clara",
    "David",
    "Elif",
    "Felix",
    "Greta",
    "Hugo",
    "Ines",
    "Jonas",
    "Kira",
    "Luca",
)
LEAD_LAST = (
    "Adler",
    "Brandt",
    "Costa",
    "Dubois",
    "Evans",
    "Fischer",
    "Garcia",
    "Hansen",
    "Ivanova",
    "Jansen",
)
LEAD_COMPANIES = (
    "Northwind Architects",
    "Bluebird Coworking",
    "Harbour Dental Group",
    "Kestrel Insurance Brokers",
    "Lindenhof Kanzlei",
    "Maison Verte Studio",
    "Polder Tech",
    "Quayside Accountants",
    "Riverside Clinic",
    "Summit Recruitment",
    "Tulip Software",
    "Vantage Logistics Hub",
)
LEAD_TITLES = (
    "Furnishing a new office for {n} people",
    "Standing desks for the whole team",
    "Quote for meeting room furniture",
    "Acoustic panels for an open-plan floor",
    "Replacing old office chairs",
    "Storage for the new archive",
)


# --- the plan ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Shape:
    """A pipeline as the plan sees it: its open stages in order, where quoting starts."""

    pipeline_id: int
    open_stages: tuple[int, ...]
    quote_from: int  # index into open_stages


@dataclass(frozen=True)
class Buyer:
    """A customer who may buy: id, owner, country, tier, whether the ERP knows it."""

    pk: int
    owner_id: int | None
    country: str
    tier: str
    erp_known: bool


@dataclass
class LeadPlan:
    opens: dt.datetime
    owner: User | None
    fields: dict[str, Any]
    fate: str  # a LeadStatus
    fate_at: dt.datetime | None = None
    reason: str = ""
    worker: User | None = None  # who qualifies, disqualifies or converts
    pk: int | None = None


@dataclass
class Deal:
    """One opportunity's life, planned; the ids are filled in while playing."""

    owner: User
    buyer: Buyer | None  # None: the customer is created by converting `lead`
    shape: Shape
    currency: str
    tier: str
    tax_rate: Decimal
    name: str  # the theme; the opportunity's name adds its first line
    lines: list[tuple[str, int, Decimal]]  # sku, quantity, discount percent
    first_stage: int
    outcome: str  # "won", "lost" or "open"
    close_on: dt.date
    slip_to: dt.date | None = None
    lost_reason: str = ""
    needs_approval: bool = False
    big: bool = False  # more than the warehouses hold: a later promise, partial shipments
    # When the quote's date can no longer be kept at signing: the rep sends a new
    # revision (True) or the customer takes the later date (False).
    redate_when_late: bool = False
    requested_on: dt.date | None = None
    valid_until: dt.date | None = None
    set_tier: str = ""
    lead: LeadPlan | None = None
    opportunity_id: int | None = None
    quote_id: int | None = None
    order_id: int | None = None

    @property
    def final_close_on(self) -> dt.date:
        return self.slip_to or self.close_on


@dataclass(order=True)
class Event:
    at: dt.datetime
    seq: int
    action: Callable[..., None] = field(compare=False)
    args: tuple[Any, ...] = field(compare=False, default=())


def workday(day: dt.date, *, forward: bool = True) -> dt.date:
    while day.weekday() >= 5:
        day += dt.timedelta(days=1 if forward else -1)
    return day


def history_start(today: dt.date, months: int) -> dt.date:
    """The Monday a fortnight before the first of the month `months` months ago, so that
    the forecast published that week is the one before the first month reported."""
    month = today.replace(day=1)
    for _ in range(months):
        month = (month - dt.timedelta(days=1)).replace(day=1)
    start = month - dt.timedelta(days=14)
    return start - dt.timedelta(days=start.weekday())


@dataclass
class Totals:
    leads: Counter[str] = field(default_factory=Counter)
    opportunities: Counter[str] = field(default_factory=Counter)
    quotes: Counter[str] = field(default_factory=Counter)
    orders: Counter[str] = field(default_factory=Counter)
    invoices: Counter[str] = field(default_factory=Counter)
    snapshots: int = 0
    affinities: int = 0
    days: int = 0
    started_on: dt.date | None = None


@contextlib.contextmanager
def _quiet(name: str) -> Iterator[None]:
    """The relay logs every batch at INFO: a line per day of history is noise here."""
    logger = logging.getLogger(name)
    level = logger.level
    logger.setLevel(max(logging.WARNING, logger.getEffectiveLevel()))
    try:
        yield
    finally:
        logger.setLevel(level)


class NotFresh(Exception):
    """The replay needs an ERP simulator nobody has used yet; `str(exc)` says why not."""


def fresh_erp_problem() -> str | None:
    """Why the history cannot be replayed on this database, or None when it can."""
    if settings.ERP_ADAPTER != "stub":
        return "it replays the in-process ERP simulator (ERP_ADAPTER=stub), not an ERP over HTTP"
    if OutboxMessage.objects.exists() or InboxEvent.objects.exists():
        return (
            "the front office has already exchanged messages with the ERP simulator, whose clock "
            "cannot go back; seed an empty database"
        )
    return None


class SalesHistory:
    """Plans and plays the demo's sales history (see the module docstring)."""

    def __init__(self, *, seed: int, months: int, deals: int, now: dt.datetime | None = None) -> None:
        if months < 1:
            raise ValueError("months must be at least 1")
        self.rng = random.Random(seed)
        self.deal_count = deals
        self.real_now = now or timezone.now()
        self.tz = timezone.get_current_timezone()
        self.today = timezone.localdate(self.real_now)
        self.start_day = history_start(self.today, months)
        self.end = self._at(self.today, dt.time.min)  # the replay stops at last midnight
        self.adapter: Any = None
        self.events: list[Event] = []
        self._seq = itertools.count()
        self.totals = Totals(started_on=self.start_day)

    # -- helpers ----------------------------------------------------------------------------

    def _at(self, day: dt.date, moment: dt.time) -> dt.datetime:
        return dt.datetime.combine(day, moment, tzinfo=self.tz)

    def _during(self, day: dt.date) -> dt.datetime:
        minutes = self.rng.choice(WORKING_MINUTES)
        return self._at(day, dt.time(minutes // 60, minutes % 60))

    def _schedule(self, at: dt.datetime, action: Callable[..., None], *args: Any) -> None:
        if at < self.end:  # what would happen from today on is left to the future
            heapq.heappush(self.events, Event(at, next(self._seq), action, args))

    # -- set-up (at the start of the history) ----------------------------------------------

    def run(self) -> Totals:
        with (
            _quiet("backoffice_sync"),
            time_machine.travel(self._at(self.start_day, dt.time(6, 0)), tick=False) as traveller,
        ):
            self._configure()
            self._plan()
            while self.events:
                event = heapq.heappop(self.events)
                traveller.move_to(event.at)
                event.action(*event.args)
            traveller.move_to(self.real_now)
            self._finish()
        self._count()
        return self.totals

    def _configure(self) -> None:
        """Start the ERP simulator at the beginning of the history, mirror its catalogue,
        and set up what sales needs: pipelines, price lists, discount limits, tiers."""
        self.adapter = get_adapter()
        self.adapter.reset(start=timezone.now())
        self._catch_up()
        services.ensure_default_pipeline()
        self.shapes = [self._shape(services.default_pipeline())]
        name, stages = SECOND_PIPELINE
        second = Pipeline.objects.filter(name__iexact=name).first() or services.pipeline_create(
            actor=None,
            name=name,
            stages=[
                *({"name": n, "probability": p, "kind": k} for n, p, k in stages),
                {"name": "Won", "probability": 100, "kind": StageKind.WON},
                {"name": "Lost", "probability": 0, "kind": StageKind.LOST},
            ],
        )
        self.shapes.append(self._shape(second))
        self.products = {p.sku: p for p in Product.objects.filter(active=True).order_by("sku")}
        if not self.products:
            raise NotFresh("the ERP simulator's catalogue did not reach the product mirror")
        self.price_lists = self._price_lists()
        for role, percent in DISCOUNT_LIMITS.items():
            DiscountLimit.objects.get_or_create(role=role, defaults={"max_discount_percent": percent})
        CustomFieldDefinition.objects.get_or_create(key=TIER_FIELD["key"], defaults=TIER_FIELD)

    def _shape(self, pipeline: Pipeline) -> Shape:
        stages = list(pipeline.stages.filter(kind=StageKind.OPEN).order_by("order"))
        names = [s.name.lower() for s in stages]
        quote_from = names.index("proposal") if "proposal" in names else len(stages) // 2
        return Shape(pipeline.pk, tuple(s.pk for s in stages), quote_from)

    def _price_lists(self) -> dict[tuple[str, str], dict[str, Decimal]]:
        """One list per (currency, tier), through the price-list service (as an admin)."""
        prices = {}
        for currency, tier, factor in PRICE_LISTS:
            items = {
                sku: (product.unit_price * factor).quantize(CENT, rounding=ROUND_HALF_UP)
                for sku, product in self.products.items()
                if product.currency == "EUR"
            }
            if not PriceList.objects.filter(currency=currency, tier=tier, active=True).exists():
                quotes.price_list_create(
                    actor=None,
                    name=f"{currency} {CustomerTier(tier).label.lower()}",
                    currency=currency,
                    tier=tier,
                    items=[{"sku": sku, "unit_price": price} for sku, price in items.items()],
                )
            prices[(currency, tier)] = items
        return prices

    # -- the plan ------------------------------------------------------------------------------

    def _staff(self) -> tuple[list[User], User | None]:
        reps = list(
            User.objects.filter(is_active=True, groups__name=Role.SALES).distinct().order_by("username")
        )
        if not reps:
            raise NotFresh("there are no sales reps (users in the Sales role): run seed_demo first")
        approve = Permission.objects.filter(codename="approve_quote", content_type__app_label="sales")
        approvers = (
            User.objects.filter(is_active=True)
            .filter(
                Q(is_superuser=True) | Q(groups__permissions__in=approve) | Q(user_permissions__in=approve)
            )
            .exclude(pk__in=[r.pk for r in reps])
            .distinct()
            .order_by("is_superuser", "username")
        )
        return reps, approvers.first()

    def _buyers(self) -> tuple[list[Buyer], list[Buyer]]:
        """Organisations and people with a primary e-mail (quotes are e-mailed), by id."""
        emails = set(
            ContactPoint.objects.filter(kind=ContactKind.EMAIL, is_primary=True).values_list(
                "customer_id", flat=True
            )
        )
        countries = dict(
            ContactPoint.objects.filter(kind=ContactKind.ADDRESS, is_primary=True).values_list(
                "customer_id", "country"
            )
        )
        organisations, people = [], []
        rows = Customer.objects.filter(merged_into=None).order_by("pk")
        for pk, kind, owner_id, attributes, number in rows.values_list(
            "pk", "kind", "owner_id", "attributes", "erp_customer_number"
        ):
            if pk not in emails:
                continue
            buyer = Buyer(
                pk=pk,
                owner_id=owner_id,
                country=countries.get(pk, ""),
                tier=quotes.customer_tier(Customer(attributes=attributes or {})),
                erp_known=bool(number),
            )
            (organisations if kind == CustomerKind.ORGANISATION else people).append(buyer)
        return organisations, people

    def _plan(self) -> None:
        rng = self.rng
        self.reps, self.approver = self._staff()
        by_pk = {rep.pk: rep for rep in self.reps}
        organisations, people = self._buyers()
        if not organisations and not people:
            raise NotFresh("there are no customers with an e-mail address: run seed_demo first")
        pool = organisations or people
        key_accounts = rng.sample(pool, k=max(1, min(len(pool), len(pool) // 10, 40)))
        # Half the key accounts get a better price tier. Only those the ERP does not know
        # yet: the ERP is told of every change to a customer it knows (an upsert), and the
        # demo's ERP numbers were made up by the customers seed, so it would refuse them.
        self.tiers = {
            buyer.pk: rng.choice((CustomerTier.SILVER, CustomerTier.SILVER, CustomerTier.GOLD))
            for buyer in key_accounts
            if not buyer.erp_known and buyer.tier == CustomerTier.STANDARD and rng.random() < 0.5
        }
        families = self._families()
        history_days = (self.today - self.start_day).days

        late_payers: dict[int, None] = {}
        leads = max(6, self.deal_count // 3)
        converted = [lead for lead in (self._plan_lead(i) for i in range(leads)) if lead.fate == "converted"]
        buyers_left = max(0, self.deal_count - len(converted))
        for index in range(buyers_left + len(converted)):
            lead = converted[index - buyers_left] if index >= buyers_left else None
            closes_on = None
            if lead is not None:
                buyer, opens = None, lead.fate_at
                owner = lead.worker
            else:
                roll = rng.random()
                group = key_accounts if roll < 0.35 else (people if roll > 0.9 and people else pool)
                buyer = rng.choice(group)
                owner = by_pk.get(buyer.owner_id) or rng.choice(self.reps)
                # Some of the pipeline was there when the CRM went live; some deals closed in
                # the last fortnight (orders still on their way) or a month or so ago (their
                # invoices fall due about now); a sixth are still ahead (the board and the
                # forecast's coming months); the rest arrived day by day.
                when = rng.random()
                if when < 0.18:
                    opens_on = self.start_day
                elif when < 0.38:
                    back = rng.randint(1, 8) if when < 0.3 else rng.randint(25, 60)
                    closes_on = workday(self.today - dt.timedelta(days=back), forward=False)
                    opens_on = workday(closes_on - dt.timedelta(days=rng.randint(25, 70)))
                elif when < 0.55:
                    closes_on = workday(self.today + dt.timedelta(days=rng.randint(3, 100)))
                    opens_on = workday(self.today - dt.timedelta(days=rng.randint(3, 60)), forward=False)
                else:
                    opens_on = workday(self.start_day + dt.timedelta(days=rng.randrange(history_days)))
                opens_on = max(opens_on, self.start_day)
                opens = self._during(opens_on)
            deal = self._plan_deal(owner, buyer, opens, key_accounts, families, closes_on=closes_on)
            deal.lead = lead
            self._schedule_deal(deal, opens)
            if (
                buyer is not None
                and deal.outcome == "won"
                and closes_on
                and closes_on < self.today - dt.timedelta(days=20)
            ):
                late_payers.setdefault(buyer.pk, None)
        # The ERP's credit control knows a few of last month's buyers pay late (on short
        # terms), so that some invoices are overdue now whatever the simulator's dice say.
        refs = [str(pk) for pk in list(late_payers)[: max(2, self.deal_count // 25)]]
        self._schedule(self._at(self.start_day, dt.time(6, 30)), self._credit_control, refs)
        self._schedule_back_office()

    def _families(self) -> dict[str, list[str]]:
        families: dict[str, list[str]] = {}
        for sku, product in self.products.items():
            families.setdefault(product.name.rsplit(" ", 1)[0], []).append(sku)
        return families

    def _plan_lead(self, index: int) -> LeadPlan:
        rng = self.rng
        history_days = (self.today - self.start_day).days
        opens_on = workday(self.start_day + dt.timedelta(days=rng.randrange(history_days)))
        age = (self.today - opens_on).days
        source = rng.choice(
            (LeadSource.MARKETING_FORM, LeadSource.MARKETING_FORM, LeadSource.MANUAL, LeadSource.IMPORTED)
        )
        owner = None if source == LeadSource.MARKETING_FORM else rng.choice(self.reps)
        first, last = rng.choice(LEAD_FIRST), rng.choice(LEAD_LAST)
        company = f"{rng.choice(LEAD_COMPANIES)} {index + 1}"
        domain = f"{company.lower().replace(' ', '-')}.example.net"
        fields = {
            "first_name": first,
            "last_name": last,
            "organisation_name": company,
            "email": f"{first.lower()}.{last.lower()}@{domain}",
            "title": rng.choice(LEAD_TITLES).format(n=rng.choice((8, 15, 25, 40, 60))),
            "source": source,
        }
        if age > 21:
            fate = rng.choices(("converted", "disqualified", "qualified", "new"), (45, 30, 15, 10))[0]
        else:
            fate = rng.choices(("new", "qualified", "disqualified", "converted"), (50, 30, 10, 10))[0]
        plan = LeadPlan(opens=self._during(opens_on), owner=owner, fields=fields, fate=fate)
        plan.worker = owner or rng.choice(self.reps)
        if fate != LeadStatus.NEW:
            plan.fate_at = self._during(workday(opens_on + dt.timedelta(days=rng.randint(1, 10))))
            if plan.fate_at >= self.end:  # too recent to have been worked on yet
                plan.fate, plan.fate_at = LeadStatus.NEW, None
        if plan.fate == LeadStatus.DISQUALIFIED:
            plan.reason = rng.choice(DISQUALIFIED_REASONS)
        self._schedule(plan.opens, self._lead_create, plan)
        if plan.fate in (LeadStatus.QUALIFIED, LeadStatus.DISQUALIFIED):
            self._schedule(plan.fate_at, self._lead_work, plan)
        return plan

    def _plan_deal(
        self,
        owner: User,
        buyer: Buyer | None,
        opens: dt.datetime,
        key_accounts: list[Buyer],
        families: dict[str, list[str]],
        *,
        closes_on: dt.date | None = None,
    ) -> Deal:
        """`closes_on`: when the deal closes; in the past, a recent deal, mostly won, some of
        them big orders; today or later, a deal still open."""
        rng = self.rng
        country = buyer.country if buyer else ""
        currency = "EUR"
        if country == "GB" and rng.random() < 0.15:
            currency = "GBP"
        elif country == "US" and rng.random() < 0.4:
            currency = "USD"
        set_tier = self.tiers.get(buyer.pk, "") if buyer else ""
        tier = set_tier or (buyer.tier if buyer else CustomerTier.STANDARD)
        theme, wanted = rng.choice(THEMES)
        available = [f for f in wanted if f in families] or sorted(families)
        chosen = rng.sample(available, k=min(len(available), rng.choice((1, 1, 2, 2, 3))))
        needs_approval = self.approver is not None and rng.random() < 0.12
        lines = []
        for position, family in enumerate(chosen):
            sku = rng.choice(sorted(families[family]))
            low, high = QUANTITIES.get(family, (1, 10))
            discount = rng.choice(
                ABOVE_LIMIT_DISCOUNTS if needs_approval and position == 0 else WITHIN_LIMIT_DISCOUNTS
            )
            lines.append((sku, rng.randint(low, high), Decimal(discount)))
        shape = self.shapes[1] if buyer in key_accounts and rng.random() < 0.3 else self.shapes[0]
        go_live = opens.date() == self.start_day
        # B2B cycles of one to three months: most deals closing in a month were in the
        # forecast published before it began.
        close_on = closes_on or workday(
            opens.date() + dt.timedelta(days=rng.randint(5 if go_live else 25, 80 if go_live else 90))
        )
        recent = closes_on is not None and closes_on < self.today
        in_transit = recent and self.today - closes_on < dt.timedelta(days=14)
        outcome = "won" if rng.random() < (0.85 if in_transit else 0.7 if recent else 0.55) else "lost"
        slip_to = None
        if closes_on is None and rng.random() < 0.15:
            slip_to = workday(close_on + dt.timedelta(days=rng.randint(14, 40)))
        if in_transit and outcome == "won" and rng.random() < 0.4 and self._make_big(lines):
            # The quote promises a later date than asked for; the ERP ships what it has
            # after the item's short lead time and the rest once its supplier delivers:
            # placed a few days ago, the order is mid-way.
            lines[:] = [line for line in lines if line[1] >= BIG_ORDER[0]]
            close_on = workday(self.today - dt.timedelta(days=rng.randint(3, 6)), forward=False)
        needs_approval = any(discount > max(WITHIN_LIMIT_DISCOUNTS) for _, _, discount in lines)
        deal = Deal(
            owner=owner,
            buyer=buyer,
            shape=shape,
            currency=currency,
            tier=tier,
            tax_rate=TAX_RATES.get(country, Decimal("19")) if currency != "USD" else Decimal("0"),
            name=theme,
            lines=lines,
            first_stage=rng.randrange(len(shape.open_stages)) if go_live else 0,
            outcome=outcome,
            close_on=close_on,
            slip_to=slip_to,
            lost_reason=rng.choice(LOST_REASONS),
            needs_approval=needs_approval,
            set_tier=set_tier,
        )
        if deal.final_close_on >= self.today:
            deal.outcome = "open"
        deal.big = max(quantity for _, quantity, _ in deal.lines) >= BIG_ORDER[0]
        deal.requested_on = deal.final_close_on + dt.timedelta(days=rng.randint(7, 28))
        deal.valid_until = deal.final_close_on + dt.timedelta(days=21)
        deal.redate_when_late = rng.random() < REDATE_SHARE
        return deal

    def _make_big(self, lines: list[tuple[str, int, Decimal]]) -> bool:
        """More of the deal's cheapest product than the three warehouses hold together,
        when it is a small item (a lamp, a footrest, a monitor arm); False otherwise."""
        index = min(range(len(lines)), key=lambda i: (self.products[lines[i][0]].unit_price, i))
        sku, _, discount = lines[index]
        if self.products[sku].unit_price >= BIG_ORDER_ITEM_PRICE:
            return False
        lines[index] = (sku, self.rng.randint(*BIG_ORDER), discount)
        return True

    def _name(self, deal: Deal) -> str:
        sku, quantity, _ = deal.lines[0]
        more = f" and {len(deal.lines) - 1} more" if len(deal.lines) > 1 else ""
        return f"{deal.name}: {quantity} x {self.products[sku].name}{more}"

    @staticmethod
    def _after(planned: dt.datetime, *earlier: dt.datetime | None) -> dt.datetime:
        """`planned`, or five minutes after the latest of `earlier` when that is later:
        a step never runs before the steps it needs."""
        latest = max((moment for moment in earlier if moment is not None), default=None)
        return planned if latest is None or planned > latest else latest + dt.timedelta(minutes=5)

    def _schedule_deal(self, deal: Deal, opens: dt.datetime) -> None:
        """Opening, stage moves, the quote (approval, sending, a revision), the outcome."""
        rng = self.rng
        stages = deal.shape.open_stages
        last = len(stages) - 1
        opened_on, closes_on = opens.date(), deal.final_close_on
        span = max((closes_on - opened_on).days, 1)
        if deal.outcome == "won":
            target = last
        elif deal.outcome == "lost":
            target = rng.randint(deal.first_stage, last)
        else:  # open: as far as it got by today
            progress = (self.today - opened_on).days / span
            target = min(last, deal.first_stage + int(progress * (len(stages) - deal.first_stage)))
        self._schedule(opens, self._open, deal)
        moved = {deal.first_stage: opens}
        previous = opens
        before_close = workday(closes_on - dt.timedelta(days=1), forward=False)
        for index in range(deal.first_stage + 1, target + 1):
            share = (index - deal.first_stage) / (len(stages) - deal.first_stage)
            on = min(workday(opened_on + dt.timedelta(days=max(1, int(span * share)))), before_close)
            previous = self._after(self._at(on, dt.time(9, index)), previous)
            moved[index] = previous
            self._schedule(previous, self._move, deal, stages[index])
        if deal.slip_to is not None:
            self._schedule(self._after(self._at(deal.close_on, dt.time(16, 50)), opens), self._slip, deal)
        quoted = None
        if target >= deal.shape.quote_from:
            quoted = self._schedule_quote(deal, moved.get(deal.shape.quote_from, opens), moved.get(last))
        closing = self._after(self._during(closes_on).replace(hour=14), previous, quoted)
        if deal.outcome == "won":
            self._schedule(closing, self._win, deal)
            if rng.random() < 0.05:
                # The customer calls back the same afternoon, before the ERP dispatches.
                cancel_at = self._after(self._at(closes_on, dt.time(16, 30)), closing)
                self._schedule(cancel_at, self._cancel, deal)
        elif deal.outcome == "lost":
            self._schedule(closing, self._lose, deal)

    def _schedule_quote(
        self, deal: Deal, in_stage: dt.datetime, negotiating: dt.datetime | None
    ) -> dt.datetime | None:
        """Draft, maybe approval, sending, maybe a revision; returns the last step's moment."""
        rng = self.rng
        drafted = self._after(self._at(in_stage.date(), dt.time(9, 30)), in_stage)
        self._schedule(drafted, self._quote, deal)
        send_on = workday(drafted.date() + dt.timedelta(days=rng.randint(1, 3)))
        if deal.big and deal.outcome == "won":
            # Sent the day before signing, asking for everything at once: the back office
            # can only promise after its lead time, and the customer accepts that date.
            send_on = max(drafted.date(), workday(deal.final_close_on - dt.timedelta(days=1), forward=False))
            deal.requested_on = send_on
        elif deal.outcome != "open":
            send_on = min(send_on, workday(deal.final_close_on - dt.timedelta(days=1), forward=False))
        elif rng.random() < 0.35:
            # Still being drafted; some of those ask for a date the back office cannot
            # meet, which the quote builder flags with the earliest date per line.
            if rng.random() < 0.5:
                self._make_big(deal.lines)
                deal.requested_on = workday(max(drafted.date(), self.today) + dt.timedelta(days=1))
            return drafted
        ready = drafted
        if deal.needs_approval:
            ready = self._after(self._at(send_on, dt.time(10, 0)), drafted)
            self._schedule(ready, self._submit, deal)
            if deal.outcome == "open" and rng.random() < 0.4:
                return ready  # waiting for the manager
            ready = self._after(self._at(send_on, dt.time(11, 30)), ready)
            self._schedule(ready, self._approve, deal)
        sent = self._after(self._at(send_on, dt.time(15, 0)), ready)
        self._schedule(sent, self._send, deal)
        if deal.outcome == "won" and negotiating is not None and rng.random() < 0.15:
            revised = self._after(
                self._at(workday(sent.date() + dt.timedelta(days=1)), dt.time(16, 0)), negotiating, sent
            )
            if revised.date() < deal.final_close_on:
                self._schedule(revised, self._revise, deal)
                return revised
        return sent

    def _schedule_back_office(self) -> None:
        day = self.start_day
        while day < self.today:
            if day.weekday() == 0:
                self._schedule(self._at(day, FORECAST_AT), self._publish_forecast)
            if day.weekday() < 5:
                self._schedule(self._at(day, MORNING), self._catch_up)
                self.totals.days += 1
            day += dt.timedelta(days=1)

    # -- playing: sales -----------------------------------------------------------------------

    def _lead_create(self, plan: LeadPlan) -> None:
        lead = services.lead_create(actor=plan.owner, owner=plan.owner, **plan.fields)
        plan.pk = lead.pk

    def _lead_work(self, plan: LeadPlan) -> None:
        if plan.fate == LeadStatus.QUALIFIED:
            services.lead_qualify(actor=plan.worker, lead_id=plan.pk)
        else:
            services.lead_disqualify(actor=plan.worker, lead_id=plan.pk, reason=plan.reason)

    def _opportunity_fields(self, deal: Deal) -> dict[str, Any]:
        prices = (
            self.price_lists.get((deal.currency, deal.tier)) or self.price_lists[(deal.currency, "standard")]
        )
        return {
            "name": self._name(deal),
            "currency": deal.currency,
            "pipeline": deal.shape.pipeline_id,
            "stage": deal.shape.open_stages[deal.first_stage],
            "expected_close_date": deal.close_on,
            "owner": deal.owner,
            "lines": [
                {"sku": sku, "quantity": quantity, "unit_price": prices[sku]}
                for sku, quantity, _ in deal.lines
            ],
        }

    def _open(self, deal: Deal) -> None:
        if deal.lead is not None:
            opportunity = services.lead_convert(
                actor=deal.owner,
                lead_id=deal.lead.pk,
                create_customer=True,
                opportunity=self._opportunity_fields(deal),
            )
        else:
            if deal.set_tier:
                customer = Customer.objects.get(pk=deal.buyer.pk)
                if quotes.customer_tier(customer) != deal.set_tier:
                    customer_update(
                        actor=DEMO_SEED,
                        customer_id=customer.pk,
                        expected_version=None,
                        attributes={**(customer.attributes or {}), "tier": deal.set_tier},
                    )
            opportunity = services.opportunity_create(
                actor=deal.owner, customer=deal.buyer.pk, **self._opportunity_fields(deal)
            )
        deal.opportunity_id = opportunity.pk

    def _move(self, deal: Deal, stage_id: int) -> None:
        services.opportunity_move(actor=deal.owner, opportunity_id=deal.opportunity_id, stage=stage_id)

    def _slip(self, deal: Deal) -> None:
        services.opportunity_update(
            actor=deal.owner,
            opportunity_id=deal.opportunity_id,
            expected_version=None,
            expected_close_date=deal.slip_to,
            next_step="The customer moved the decision; follow up then.",
        )

    def _quote_lines(self, deal: Deal, *, extra: Decimal = Decimal(0)) -> list[dict[str, Any]]:
        """The deal's lines; `extra` adds to each discount, within the rep's 10 percent."""
        return [
            {
                "sku": sku,
                "quantity": quantity,
                "discount_percent": min(discount + extra, max(discount, Decimal(10))),
            }
            for sku, quantity, discount in deal.lines
        ]

    def _quote(self, deal: Deal) -> None:
        quote = quotes.quote_create(
            actor=deal.owner,
            opportunity_id=deal.opportunity_id,
            lines=self._quote_lines(deal),
            tax_rate=deal.tax_rate,
            valid_until=deal.valid_until,
            requested_delivery_on=deal.requested_on,
        )
        deal.quote_id = quote.pk

    def _submit(self, deal: Deal) -> None:
        quotes.quote_submit_for_approval(actor=deal.owner, quote_id=deal.quote_id, expected_version=None)

    def _approve(self, deal: Deal) -> None:
        quotes.quote_approve(actor=self.approver, quote_id=deal.quote_id, expected_version=None)

    def _send(self, deal: Deal) -> None:
        try:
            quotes.quote_send(actor=deal.owner, quote_id=deal.quote_id, expected_version=None)
        except quotes.DeliveryNotMet:
            # The rep calls the customer, who takes the back office's earliest date.
            quotes.quote_send(
                actor=deal.owner, quote_id=deal.quote_id, expected_version=None, accept_later_delivery=True
            )

    def _revise(self, deal: Deal) -> None:
        """Negotiation: a new revision with a little more off, sent the same day."""
        revision = quotes.quote_revise(actor=deal.owner, quote_id=deal.quote_id, expected_version=None)
        deal.quote_id = revision.pk
        quotes.quote_update(
            actor=deal.owner,
            quote_id=revision.pk,
            expected_version=None,
            lines=self._quote_lines(deal, extra=Decimal(2)),
        )
        if deal.needs_approval:  # the revision's discount needs the manager again
            self._submit(deal)
            self._approve(deal)
        self._send(deal)

    def _win(self, deal: Deal) -> None:
        try:
            order = orders.quote_accept(actor=deal.owner, quote_id=deal.quote_id, expected_version=None)
        except orders.PromiseNotKept:
            if deal.redate_when_late:
                self._redate(deal)
                order = orders.quote_accept(actor=deal.owner, quote_id=deal.quote_id, expected_version=None)
            else:  # the rep calls the customer, who takes the back office's earliest date now
                order = orders.quote_accept(
                    actor=deal.owner,
                    quote_id=deal.quote_id,
                    expected_version=None,
                    accept_later_delivery=True,
                )
        deal.order_id = order.pk
        self._kick()

    def _redate(self, deal: Deal) -> None:
        """The quote's date can no longer be kept: a new revision, same lines, sent with
        the date the back office can promise now, signed straight away."""
        revision = quotes.quote_revise(actor=deal.owner, quote_id=deal.quote_id, expected_version=None)
        deal.quote_id = revision.pk
        if deal.needs_approval:  # a new revision is a new draft: the discount needs the manager again
            self._submit(deal)
            self._approve(deal)
        self._send(deal)

    def _lose(self, deal: Deal) -> None:
        services.opportunity_lose(
            actor=deal.owner, opportunity_id=deal.opportunity_id, reason=deal.lost_reason
        )

    def _cancel(self, deal: Deal) -> None:
        # When the ERP was quicker (already shipped), the customer keeps it.
        with contextlib.suppress(orders.OrderConflict):
            orders.order_cancel(actor=deal.owner, order_id=deal.order_id, reason=CANCEL_REASON)
            self._kick()

    # -- playing: the back office, as beat would -------------------------------------------

    def _tick_to(self, moment: dt.datetime) -> None:
        behind = moment - self.adapter.clock()
        if behind > dt.timedelta(0):
            self.adapter.tick(behind.total_seconds() / 3600)

    def _relay(self) -> None:
        more = True
        while more:
            _, more = relay_due(adapter=self.adapter)

    def _kick(self) -> None:
        """What the relay kicked on commit does live: the order reaches the ERP within
        seconds (its clock moved to this moment first), not at the next catch-up (a
        cancel a day late could find the order shipped)."""
        self._tick_to(timezone.now())
        self._relay()

    def _catch_up(self) -> None:
        """What beat's tasks do between two working days, in one go: the simulator works
        through each night up to last midnight (`tick_simulator`), the outbox relay
        delivers what is still due (`relay_outbox`), sent quotes past their validity
        expire (`expire_quotes`), and the inbox pulls what the ERP did (`poll_erp`)."""
        now = timezone.now()
        self._tick_to(self._at(timezone.localdate(), dt.time.min) if now < self.end else now)
        self._relay()
        while quote_expiry.quotes_expire().more:  # beat's hourly `expire_quotes`
            pass
        try:
            while inbox.pull_changes_once().has_more:
                pass
        except ErpError:
            return  # fault knobs set: the next catch-up tries again, as the poll would
        inbox.inbox_apply_pending()

    def _credit_control(self, customer_refs: list[str]) -> None:
        for ref in customer_refs:
            erp_simulator.customer_update(customer_ref=ref, payment_terms_days=14, pays_late=True)

    def _publish_forecast(self) -> None:
        forecast.forecast_publish(actor=None)

    def _finish(self) -> None:
        """At the real time: the last catch-up, this week's forecast, affinities, reconciliation."""
        self._catch_up()
        forecast.forecast_publish(actor=None)
        self._kick()  # this week's forecast, and upserts the last pull queued
        self.totals.affinities = recompute_affinities()
        with contextlib.suppress(ErpError):  # fault knobs set: beat reconciles every 10 minutes
            reconcile(adapter=self.adapter)

    def _count(self) -> None:
        totals = self.totals
        totals.leads = Counter(Lead.objects.values_list("status", flat=True))
        totals.opportunities = Counter(Opportunity.objects.values_list("status", flat=True))
        totals.quotes = Counter(Quote.objects.values_list("status", flat=True))
        totals.orders = Counter(order_state(order) for order in order_queryset())
        totals.invoices = Counter(Invoice.objects.values_list("status", flat=True))
        totals.snapshots = ForecastSnapshot.objects.count()


def sales_data_exists() -> bool:
    return any(model.objects.exists() for model in (Lead, Opportunity, Quote, SalesOrder))
