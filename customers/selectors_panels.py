"""The 360 view's panels, registered by the apps in their hooks (`frontoffice.plugin.Panel`):
which ones an actor may see, which ones a client asked for, and one panel's data.

A panel's loader runs its own queries (at most its `query_budget` whatever the data),
so the 360 summary loads none unless asked: the page fetches each panel in a request of
its own, and API clients name the panels they want inlined.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404

from customers.models import Customer
from frontoffice import plugin
from frontoffice.plugin import Panel

GENERIC_PANEL_TEMPLATE = "customers/_panel_generic.html"
# Keys are slugs; a longer one names no panel and is not echoed in full.
MAX_KEY_SHOWN = 50


@dataclass
class PanelView:
    """A panel as the 360 view lists it: `loaded` with its `data`, or only its title."""

    panel: Panel
    loaded: bool = False
    data: Any = field(default=None)

    @property
    def key(self) -> str:
        return self.panel.key

    @property
    def title(self) -> str:
        return self.panel.title

    @property
    def template(self) -> str:
        return self.panel.template or GENERIC_PANEL_TEMPLATE


def visible_panels(*, actor: Any) -> list[Panel]:
    """The registered panels `actor` may see, in their order."""
    return [p for p in plugin.panels() if plugin.allowed(actor, p.permission)]


def requested_panels(*, actor: Any, keys: Iterable[str]) -> list[Panel]:
    """The panels named by `keys` (each once, in the registry's order). A key that
    names no panel, or one the actor may not see, is a ValidationError on `panels`
    that names it."""
    wanted = list(dict.fromkeys(keys))
    visible = {p.key: p for p in visible_panels(actor=actor)}
    errors = []
    for key in wanted:
        if key in visible:
            continue
        shown = key if len(key) <= MAX_KEY_SHOWN else key[:MAX_KEY_SHOWN] + "…"
        if plugin.panel(key) is None:
            errors.append(f"No such panel: {shown!r}.")
        else:
            errors.append(f"You may not see the panel {shown!r}.")
    if errors:
        raise ValidationError({"panels": errors})
    return [p for p in visible.values() if p.key in wanted]


def load_panel(*, panel: Panel, customer: Customer, actor: Any) -> Any:
    """The panel's data for `customer`: its loader's own queries."""
    return panel.loader(customer=customer, actor=actor)


def customer_panels(*, customer: Customer, actor: Any, load: Iterable[str] = ()) -> list[PanelView]:
    """Every panel `actor` may see; those named in `load` with their data (a
    ValidationError names any that cannot be)."""
    chosen = {p.key for p in requested_panels(actor=actor, keys=load)}
    return [
        PanelView(panel, loaded=True, data=load_panel(panel=panel, customer=customer, actor=actor))
        if panel.key in chosen
        else PanelView(panel)
        for panel in visible_panels(actor=actor)
    ]


def customer_panel(*, customer: Customer, key: str, actor: Any) -> PanelView:
    """One panel with its data. Http404 for a panel that does not exist,
    PermissionDenied for one the actor may not see."""
    panel = plugin.panel(key)
    if panel is None:
        raise Http404("No such panel.")
    if not plugin.allowed(actor, panel.permission):
        raise PermissionDenied("You may not see this panel.")
    return PanelView(panel, loaded=True, data=load_panel(panel=panel, customer=customer, actor=actor))
