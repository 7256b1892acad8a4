"""Reads of segments: the customers a rule set selects (one query), its live count and a
sample for the builder."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet

from customers.models import Customer, Tag
from marketing.models import Campaign, Segment
from marketing.segments.rules import catalogue, compile_rules
from sales.pipeline.selectors import product_choices

SAMPLE_SIZE = 10
PICK_LIMIT = 500


def segment_base() -> QuerySet[Segment]:
    return Segment.objects.select_related("owner")


def segment_customers(*, rules: Any, include_merged: bool = False) -> QuerySet[Customer]:
    """The customers `rules` select (live ones unless `include_merged`), as one query.
    ValidationError for bad rules (1 query for the custom attributes' definitions)."""
    base = Customer.objects.all() if include_merged else Customer.objects.filter(merged_into__isnull=True)
    return base.filter(compile_rules(rules)).order_by()


@dataclass(frozen=True)
class SegmentPreview:
    count: int
    sample: list[dict[str, Any]]


def segment_preview(*, rules: Any, sample_size: int = SAMPLE_SIZE) -> SegmentPreview:
    """How many customers `rules` select and the first few by name (3 queries)."""
    customers = segment_customers(rules=rules)
    sample = [
        dict(row)
        for row in customers.order_by("display_name", "id").values(
            "id", "display_name", "kind", "lifecycle_stage"
        )[:sample_size]
    ]
    count = len(sample) if len(sample) < sample_size else customers.count()
    return SegmentPreview(count=count, sample=sample)


def segment_fields() -> list[dict[str, Any]]:
    """Every field a rule may name (the builder's menu, the API's fields list): 1 query."""
    return [
        {
            "field": name,
            "label": spec.label,
            "type": spec.type,
            "ops": list(spec.ops),
            "choices": list(spec.choices),
            "help": spec.help,
        }
        for name, spec in catalogue().items()
    ]


def segment_builder_options(*, limit: int = PICK_LIMIT) -> dict[str, list[Any]]:
    """What the builder offers as values: the tags, campaigns and active products (the
    first `limit` of each; a rule may still name others): 3 queries."""
    return {
        "tags": list(Tag.objects.order_by("name").values_list("name", flat=True)[:limit]),
        "campaigns": [
            [pk, name] for pk, name in Campaign.objects.order_by("-id").values_list("id", "name")[:limit]
        ],
        "products": [[sku, name] for sku, name in product_choices(limit=limit)],
    }
