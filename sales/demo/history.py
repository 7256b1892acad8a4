"""Months of sales history for the demo (`manage.py seed_sales_demo`), replayed through
the sales services and the ERP simulator. (The plan: `planner`; what it draws from:
`data`; the back office's side: `back_office`.)

Why a replay rather than inserted rows: the forecast's accuracy compares each past month
with the snapshot published before it began; an order's page shows what the ERP did
with it over weeks (confirmed, shipped in parts, delivered, invoiced, paid or overdue);
timelines show when each step happened. None of that can be made true after the fact.

So the history is *planned* first, in memory, from a seeded `random.Random` (which
customers buy, who owns the deal, which products, when it opens, moves, is quoted, won
or lost, slips, is cancelled, which orders are big: more of a small item than the
warehouses hold, placed days ago and still on their way, or weeks ago and mostly late,
their supplier having delivered days after the lead time they were promised on, or
slipped; those weeks ago are drawn from a second generator, so that the rest of the
plan is drawn as before),
and then *played* in time order on a clock moved with time-machine, from about `months`
months ago up to last midnight:

- each business action runs through its service at its planned moment, as the rep
  (or the manager) who does it: `sales.leads` and `sales.pipeline` (leads,
  opportunities, stage moves, win/lose), `sales.pricing` and `sales.quotes` (price
  lists, quotes, approval, sending, revising), `sales.orders` (accepting a quote places
  the order and queues it in the outbox; cancelling); what no person does is done as
  `frontoffice.actors.DEMO_SEED`. A sent quote is marked sent but not e-mailed
  (`quote_send(email=False)`): the demo writes to nobody;
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
import random
from collections import Counter
from collections.abc import Callable
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import time_machine
from django.utils import timezone

from backoffice_sync.erp import get_adapter
from backoffice_sync.models import Invoice, Product
from customers.guards import may_write
from customers.models import Customer, CustomFieldDefinition
from customers.services import customer_update
from frontoffice.actors import DEMO_SEED
from sales.demo import planner
from sales.demo.back_office import BackOffice, quiet
from sales.demo.data import (
    CANCEL_REASON,
    DISCOUNT_LIMITS,
    PRICE_LISTS,
    SECOND_PIPELINE,
    TIER_FIELD,
    WORKING_MINUTES,
)
from sales.demo.plan import Deal, Event, LeadPlan, NotFresh, Shape, Totals, history_start, known
from sales.forecast.models import ForecastSnapshot
from sales.leads.models import Lead, LeadStatus
from sales.leads.services import lead_convert, lead_create, lead_disqualify, lead_qualify
from sales.money import CENT
from sales.orders.selectors import order_queryset, order_state
from sales.orders.services import OrderConflict, PromiseNotKept, order_cancel, quote_accept
from sales.pipeline.models import Opportunity, Pipeline, StageKind
from sales.pipeline.services import (
    OpportunityDraft,
    opportunity_create,
    opportunity_lose,
    opportunity_move,
    opportunity_update,
)
from sales.pipeline.services_pipelines import default_pipeline, ensure_default_pipeline, pipeline_create
from sales.pricing.models import CustomerTier, DiscountLimit, PriceList
from sales.pricing.selectors import customer_tier
from sales.pricing.services import price_list_create
from sales.quotes.models import Quote
from sales.quotes.services import (
    DeliveryNotMet,
    quote_approve,
    quote_create,
    quote_revise,
    quote_send,
    quote_submit_for_approval,
    quote_update,
)


class SalesHistory:
    """Plans and plays the demo's sales history (see the module docstring)."""

    def __init__(self, *, seed: int, months: int, deals: int, now: dt.datetime | None = None) -> None:
        if months < 1:
            raise ValueError("months must be at least 1")
        self.rng = random.Random(seed)
        # Which deals of a month or two ago were big orders: a generator of its own, so
        # that adding them left every other draw of the plan as it was.
        self.weeks_ago_rng = random.Random(f"{seed}:big orders weeks ago")
        self.big_weeks_ago = 0  # big orders planned among those
        self.deal_count = deals
        self.real_now = now or timezone.now()
        self.tz = timezone.get_current_timezone()
        self.today = timezone.localdate(self.real_now)
        self.start_day = history_start(self.today, months)
        self.end = self.at(self.today, dt.time.min)  # the replay stops at last midnight
        self.events: list[Event] = []
        self._seq = itertools.count()
        self.totals = Totals(started_on=self.start_day)
        # Filled in by the set-up and the plan:
        self.back_office: BackOffice
        self.shapes: list[Shape] = []
        self.products: dict[str, Product] = {}
        self.price_lists: dict[tuple[str, str], dict[str, Decimal]] = {}
        self.reps: list[Any] = []
        self.approver: Any = None
        self.tiers: dict[int, str] = {}

    # -- the clock ----------------------------------------------------------------------------

    def at(self, day: dt.date, moment: dt.time) -> dt.datetime:
        return dt.datetime.combine(day, moment, tzinfo=self.tz)

    def during(self, day: dt.date) -> dt.datetime:
        minutes = self.rng.choice(WORKING_MINUTES)
        return self.at(day, dt.time(minutes // 60, minutes % 60))

    def schedule(self, at: dt.datetime, action: Callable[..., None], *args: Any) -> None:
        if at < self.end:  # what would happen from today on is left to the future
            heapq.heappush(self.events, Event(at, next(self._seq), action, args))

    # -- set-up (at the start of the history) ----------------------------------------------

    def run(self) -> Totals:
        with (
            quiet("backoffice_sync"),
            time_machine.travel(self.at(self.start_day, dt.time(6, 0)), tick=False) as traveller,
        ):
            self._configure()
            planner.plan(self)
            while self.events:
                event = heapq.heappop(self.events)
                traveller.move_to(event.at)
                event.action(*event.args)
            traveller.move_to(self.real_now)
            self.totals.affinities = self.back_office.finish()
        self._count()
        return self.totals

    def _configure(self) -> None:
        """Start the ERP simulator at the beginning of the history, mirror its catalogue,
        and set up what sales needs: pipelines, price lists, discount limits, tiers."""
        adapter: Any = get_adapter()  # the in-process simulator's (it resets; see fresh_erp_problem)
        adapter.reset(start=timezone.now())
        self.back_office = BackOffice(adapter, end=self.end)
        self.back_office.catch_up()
        ensure_default_pipeline()
        self.shapes = [self._shape(default_pipeline())]
        name, stages = SECOND_PIPELINE
        second = Pipeline.objects.filter(name__iexact=name).first() or pipeline_create(
            actor=DEMO_SEED,
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
        prices: dict[tuple[str, str], dict[str, Decimal]] = {}
        for currency, tier, factor in PRICE_LISTS:
            items = {
                sku: (product.unit_price * factor).quantize(CENT, rounding=ROUND_HALF_UP)
                for sku, product in self.products.items()
                if product.currency == "EUR"
            }
            if not PriceList.objects.filter(currency=currency, tier=tier, active=True).exists():
                price_list_create(
                    actor=DEMO_SEED,
                    name=f"{currency} {CustomerTier(tier).label.lower()}",
                    currency=currency,
                    tier=tier,
                    items=[{"sku": sku, "unit_price": price} for sku, price in items.items()],
                )
            prices[(currency, tier)] = items
        return prices

    # -- playing: sales -----------------------------------------------------------------------

    def lead_create(self, plan: LeadPlan) -> None:
        lead = lead_create(actor=plan.owner or DEMO_SEED, owner=plan.owner, **plan.fields)
        plan.pk = lead.pk

    def lead_work(self, plan: LeadPlan) -> None:
        if plan.fate == LeadStatus.QUALIFIED:
            lead_qualify(actor=known(plan.worker), lead_id=known(plan.pk))
        else:
            lead_disqualify(actor=known(plan.worker), lead_id=known(plan.pk), reason=plan.reason)

    def _opportunity_fields(self, deal: Deal) -> OpportunityDraft:
        prices = (
            self.price_lists.get((deal.currency, deal.tier)) or self.price_lists[(deal.currency, "standard")]
        )
        return {
            "name": planner.deal_name(self, deal),
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

    def open_deal(self, deal: Deal) -> None:
        if deal.lead is not None:
            opportunity = lead_convert(
                actor=deal.owner,
                lead_id=known(deal.lead.pk),
                create_customer=True,
                opportunity=self._opportunity_fields(deal),
            )
        else:
            customer = Customer.objects.get(pk=known(deal.buyer).pk)
            if not may_write(deal.owner, customer):
                # The account goes to the rep who opens a deal on it: a rep writes only
                # on customers they or their team own (customers.guards).
                customer = customer_update(
                    actor=DEMO_SEED, customer_id=customer.pk, expected_version=None, owner=deal.owner
                )
            if deal.set_tier and customer_tier(customer) != deal.set_tier:
                customer_update(
                    actor=DEMO_SEED,
                    customer_id=customer.pk,
                    expected_version=None,
                    attributes={**(customer.attributes or {}), "tier": deal.set_tier},
                )
            opportunity = opportunity_create(
                actor=deal.owner, customer=known(deal.buyer).pk, **self._opportunity_fields(deal)
            )
        deal.opportunity_id = opportunity.pk

    def move(self, deal: Deal, stage_id: int) -> None:
        opportunity_move(actor=deal.owner, opportunity_id=known(deal.opportunity_id), stage=stage_id)

    def slip(self, deal: Deal) -> None:
        opportunity_update(
            actor=deal.owner,
            opportunity_id=known(deal.opportunity_id),
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

    def quote(self, deal: Deal) -> None:
        quote = quote_create(
            actor=deal.owner,
            opportunity_id=known(deal.opportunity_id),
            lines=self._quote_lines(deal),
            tax_rate=deal.tax_rate,
            valid_until=deal.valid_until,
            requested_delivery_on=deal.requested_on,
        )
        deal.quote_id = quote.pk

    def submit(self, deal: Deal) -> None:
        quote_submit_for_approval(actor=deal.owner, quote_id=known(deal.quote_id), expected_version=None)

    def approve(self, deal: Deal) -> None:
        quote_approve(actor=self.approver, quote_id=known(deal.quote_id), expected_version=None)

    def send(self, deal: Deal) -> None:
        try:
            quote_send(actor=deal.owner, quote_id=known(deal.quote_id), expected_version=None, email=False)
        except DeliveryNotMet:
            # The rep calls the customer, who takes the back office's earliest date.
            quote_send(
                actor=deal.owner,
                quote_id=known(deal.quote_id),
                expected_version=None,
                accept_later_delivery=True,
                email=False,
            )

    def revise(self, deal: Deal) -> None:
        """Negotiation: a new revision with a little more off, sent the same day."""
        revision = quote_revise(actor=deal.owner, quote_id=known(deal.quote_id), expected_version=None)
        deal.quote_id = revision.pk
        quote_update(
            actor=deal.owner,
            quote_id=revision.pk,
            expected_version=None,
            lines=self._quote_lines(deal, extra=Decimal(2)),
        )
        if deal.needs_approval:  # the revision's discount needs the manager again
            self.submit(deal)
            self.approve(deal)
        self.send(deal)

    def win(self, deal: Deal) -> None:
        try:
            order = quote_accept(actor=deal.owner, quote_id=known(deal.quote_id), expected_version=None)
        except PromiseNotKept:
            if deal.redate_when_late:
                self.redate(deal)
                order = quote_accept(actor=deal.owner, quote_id=known(deal.quote_id), expected_version=None)
            else:  # the rep calls the customer, who takes the back office's earliest date now
                order = quote_accept(
                    actor=deal.owner,
                    quote_id=known(deal.quote_id),
                    expected_version=None,
                    accept_later_delivery=True,
                )
        deal.order_id = order.pk
        self.back_office.kick()

    def redate(self, deal: Deal) -> None:
        """The quote's date can no longer be kept: a new revision, same lines, sent with
        the date the back office can promise now, signed straight away."""
        revision = quote_revise(actor=deal.owner, quote_id=known(deal.quote_id), expected_version=None)
        deal.quote_id = revision.pk
        if deal.needs_approval:  # a new revision is a new draft: the discount needs the manager again
            self.submit(deal)
            self.approve(deal)
        self.send(deal)

    def lose(self, deal: Deal) -> None:
        opportunity_lose(actor=deal.owner, opportunity_id=known(deal.opportunity_id), reason=deal.lost_reason)

    def cancel(self, deal: Deal) -> None:
        # When the ERP was quicker (already shipped), the customer keeps it.
        with contextlib.suppress(OrderConflict):
            order_cancel(actor=deal.owner, order_id=known(deal.order_id), reason=CANCEL_REASON)
            self.back_office.kick()

    def _count(self) -> None:
        totals = self.totals
        totals.leads = Counter(Lead.objects.values_list("status", flat=True))
        totals.opportunities = Counter(Opportunity.objects.values_list("status", flat=True))
        totals.quotes = Counter(Quote.objects.values_list("status", flat=True))
        totals.orders = Counter(order_state(order) for order in order_queryset())
        totals.invoices = Counter(Invoice.objects.values_list("status", flat=True))
        totals.snapshots = ForecastSnapshot.objects.count()
