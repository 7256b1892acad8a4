"""Attribution and ROI of campaigns, from the same tables sales and marketing write.

- Funnel per campaign: audience (members), sent, opened, clicked, lead (sales leads with
  the campaign as source), opportunity (opportunities with the campaign), order (their
  orders), with each stage's conversion from the one before.
- Revenue of orders whose opportunity came from a campaign, attributed first-touch (the
  customer's earliest campaign response before the order) and last-touch (the latest);
  with no response recorded, the opportunity's own campaign takes both.
- Revenue is kept per currency: amounts in different currencies are never added up
  (sales keeps no exchange rates to convert them with).
- Cost is the budget, in the campaign's currency; ROI = (last-touch revenue - cost) /
  cost counts only the revenue in that currency, and says which currencies it leaves
  out; cost per lead.

A fixed number of queries, whatever the number of campaigns, members or orders.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import BigIntegerField, Count, F, OuterRef, Q, Subquery, Sum
from django.db.models.functions import Coalesce

from marketing.models import Campaign, CampaignAudience, CampaignMember
from sales.leads.models import Lead
from sales.models import Opportunity, SalesOrder

ZERO = Decimal("0")
STAGES = ("audience", "sent", "opened", "clicked", "lead", "opportunity", "order")
STAGE_LABELS = {
    "audience": "Audience",
    "sent": "Sent",
    "opened": "Opened",
    "clicked": "Clicked",
    "lead": "Leads",
    "opportunity": "Opportunities",
    "order": "Orders",
}


@dataclass
class FunnelStage:
    key: str
    label: str
    count: int
    rate: float | None  # share of the stage before (None for the first)
    width: float  # of the widest bar, 0..100 (the chart)


@dataclass
class Revenue:
    """What a campaign earned in one currency, by attribution model."""

    currency: str
    first_touch: Decimal = ZERO
    last_touch: Decimal = ZERO
    direct: Decimal = ZERO


@dataclass
class CampaignFigures:
    campaign: Campaign
    counts: dict[str, int] = field(default_factory=dict)
    by_currency: dict[str, Revenue] = field(default_factory=dict)

    @property
    def cost(self) -> Decimal:
        return self.campaign.budget

    @property
    def leads(self) -> int:
        return self.counts.get("lead", 0)

    @property
    def revenues(self) -> list[Revenue]:
        """Revenue per currency, the budget's currency first (even when nothing)."""
        own = self.by_currency.get(self.campaign.currency) or Revenue(self.campaign.currency)
        others = [r for c, r in sorted(self.by_currency.items()) if c != self.campaign.currency]
        return [own, *others]

    @property
    def revenue(self) -> Revenue:
        """The revenue in the budget's currency (what ROI counts)."""
        return self.revenues[0]

    @property
    def roi_leaves_out(self) -> list[str]:
        """Currencies with revenue that ROI does not count (not the budget's)."""
        return [r.currency for r in self.revenues[1:] if r.first_touch or r.last_touch or r.direct]

    @property
    def roi(self) -> Decimal | None:
        """(last-touch revenue in the budget's currency - cost) / cost; None without a cost."""
        if not self.cost:
            return None
        return ((self.revenue.last_touch - self.cost) / self.cost).quantize(Decimal("0.01"))

    @property
    def cost_per_lead(self) -> Decimal | None:
        return (self.cost / self.leads).quantize(Decimal("0.01")) if self.leads else None

    @property
    def funnel(self) -> list[FunnelStage]:
        top = max([self.counts.get(s, 0) for s in STAGES] + [1])
        stages = []
        previous: int | None = None
        for key in STAGES:
            count = self.counts.get(key, 0)
            rate = None if previous is None else (round(count / previous, 4) if previous else 0.0)
            stages.append(FunnelStage(key, STAGE_LABELS[key], count, rate, round(100 * count / top, 1)))
            previous = count
        return stages


def _money(value: Decimal) -> Decimal:
    # SQLite's SUM of decimals comes back with float noise in its digits.
    return Decimal(value).quantize(Decimal("0.01"))


def _touches(first: bool) -> Subquery:
    touch = Coalesce("responded_at", "clicked_at")
    members = (
        CampaignMember.objects.annotate(touch=touch)
        .filter(customer=OuterRef("customer_id"), touch__isnull=False, touch__lte=OuterRef("created_at"))
        .order_by("touch" if first else "-touch", "id")
        .values("campaign_id")[:1]
    )
    return Subquery(members)


def campaign_figures(campaigns: Iterable[Campaign]) -> list[CampaignFigures]:
    """Funnel counts and attributed revenue (per currency) of each campaign (7 queries
    in all). The audience is the members and the snapshot's ids not yet written
    (`unwritten`: still to be sent while the campaign runs)."""
    figures = {c.pk: CampaignFigures(campaign=c) for c in campaigns}
    ids = list(figures)
    if not ids:
        return []
    for row in (
        CampaignMember.objects.filter(campaign_id__in=ids)
        .values("campaign_id")
        .annotate(
            audience=Count("pk"),
            sent=Count("pk", filter=Q(sent_at__isnull=False)),
            opened=Count("pk", filter=Q(opened_at__isnull=False)),
            clicked=Count("pk", filter=Q(clicked_at__isnull=False)),
        )
        .order_by()
    ):
        figures[row["campaign_id"]].counts.update(
            {k: row[k] for k in ("audience", "sent", "opened", "clicked")}
        )
    for campaign_id, total, written in CampaignAudience.objects.filter(campaign_id__in=ids).values_list(
        "campaign_id", "total", "written"
    ):
        counts = figures[campaign_id].counts
        counts["unwritten"] = total - written
        counts["audience"] = counts.get("audience", 0) + total - written
    for model, key in ((Lead, "lead"), (Opportunity, "opportunity")):
        for row in (
            model.objects.filter(campaign_id__in=ids).values("campaign_id").annotate(n=Count("pk")).order_by()
        ):
            figures[row["campaign_id"]].counts[key] = row["n"]
    orders = SalesOrder.objects.filter(
        opportunity__campaign_id__isnull=False, cancel_requested_at__isnull=True
    )

    def add(campaign_id: int, currency: str, basis: str, amount: Decimal | None) -> None:
        figure = figures[campaign_id]
        revenue = figure.by_currency.setdefault(currency, Revenue(currency))
        setattr(revenue, basis, _money(getattr(revenue, basis) + (amount or ZERO)))

    for row in (
        orders.filter(opportunity__campaign_id__in=ids)
        .values("currency", campaign_id=F("opportunity__campaign_id"))
        .annotate(n=Count("pk"), revenue=Sum("total"))
        .order_by()
    ):
        figures[row["campaign_id"]].counts["order"] = (
            figures[row["campaign_id"]].counts.get("order", 0) + row["n"]
        )
        add(row["campaign_id"], row["currency"], "direct", row["revenue"])
    touched = orders.annotate(
        first_touch=Coalesce(
            _touches(first=True), F("opportunity__campaign_id"), output_field=BigIntegerField()
        ),
        last_touch=Coalesce(
            _touches(first=False), F("opportunity__campaign_id"), output_field=BigIntegerField()
        ),
    )
    for key in ("first_touch", "last_touch"):
        for row in (
            touched.filter(**{f"{key}__in": ids})
            .values(key, "currency")
            .annotate(total=Sum("total"))
            .order_by()
        ):
            add(row[key], row["currency"], key, row["total"])
    return list(figures.values())


def attribution_rows(*, campaigns: Iterable[Campaign]) -> list[dict[str, Any]]:
    """The attribution API's rows."""
    return [
        {
            "campaign": f.campaign.pk,
            "name": f.campaign.name,
            "status": f.campaign.status,
            "currency": f.campaign.currency,
            "cost": f.cost,
            "revenue": [
                {
                    "currency": r.currency,
                    "first_touch": r.first_touch,
                    "last_touch": r.last_touch,
                    "direct": r.direct,
                }
                for r in f.revenues
            ],
            "roi": f.roi,
            "roi_leaves_out": f.roi_leaves_out,
            "cost_per_lead": f.cost_per_lead,
            "funnel": [{"stage": s.key, "count": s.count, "rate": s.rate} for s in f.funnel],
        }
        for f in campaign_figures(campaigns)
    ]
