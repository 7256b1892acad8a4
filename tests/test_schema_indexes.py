"""No column of ours has an index of its own where another index or unique constraint
of its table starts with the column: that index serves the same lookups (joins, deletes
that cascade, `customer_id = ANY(...)`, a range of `created_at`), and the extra one only
costs every insert and the disk (the activity table's customer index was 9 MB per
100,000 customers, the name index's 6.6 MB).

Django gives every foreign key an index unless told `db_index=False`, and `TimeStamped`
one to `created_at`; a model that adds a composite index or unique constraint led by the
column says so (`db_index=False`, `TimeStampedListed`)."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.apps import AppConfig, apps
from django.conf import settings
from django.db import models


def _ours(config: AppConfig) -> bool:
    """An app of this repository (not an installed package's)."""
    path = Path(config.path).resolve()
    return path.is_relative_to(settings.BASE_DIR) and ".venv" not in path.parts


def _leading_columns(model: type[models.Model]) -> dict[str, list[str]]:
    """Each column that leads an unconditional index or unique constraint: their names."""
    meta = model._meta
    leads: dict[str, list[str]] = {}
    for index in meta.indexes:
        if index.condition is None and index.fields:
            column = meta.get_field(index.fields[0].lstrip("-")).column
            leads.setdefault(column, []).append(str(index.name))
    for constraint in meta.constraints:
        if (
            isinstance(constraint, models.UniqueConstraint)
            and constraint.condition is None
            and constraint.fields
        ):
            leads.setdefault(meta.get_field(constraint.fields[0]).column, []).append(constraint.name)
    for fields in meta.unique_together:
        leads.setdefault(meta.get_field(fields[0]).column, []).append("unique_together")
    return leads


def _redundant_indexes() -> list[str]:
    found = []
    for config in apps.get_app_configs():
        if not _ours(config):
            continue
        for model in config.get_models():
            leads = _leading_columns(model)
            for field in model._meta.local_fields:
                if field.db_index and not field.unique and field.column in leads:
                    found.append(f"{model.__name__}.{field.name} (led by {', '.join(leads[field.column])})")
    return found


def test_no_column_has_an_index_another_one_already_leads_with() -> None:
    assert {c.name for c in apps.get_app_configs() if _ours(c)} >= {"customers", "sales", "service"}
    assert _redundant_indexes() == []


@pytest.mark.parametrize(("model_name", "field_name"), [("Activity", "customer"), ("Customer", "created_at")])
def test_the_check_sees_an_index_a_composite_covers(model_name: str, field_name: str) -> None:
    # given: a foreign key, or a time stamp, indexed as Django's default would have it
    field = apps.get_model("customers", model_name)._meta.get_field(field_name)
    field.db_index = True
    try:
        # then
        assert any(f.startswith(f"{model_name}.{field_name} ") for f in _redundant_indexes())
    finally:
        field.db_index = False
