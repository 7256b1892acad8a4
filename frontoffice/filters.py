"""Filters every app's FilterSets share: ids within bigint range, ISO date-times
normalised to UTC, and an ordering that refuses what the view does not offer."""

from __future__ import annotations

import datetime as dt
from typing import Any

import django_filters
from django import forms
from django.db.models import QuerySet
from django_filters.fields import IsoDateTimeField
from rest_framework.exceptions import ValidationError
from rest_framework.filters import OrderingFilter

from frontoffice.serializers import MAX_ID


class StableOrderingFilter(OrderingFilter):
    """`?ordering=a,-b` with an id tiebreaker, so cursor pages never skip or repeat
    rows. An ordering the view does not offer is a 400 (DRF silently ignores it, and a
    client would page through an order it did not ask for)."""

    def get_ordering(self, request: Any, queryset: QuerySet[Any], view: Any) -> list[str]:
        raw = request.query_params.get(self.ordering_param)
        if raw is None:
            return list(self.get_default_ordering(view) or [])
        allowed = {name for name, _ in self.get_valid_fields(queryset, view, {"request": request})}
        terms = [term.strip() for term in raw.split(",") if term.strip()]
        # One "-" at most: "--name" would pass a stripped check and crash the query.
        if not terms or len(terms) > len(allowed) or any(t.removeprefix("-") not in allowed for t in terms):
            raise ValidationError(
                {
                    self.ordering_param: [
                        f"Order by one or more of: {', '.join(sorted(allowed))} (prefix - for descending)."
                    ]
                }
            )
        if not any(t.removeprefix("-") == "id" for t in terms):
            terms.append("-id" if terms[0].startswith("-") else "id")
        return terms

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        fields = list(getattr(view, "ordering_fields", ()) or ())
        return [
            {
                "name": self.ordering_param,
                "required": False,
                "in": "query",
                "description": "Comma-separated sort keys; prefix - for descending. "
                f"Keys: {', '.join(fields)}.",
                "schema": {"type": "string", "example": f"-{fields[0]}" if fields else ""},
            }
        ]


class UtcIsoDateTimeField(IsoDateTimeField):
    """ISO 8601, normalised to UTC here: an offset near year 1 or 9999 cannot be
    converted, and the database adapter would crash on it (a 500) if we did not."""

    def to_python(self, value: Any) -> dt.datetime | None:
        result: dt.datetime | None = super().to_python(value)
        if result is None:
            return None
        try:
            return result.astimezone(dt.UTC)
        except (OverflowError, ValueError):
            raise forms.ValidationError("Enter a date/time between the years 1 and 9999.") from None


class IsoDateTimeFilter(django_filters.IsoDateTimeFilter):
    field_class = UtcIsoDateTimeField


class IdFilter(django_filters.NumberFilter):
    """An id: a whole number within bigint range (NumberFilter takes 1e400 or 10**30
    as a Decimal, which overflows the query)."""

    field_class = forms.IntegerField

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_ID)
        super().__init__(*args, **kwargs)
