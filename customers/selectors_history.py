"""The customer's audit history as people read it: who changed which field from what
to what, from consecutive django-simple-history records."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from customers.models import Customer


@dataclass
class HistoryChange:
    field: str
    old: Any
    new: Any

    @property
    def label(self) -> str:
        from django.core.exceptions import FieldDoesNotExist

        if self.field in _HISTORY_LABELS:
            return _HISTORY_LABELS[self.field]
        try:
            field = Customer._meta.get_field(self.field)
            return str(getattr(field, "verbose_name", self.field)).capitalize()
        except FieldDoesNotExist:
            return self.field


@dataclass
class HistoryEntry:
    record: Any
    action: str
    changes: list[HistoryChange]
    earlier_unknown: bool = False


_HISTORY_ACTIONS = {"+": "Created", "~": "Changed", "-": "Deleted"}
_HISTORY_LABELS = {"erp_customer_number": "ERP customer number", "attributes": "Custom attributes"}
# `version` changes with every write; showing it would only add noise.
_HISTORY_HIDDEN = ("version", "tags")


def _choice_label(field_name: str, value: Any) -> Any:
    """ "former" reads "Former customer" in the history, as on the page."""
    choices = getattr(Customer._meta.get_field(field_name), "flatchoices", None)
    return dict(choices).get(value, value) if choices else value


def customer_history_changes(*, records: list[Any]) -> list[HistoryEntry]:
    """Who changed what, newest first, from consecutive audit records (as loaded by
    `customer_360`). At most 2 queries: tag sets of every record, and the owners named
    in owner changes; field diffs are computed in memory."""
    from django.apps import apps

    from frontoffice.models import User

    if not records:
        return []
    through = apps.get_model("customers", "HistoricalCustomer_tags")
    tags_by_record: dict[int, set[str]] = defaultdict(set)
    for history_id, tag_name in through.objects.filter(
        history_id__in=[r.history_id for r in records]
    ).values_list("history_id", "tag__name"):
        tags_by_record[history_id].add(tag_name)
    entries: list[HistoryEntry] = []
    owner_ids: set[int] = set()
    for newer, older in zip(records, [*records[1:], None], strict=True):
        if older is None:
            entries.append(
                HistoryEntry(
                    record=newer,
                    action=_HISTORY_ACTIONS.get(newer.history_type, newer.history_type),
                    changes=[],
                    earlier_unknown=newer.history_type != "+",
                )
            )
            continue
        delta = newer.diff_against(older, excluded_fields=_HISTORY_HIDDEN)
        changes = [
            HistoryChange(c.field, _choice_label(c.field, c.old), _choice_label(c.field, c.new))
            for c in delta.changes
        ]
        old_tags, new_tags = tags_by_record[older.history_id], tags_by_record[newer.history_id]
        if old_tags != new_tags:
            changes.append(
                HistoryChange(
                    "tags", ", ".join(sorted(old_tags)) or None, ", ".join(sorted(new_tags)) or None
                )
            )
        owner_ids.update(c.old for c in changes if c.field == "owner" and c.old)
        owner_ids.update(c.new for c in changes if c.field == "owner" and c.new)
        entries.append(
            HistoryEntry(
                record=newer,
                action=_HISTORY_ACTIONS.get(newer.history_type, newer.history_type),
                changes=changes,
            )
        )
    if owner_ids:
        owners = User.objects.in_bulk(owner_ids)
        for entry in entries:
            for change in entry.changes:
                if change.field == "owner":
                    change.old = owners.get(change.old, change.old) if change.old else None
                    change.new = owners.get(change.new, change.new) if change.new else None
    return entries
