"""Every non-trivial read of pipelines and opportunities, each with a fixed number of
queries whatever the number of rows: the board, the list, the opportunity page, the
choices of the create page, and the 360 panel "Open opportunities"."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import Count, F, Prefetch, QuerySet, Sum, Window
from django.db.models.functions import RowNumber
from django.http import Http404

from backoffice_sync.models import Product
from customers.filters import search_customers
from customers.models import Activity, Customer
from frontoffice.write_path import as_id
from sales.pipeline.filters import BoardFilter, OpportunityFilter
from sales.pipeline.models import Opportunity, OpportunityLine, OpportunityStatus, Pipeline, Stage

# A column shows its next cards to close; the rest are counted and linked ("n more"
# opens the opportunity list filtered to that stage). The column scrolls inside itself.
BOARD_CARDS_PER_COLUMN = 20
PANEL_LIMIT = 10


# --- pipelines --------------------------------------------------------------------------


def pipeline_list() -> QuerySet[Pipeline]:
    return Pipeline.objects.prefetch_related(
        Prefetch("stages", queryset=Stage.objects.order_by("order", "id"))
    )


def pipeline_for_board(pipeline_id: Any = None) -> Pipeline | None:
    pipelines = pipeline_list().filter(active=True)
    if pipeline_id not in (None, ""):
        found = pipelines.filter(pk=as_id(pipeline_id) or 0).first()  # 0: no such row
        if found is None:
            raise Http404("No such pipeline.")
        return found
    return pipelines.order_by("-is_default", "name", "id").first()


def pipeline_stages(*, pipeline_id: int) -> list[Stage]:
    """A pipeline's stages in their order (one query)."""
    return list(Stage.objects.filter(pipeline_id=pipeline_id).order_by("order", "id"))


# --- opportunities ----------------------------------------------------------------------


def opportunity_base() -> QuerySet[Opportunity]:
    return Opportunity.objects.select_related("customer", "owner", "stage", "pipeline")


def opportunity_list(*, filters: Mapping[str, Any] | None = None, actor: Any = None) -> QuerySet[Opportunity]:
    """Opportunities, filtered, with customer, owner, stage and pipeline joined (one
    query per page)."""
    opportunities: QuerySet[Opportunity] = OpportunityFilter(filters or {}, queryset=opportunity_base()).qs
    return opportunities


# The list page's sortable columns: key -> order_by (an id tiebreaker is added).
OPPORTUNITY_PAGE_ORDERINGS = {
    "name": ("name",),
    "customer": ("customer__display_name",),
    "stage": ("pipeline__name", "stage__order"),
    "amount": ("amount",),
    "expected_close_date": ("expected_close_date",),
    "updated_at": ("updated_at",),
}
DEFAULT_OPPORTUNITY_ORDERING = "expected_close_date"
CUSTOMER_PICK_LIMIT = 20
PRODUCT_PICK_LIMIT = 500


def opportunity_ordering(raw: Any) -> tuple[str, list[str]]:
    """The list page's `ordering` parameter (unknown keys fall back to the default) and
    the matching `order_by`, with an id tiebreaker so that pages stay stable."""
    raw = str(raw or "")
    key = raw if raw.lstrip("-") in OPPORTUNITY_PAGE_ORDERINGS else DEFAULT_OPPORTUNITY_ORDERING
    descending = key.startswith("-")
    columns = [f"-{c}" if descending else c for c in OPPORTUNITY_PAGE_ORDERINGS[key.lstrip("-")]]
    return key, [*columns, "-id" if descending else "id"]


def opportunity_page(
    *, filters: Mapping[str, Any] | None = None, ordering: Any = None, actor: Any = None
) -> tuple[str, QuerySet[Opportunity]]:
    """The list page's rows: the API's filters, sorted; one query per page plus the count."""
    key, order_by = opportunity_ordering(ordering)
    return key, opportunity_list(filters=filters, actor=actor).order_by(*order_by)


def customer_choices(*, query: str, limit: int = CUSTOMER_PICK_LIMIT) -> list[Customer]:
    """Live customers matching `query` (name, e-mail, phone), to pick one for a new
    opportunity: one query."""
    query = (query or "").strip()[:200]
    if not query:
        return []
    live = Customer.objects.filter(merged_into__isnull=True)
    return list(search_customers(live, query).order_by("display_name", "id")[:limit])


def customer_for_new_opportunity(*, customer_id: Any) -> Customer | None:
    """The customer a new opportunity is for, when it is a live one (else None)."""
    pk = as_id(customer_id)
    if pk is None:
        return None
    return Customer.objects.filter(pk=pk, merged_into__isnull=True).first()


def product_choices(*, limit: int = PRODUCT_PICK_LIMIT) -> list[tuple[str, str]]:
    """(SKU, name) of the catalogue's active products, for the line inputs' suggestions."""
    return list(Product.objects.filter(active=True).order_by("sku").values_list("sku", "name")[:limit])


def opportunity_get(*, opportunity_id: Any) -> Opportunity:
    found = (
        opportunity_base()
        .select_related("source_lead")
        .prefetch_related(Prefetch("lines", queryset=OpportunityLine.objects.order_by("id")))
        .filter(pk=as_id(opportunity_id) or 0)
        .first()
    )
    if found is None:
        raise Http404("No such opportunity.")
    return found


def opportunity_activities(*, opportunity: Opportunity, limit: int = 50) -> list[Activity]:
    """The opportunity's own entries on its customer's timeline, newest first."""
    return list(
        Activity.objects.filter(
            customer_id=opportunity.customer_id, ref_type="sales.opportunity", ref_id=str(opportunity.pk)
        )
        .select_related("actor")
        .order_by("-occurred_at", "-id")[:limit]
    )


@dataclass
class Money:
    currency: str
    amount: Decimal
    weighted: Decimal


@dataclass
class BoardColumn:
    stage: Stage
    cards: list[Opportunity] = field(default_factory=list)
    count: int = 0
    totals: list[Money] = field(default_factory=list)

    @property
    def hidden(self) -> int:
        return max(0, self.count - len(self.cards))


@dataclass
class Board:
    pipeline: Pipeline
    stages: list[Stage]
    columns: list[BoardColumn]


def board(*, pipeline: Pipeline, filters: Any = None, actor: Any = None) -> Board:
    """One column per stage with its cards, counts, totals and weighted totals (amount
    x stage probability), per currency. 2 queries plus the pipeline's: totals are one
    aggregate; cards are one query, at most `BOARD_CARDS_PER_COLUMN` per stage (a row
    number per stage, so a crowded stage never crowds the others out)."""
    stages = list(pipeline.stages.all())
    base = BoardFilter(filters or {}, queryset=Opportunity.objects.filter(pipeline=pipeline)).qs
    columns = {stage.pk: BoardColumn(stage=stage) for stage in stages}
    for row in (
        base.values("stage_id", "currency")
        .annotate(total=Sum("amount"), n=Count("id"))
        .order_by("stage_id", "currency")
    ):
        column = columns.get(row["stage_id"])
        if column is None:
            continue
        column.count += row["n"]
        total = (row["total"] or Decimal("0")).quantize(Decimal("0.01"))
        weighted = (total * column.stage.probability / 100).quantize(Decimal("0.01"))
        column.totals.append(Money(currency=row["currency"], amount=total, weighted=weighted))
    order = (F("expected_close_date").asc(nulls_last=True), F("amount").desc(), F("id").asc())
    cards = (
        base.select_related("customer", "owner")
        .annotate(place=Window(RowNumber(), partition_by=[F("stage_id")], order_by=order))
        .filter(place__lte=BOARD_CARDS_PER_COLUMN)
        .order_by("stage_id", "place")
        .only(
            "id",
            "name",
            "amount",
            "currency",
            "expected_close_date",
            "stage_id",
            "version",
            "status",
            "owner_id",
            "customer__id",
            "customer__display_name",
            "owner__id",
            "owner__username",
            "owner__first_name",
            "owner__last_name",
            "owner__team_id",
        )
    )
    for card in cards:
        column = columns.get(card.stage_id)
        if column is not None:
            column.cards.append(card)
    return Board(pipeline=pipeline, stages=stages, columns=list(columns.values()))


def close_months(*, today: dt.date, before: int = 3, after: int = 9) -> list[str]:
    """YYYY-MM choices for the board's close-month filter."""
    months = []
    year, month = today.year, today.month
    index = year * 12 + month - 1 - before
    for n in range(index, index + before + after + 1):
        months.append(f"{n // 12:04d}-{n % 12 + 1:02d}")
    return months


# --- the 360 panel ----------------------------------------------------------------------


def open_opportunities_panel(*, customer: Customer, actor: Any) -> list[dict[str, Any]]:
    """The 360 panel "Open opportunities": the next ones to close (one query)."""
    rows = (
        Opportunity.objects.filter(customer=customer, status=OpportunityStatus.OPEN)
        .select_related("stage")
        .order_by("expected_close_date", "id")[:PANEL_LIMIT]
    )
    return [
        {
            "id": o.pk,
            "name": o.name,
            "stage": f"{o.stage.name} ({o.stage.probability}%)",
            "amount": f"{o.amount} {o.currency}",
            "expected_close": o.expected_close_date.isoformat() if o.expected_close_date else None,
        }
        for o in rows
    ]
