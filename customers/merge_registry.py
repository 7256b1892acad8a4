"""Every foreign key to Customer, so that a merge re-points all of them.

Apps register their references in `AppConfig.ready()`:

    merge_registry.register("sales.Opportunity", "customer")

`customers` registers its own. A test checks that every foreign key to Customer in
every installed app is registered, so a new reference cannot be forgotten.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.apps import apps


@dataclass(frozen=True)
class Reference:
    model_label: str
    field_name: str
    title: str

    @property
    def model(self):
        return apps.get_model(self.model_label)


_references: dict[tuple[str, str], Reference] = {}


def register(model_label: str, field_name: str, title: str | None = None) -> None:
    key = (model_label.lower(), field_name)
    _references[key] = Reference(model_label, field_name, title or model_label.split(".")[-1])


def references() -> list[Reference]:
    return list(_references.values())
