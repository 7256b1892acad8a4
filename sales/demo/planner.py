"""The demo's plan: who buys what, from whom, and when each step happens (opening,
stage moves, the quote and its approval, sending, revising, winning, losing, slipping,
cancelling), drawn from the history's seeded random generator and scheduled on its
clock. Everything that is drawn is drawn here, before anything is played."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal
from typing import TYPE_CHECKING

from django.contrib.auth.models import Permission
from django.db.models import Q

from customers.choices import ContactKind, CustomerKind
from customers.models import ContactPoint, Customer
from frontoffice.models import User
from frontoffice.roles import Role
from sales.demo.data import (
    ABOVE_LIMIT_DISCOUNTS,
    BIG_ORDER,
    BIG_ORDER_ITEM_PRICE,
    BIG_ORDER_SHARE,
    BIG_ORDER_WEEKS_AGO,
    BIG_ORDER_WEEKS_AGO_SHARE,
    DISQUALIFIED_REASONS,
    FORECAST_AT,
    LEAD_COMPANIES,
    LEAD_FIRST,
    LEAD_LAST,
    LEAD_TITLES,
    LOST_REASONS,
    MORNING,
    QUANTITIES,
    REDATE_SHARE,
    TAX_RATES,
    THEMES,
    WITHIN_LIMIT_DISCOUNTS,
)
from sales.demo.plan import Buyer, Deal, LeadPlan, NotFresh, known, workday
from sales.leads.models import LeadSource, LeadStatus
from sales.pricing.models import CustomerTier
from sales.pricing.selectors import customer_tier

if TYPE_CHECKING:
    from sales.demo.history import SalesHistory


def _staff(h: SalesHistory) -> tuple[list[User], User | None]:
    reps = list(User.objects.filter(is_active=True, groups__name=Role.SALES).distinct().order_by("username"))
    if not reps:
        raise NotFresh("there are no sales reps (users in the Sales role): run seed_demo first")
    approve = Permission.objects.filter(codename="approve_quote", content_type__app_label="sales")
    approvers = (
        User.objects.filter(is_active=True)
        .filter(Q(is_superuser=True) | Q(groups__permissions__in=approve) | Q(user_permissions__in=approve))
        .exclude(pk__in=[r.pk for r in reps])
        .distinct()
        .order_by("is_superuser", "username")
    )
    return reps, approvers.first()


def _buyers(h: SalesHistory) -> tuple[list[Buyer], list[Buyer]]:
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
    organisations: list[Buyer] = []
    people: list[Buyer] = []
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
            tier=customer_tier(Customer(attributes=attributes or {})),
            erp_known=bool(number),
        )
        (organisations if kind == CustomerKind.ORGANISATION else people).append(buyer)
    return organisations, people


def plan(h: SalesHistory) -> None:
    rng = h.rng
    h.reps, h.approver = _staff(h)
    by_pk = {rep.pk: rep for rep in h.reps}
    organisations, people = _buyers(h)
    if not organisations and not people:
        raise NotFresh("there are no customers with an e-mail address: run seed_demo first")
    pool = organisations or people
    key_accounts = rng.sample(pool, k=max(1, min(len(pool), len(pool) // 10, 40)))
    # Half the key accounts get a better price tier. Only those the ERP does not know
    # yet: the ERP is told of every change to a customer it knows (an upsert), and the
    # demo's ERP numbers were made up by the customers seed, so it would refuse them.
    h.tiers = {
        buyer.pk: rng.choice((CustomerTier.SILVER, CustomerTier.SILVER, CustomerTier.GOLD))
        for buyer in key_accounts
        if not buyer.erp_known and buyer.tier == CustomerTier.STANDARD and rng.random() < 0.5
    }
    families = _families(h)
    history_days = (h.today - h.start_day).days

    late_payers: dict[int, None] = {}
    leads = max(6, h.deal_count // 3)
    converted = [lead for lead in (_plan_lead(h, i) for i in range(leads)) if lead.fate == "converted"]
    buyers_left = max(0, h.deal_count - len(converted))
    for index in range(buyers_left + len(converted)):
        lead = converted[index - buyers_left] if index >= buyers_left else None
        closes_on = None
        if lead is not None:
            buyer, opens = None, known(lead.fate_at)
            owner = known(lead.worker)
        else:
            roll = rng.random()
            group = key_accounts if roll < 0.35 else (people if roll > 0.9 and people else pool)
            buyer = rng.choice(group)
            owner = (by_pk.get(buyer.owner_id) if buyer.owner_id is not None else None) or rng.choice(h.reps)
            # Some of the pipeline was there when the CRM went live; some deals closed in
            # the last fortnight (orders still on their way) or a month or so ago (their
            # invoices fall due about now); a sixth are still ahead (the board and the
            # forecast's coming months); the rest arrived day by day.
            when = rng.random()
            if when < 0.18:
                opens_on = h.start_day
            elif when < 0.38:
                back = rng.randint(1, 8) if when < 0.3 else rng.randint(25, 60)
                closes_on = workday(h.today - dt.timedelta(days=back), forward=False)
                opens_on = workday(closes_on - dt.timedelta(days=rng.randint(25, 70)))
            elif when < 0.55:
                closes_on = workday(h.today + dt.timedelta(days=rng.randint(3, 100)))
                opens_on = workday(h.today - dt.timedelta(days=rng.randint(3, 60)), forward=False)
            else:
                opens_on = workday(h.start_day + dt.timedelta(days=rng.randrange(history_days)))
            opens_on = max(opens_on, h.start_day)
            opens = h.during(opens_on)
        deal = _plan_deal(h, owner, buyer, opens, key_accounts, families, closes_on=closes_on)
        deal.lead = lead
        _schedule_deal(h, deal, opens)
        # Won three to ten weeks ago: shipped, invoiced, and due by now on short terms.
        if (
            buyer is not None
            and deal.outcome == "won"
            and h.today - dt.timedelta(days=70) <= deal.final_close_on < h.today - dt.timedelta(days=20)
        ):
            late_payers.setdefault(buyer.pk, None)
    # The ERP's credit control knows a few of last month's buyers pay late (on short
    # terms), so that some invoices are overdue now whatever the simulator's dice say.
    refs = [str(pk) for pk in list(late_payers)[: max(2, h.deal_count // 25)]]
    h.schedule(h.at(h.start_day, dt.time(6, 30)), h.back_office.credit_control, refs)
    _schedule_back_office(h)


def _families(h: SalesHistory) -> dict[str, list[str]]:
    families: dict[str, list[str]] = {}
    for sku, product in h.products.items():
        families.setdefault(product.name.rsplit(" ", 1)[0], []).append(sku)
    return families


def _plan_lead(h: SalesHistory, index: int) -> LeadPlan:
    rng = h.rng
    history_days = (h.today - h.start_day).days
    opens_on = workday(h.start_day + dt.timedelta(days=rng.randrange(history_days)))
    age = (h.today - opens_on).days
    source = rng.choice(
        (LeadSource.MARKETING_FORM, LeadSource.MARKETING_FORM, LeadSource.MANUAL, LeadSource.IMPORTED)
    )
    owner = None if source == LeadSource.MARKETING_FORM else rng.choice(h.reps)
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
    plan = LeadPlan(opens=h.during(opens_on), owner=owner, fields=fields, fate=fate)
    plan.worker = owner or rng.choice(h.reps)
    if fate != LeadStatus.NEW:
        plan.fate_at = h.during(workday(opens_on + dt.timedelta(days=rng.randint(1, 10))))
        if plan.fate_at >= h.end:  # too recent to have been worked on yet
            plan.fate, plan.fate_at = LeadStatus.NEW, None
    if plan.fate == LeadStatus.DISQUALIFIED:
        plan.reason = rng.choice(DISQUALIFIED_REASONS)
    h.schedule(plan.opens, h.lead_create, plan)
    if plan.fate in (LeadStatus.QUALIFIED, LeadStatus.DISQUALIFIED):
        h.schedule(known(plan.fate_at), h.lead_work, plan)
    return plan


def _plan_deal(
    h: SalesHistory,
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
    rng = h.rng
    country = buyer.country if buyer else ""
    currency = "EUR"
    if country == "GB" and rng.random() < 0.15:
        currency = "GBP"
    elif country == "US" and rng.random() < 0.4:
        currency = "USD"
    set_tier = h.tiers.get(buyer.pk, "") if buyer else ""
    tier = set_tier or (buyer.tier if buyer else CustomerTier.STANDARD)
    theme, wanted = rng.choice(THEMES)
    available = [f for f in wanted if f in families] or sorted(families)
    chosen = rng.sample(available, k=min(len(available), rng.choice((1, 1, 2, 2, 3))))
    needs_approval = h.approver is not None and rng.random() < 0.12
    lines = []
    for position, family in enumerate(chosen):
        sku = rng.choice(sorted(families[family]))
        low, high = QUANTITIES.get(family, (1, 10))
        discount = rng.choice(
            ABOVE_LIMIT_DISCOUNTS if needs_approval and position == 0 else WITHIN_LIMIT_DISCOUNTS
        )
        lines.append((sku, rng.randint(low, high), Decimal(discount)))
    shape = h.shapes[1] if buyer in key_accounts and rng.random() < 0.3 else h.shapes[0]
    go_live = opens.date() == h.start_day
    # B2B cycles of one to three months: most deals closing in a month were in the
    # forecast published before it began.
    close_on = closes_on or workday(
        opens.date() + dt.timedelta(days=rng.randint(5 if go_live else 25, 80 if go_live else 90))
    )
    recent = closes_on is not None and closes_on < h.today
    in_transit = recent and closes_on is not None and h.today - closes_on < dt.timedelta(days=14)
    outcome = "won" if rng.random() < (0.85 if in_transit else 0.7 if recent else 0.55) else "lost"
    slip_to = None
    if closes_on is None and rng.random() < 0.15:
        slip_to = workday(close_on + dt.timedelta(days=rng.randint(14, 40)))
    if in_transit and outcome == "won" and rng.random() < BIG_ORDER_SHARE and _make_big(h, lines):
        # The quote promises a later date than asked for; the ERP ships what it has
        # after the item's short lead time and the rest once its supplier delivers:
        # placed a few days ago, the order is mid-way.
        lines[:] = [line for line in lines if line[1] >= BIG_ORDER[0]]
        close_on = workday(h.today - dt.timedelta(days=rng.randint(3, 6)), forward=False)
    elif (
        outcome == "won"
        and (slip_to or close_on) <= h.today - dt.timedelta(days=BIG_ORDER_WEEKS_AGO)
        and (h.weeks_ago_rng.random() < BIG_ORDER_WEEKS_AGO_SHARE or not h.big_weeks_ago)
    ):
        # The same, placed weeks ago: the supplier delivered the rest days after the
        # lead time the promise counted on, or slipped on the day, so the order ran late
        # and the service's delay sweep told the customer.
        theme = _make_big_weeks_ago(h, theme, lines, families)
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
    if deal.final_close_on >= h.today:
        deal.outcome = "open"
    deal.big = max(quantity for _, quantity, _ in deal.lines) >= BIG_ORDER[0]
    deal.requested_on = deal.final_close_on + dt.timedelta(days=rng.randint(7, 28))
    deal.valid_until = deal.final_close_on + dt.timedelta(days=21)
    deal.redate_when_late = rng.random() < REDATE_SHARE
    return deal


def _make_big(
    h: SalesHistory, lines: list[tuple[str, int, Decimal]], *, rng: random.Random | None = None
) -> bool:
    """More of the deal's cheapest product than the three warehouses hold together,
    when it is a small item (a lamp, a footrest, a monitor arm); False otherwise. The
    quantity is drawn from `rng` (the history's by default)."""
    index = min(range(len(lines)), key=lambda i: (h.products[lines[i][0]].unit_price, i))
    sku, _, discount = lines[index]
    if h.products[sku].unit_price >= BIG_ORDER_ITEM_PRICE:
        return False
    lines[index] = (sku, (rng or h.rng).randint(*BIG_ORDER), discount)
    return True


def _make_big_weeks_ago(
    h: SalesHistory, theme: str, lines: list[tuple[str, int, Decimal]], families: dict[str, list[str]]
) -> str:
    """Make the deal a big order when its cheapest product is a small item; the first
    one of the history becomes a big order of a small item whatever it was, so that a
    small history has one too (with a theme that has that item). Returns the deal's
    theme. Drawn from a generator of its own, so that every other draw of the plan is
    as it was."""
    rng = h.weeks_ago_rng
    if not _make_big(h, lines, rng=rng):
        if h.big_weeks_ago:
            return theme
        small = {
            family
            for family, skus in families.items()
            if any(h.products[sku].unit_price < BIG_ORDER_ITEM_PRICE for sku in skus)
        }
        themes = [(name, sorted(small & set(wanted))) for name, wanted in THEMES if small & set(wanted)]
        if not themes:
            return theme
        theme, wanted = rng.choice(themes)
        skus = [
            sku
            for sku in sorted(families[rng.choice(wanted)])
            if h.products[sku].unit_price < BIG_ORDER_ITEM_PRICE
        ]
        lines[:] = [(rng.choice(skus), rng.randint(*BIG_ORDER), lines[0][2])]
    lines[:] = [line for line in lines if line[1] >= BIG_ORDER[0]]
    h.big_weeks_ago += 1
    return theme


def deal_name(h: SalesHistory, deal: Deal) -> str:
    sku, quantity, _ = deal.lines[0]
    more = f" and {len(deal.lines) - 1} more" if len(deal.lines) > 1 else ""
    return f"{deal.name}: {quantity} x {h.products[sku].name}{more}"


def _after(planned: dt.datetime, *earlier: dt.datetime | None) -> dt.datetime:
    """`planned`, or five minutes after the latest of `earlier` when that is later:
    a step never runs before the steps it needs."""
    latest = max((moment for moment in earlier if moment is not None), default=None)
    return planned if latest is None or planned > latest else latest + dt.timedelta(minutes=5)


def _schedule_deal(h: SalesHistory, deal: Deal, opens: dt.datetime) -> None:
    """Opening, stage moves, the quote (approval, sending, a revision), the outcome."""
    rng = h.rng
    stages = deal.shape.open_stages
    last = len(stages) - 1
    opened_on, closes_on = opens.date(), deal.final_close_on
    span = max((closes_on - opened_on).days, 1)
    if deal.outcome == "won":
        target = last
    elif deal.outcome == "lost":
        target = rng.randint(deal.first_stage, last)
    else:  # open: as far as it got by today
        progress = (h.today - opened_on).days / span
        target = min(last, deal.first_stage + int(progress * (len(stages) - deal.first_stage)))
    h.schedule(opens, h.open_deal, deal)
    moved = {deal.first_stage: opens}
    previous = opens
    before_close = workday(closes_on - dt.timedelta(days=1), forward=False)
    for index in range(deal.first_stage + 1, target + 1):
        share = (index - deal.first_stage) / (len(stages) - deal.first_stage)
        on = min(workday(opened_on + dt.timedelta(days=max(1, int(span * share)))), before_close)
        previous = _after(h.at(on, dt.time(9, index)), previous)
        moved[index] = previous
        h.schedule(previous, h.move, deal, stages[index])
    if deal.slip_to is not None:
        h.schedule(_after(h.at(deal.close_on, dt.time(16, 50)), opens), h.slip, deal)
    quoted = None
    if target >= deal.shape.quote_from:
        quoted = _schedule_quote(h, deal, moved.get(deal.shape.quote_from, opens), moved.get(last))
    closing = _after(h.during(closes_on).replace(hour=14), previous, quoted)
    if deal.outcome == "won":
        h.schedule(closing, h.win, deal)
        if rng.random() < 0.05:
            # The customer calls back the same afternoon, before the ERP dispatches.
            cancel_at = _after(h.at(closes_on, dt.time(16, 30)), closing)
            h.schedule(cancel_at, h.cancel, deal)
    elif deal.outcome == "lost":
        h.schedule(closing, h.lose, deal)


def _schedule_quote(
    h: SalesHistory, deal: Deal, in_stage: dt.datetime, negotiating: dt.datetime | None
) -> dt.datetime | None:
    """Draft, maybe approval, sending, maybe a revision; returns the last step's moment."""
    rng = h.rng
    drafted = _after(h.at(in_stage.date(), dt.time(9, 30)), in_stage)
    h.schedule(drafted, h.quote, deal)
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
            _make_big(h, deal.lines)
            deal.requested_on = workday(max(drafted.date(), h.today) + dt.timedelta(days=1))
        return drafted
    ready = drafted
    if deal.needs_approval:
        ready = _after(h.at(send_on, dt.time(10, 0)), drafted)
        h.schedule(ready, h.submit, deal)
        if deal.outcome == "open" and rng.random() < 0.4:
            return ready  # waiting for the manager
        ready = _after(h.at(send_on, dt.time(11, 30)), ready)
        h.schedule(ready, h.approve, deal)
    sent = _after(h.at(send_on, dt.time(15, 0)), ready)
    h.schedule(sent, h.send, deal)
    if deal.outcome == "won" and negotiating is not None and rng.random() < 0.15:
        revised = _after(h.at(workday(sent.date() + dt.timedelta(days=1)), dt.time(16, 0)), negotiating, sent)
        if revised.date() < deal.final_close_on:
            h.schedule(revised, h.revise, deal)
            return revised
    return sent


def _schedule_back_office(h: SalesHistory) -> None:
    day = h.start_day
    while day < h.today:
        if day.weekday() == 0:
            h.schedule(h.at(day, FORECAST_AT), h.back_office.publish_forecast)
        if day.weekday() < 5:
            h.schedule(h.at(day, MORNING), h.back_office.catch_up)
            h.totals.days += 1
        day += dt.timedelta(days=1)
