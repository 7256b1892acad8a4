"""Panels that other apps plug into the 360 view, so that `customers` imports no app.

    panels.register(Panel(key="open_cases", title="Open cases", order=30,
                          loader=open_cases_for_customer, template="service/_panel.html",
                          permission="service.view_case"))

A loader takes the customer and returns JSON-able data; it must run a fixed number
of queries (the 360 view's query budget is tested).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Panel:
    key: str
    title: str
    loader: Callable[[Any], Any]
    template: str = "customers/_panel_generic.html"
    permission: str | None = None
    order: int = 100


_panels: dict[str, Panel] = {}


def register(panel: Panel) -> None:
    _panels[panel.key] = panel


def get(key: str) -> Panel | None:
    return _panels.get(key)


def panels_for(user: Any) -> list[Panel]:
    return sorted(
        (p for p in _panels.values() if p.permission is None or user.has_perm(p.permission)),
        key=lambda p: (p.order, p.key),
    )
