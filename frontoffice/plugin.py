"""How an app plugs into the project: one `hooks.py` per app, read at start.

Each installed app may have a module `<app>/hooks.py` defining `HOOKS = AppHooks(...)`:
its roles' grants, its pages' URLs and API routes, its navigation entries, its 360
panels, the timeline kinds it writes, its foreign keys to Customer (for merges), its
event subscriptions, its periodic tasks, its dashboard cards and search results, and
its demo seed step. The project root (`config/`) and the hub (`customers`) read them
through `frontoffice.plugin`; neither names an app, so adding one touches only its folder and
the installed-apps line of the settings.

The kernel defines the shapes; it imports no app. Loading is `load()`, called once from
`FrontofficeConfig.ready()` (every model is loaded by then).
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from importlib import import_module
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from django.apps import apps
from django.utils.module_loading import module_has_submodule

if TYPE_CHECKING:
    from rest_framework.serializers import BaseSerializer
    from rest_framework.viewsets import ViewSetMixin

HOOKS_MODULE = "hooks"
FACT_KEY = re.compile(r"[a-z][a-z0-9_]{0,49}")
E = TypeVar("E")


@dataclass(frozen=True)
class NavItem:
    """An entry of the main navigation, shown to users holding `permission`."""

    label: str
    url_name: str
    permission: str | None = None
    order: int = 100


@dataclass(frozen=True)
class ApiRoute:
    """A viewset registered under /api/v1/<prefix>/."""

    prefix: str
    viewset: type[ViewSetMixin]
    basename: str


@dataclass(frozen=True)
class Panel:
    """A panel of the customer 360 view.

    `loader(customer=..., actor=...)` returns the panel's data (JSON-able), described
    for API clients by `serializer`; it runs at most `query_budget` queries whatever the
    data (a test per panel holds it to that at 0 and at many rows).
    """

    key: str
    title: str
    loader: Callable[..., Any]
    # None: the hub's generic rendering of the data (a definition list).
    template: str | None = None
    serializer: type[BaseSerializer[Any]] | None = None
    permission: str | None = None
    order: int = 100
    query_budget: int = 2


class TimelineTone(StrEnum):
    """The colour family of a timeline badge (a CSS modifier)."""

    NEUTRAL = "neutral"
    INFO = "info"
    SUCCESS = "success"
    WARNING = "warning"
    DANGER = "danger"


@dataclass(frozen=True)
class TimelineKind:
    """A kind of timeline entry an app writes: how people see it and where it leads.

    `link(ref_id)` gives the page of the record the entry refers to (`ref_type`,
    `ref_id` on the entry), or None; `link_permission` hides the link from users who
    could not open that page. `view_permission` hides the entries themselves (on the
    360 page, its timeline and every timeline endpoint) from users without it: what a
    role may not read elsewhere (invoices, payments) it does not read on the timeline.
    """

    code: str
    label: str
    icon: str
    tone: TimelineTone = TimelineTone.NEUTRAL
    ref_type: str = ""
    link: Callable[[str], str | None] | None = None
    link_permission: str | None = None
    view_permission: str | None = None


@dataclass(frozen=True)
class MergeReference:
    """A foreign key to Customer that a merge re-points from the duplicate to the survivor.

    `repoint(survivor, duplicate)` replaces the plain UPDATE where rows need care
    (uniqueness, self-references); it returns the number of rows moved. Re-pointed
    rows with a `version` get it bumped, so that a client holding their old ETag
    re-reads them. `derived`: rows an index keeps for the duplicate (its look-alike
    pairs, its filed name), dropped by `repoint` and not a record a person would see
    move, so a merge's preview leaves them out.
    """

    model_label: str
    field_name: str
    title: str
    repoint: Callable[[Any, Any], int] | None = None
    derived: bool = False

    @property
    def model(self) -> Any:
        return apps.get_model(self.model_label)


class Phase(StrEnum):
    """When an event handler runs.

    AFTER_COMMIT: once the publisher's transaction has committed (never for a rollback);
    a failing handler is logged and does not affect the publisher. IN_TRANSACTION:
    inside the publisher's transaction, so that the handler's writes commit or roll
    back with the change (an outbox row for the ERP, for instance).
    """

    AFTER_COMMIT = "after_commit"
    IN_TRANSACTION = "in_transaction"


@dataclass(frozen=True)
class Subscription(Generic[E]):
    """`handler(event)` for every published event of type `event` (a contract class);
    the type checker holds the handler to the contract it names."""

    event: type[E]
    handler: Callable[[E], object]  # what it returns is ignored
    phase: Phase


@dataclass(frozen=True)
class PeriodicTask:
    """A beat entry: `task` (its registered name) every `schedule` (seconds, a
    timedelta or a crontab)."""

    name: str
    task: str
    schedule: Any
    kwargs: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class DemoStep:
    """One step of the demo data `make run` loads: `run(options)` seeds this app's part
    (options: `customers`, `stdout`, `if_empty`...) and returns a one-line summary.
    Steps run in `order`; each must do nothing on a database that has its data."""

    name: str
    order: int
    run: Callable[[Mapping[str, Any]], str]


@dataclass(frozen=True)
class DashboardCard:
    """A card on the dashboard: `loader(actor=..., now=...)` returns the template's context."""

    key: str
    title: str
    loader: Callable[..., Mapping[str, Any]]
    template: str
    permission: str | None = None
    order: int = 100


@dataclass(frozen=True)
class SearchHit:
    title: str
    url: str
    detail: str = ""


@dataclass(frozen=True)
class SearchProvider:
    """Results for the global search box: `search(q=..., actor=..., limit=...)` returns
    at most `limit` hits; `more_url(q)` leads to all of them. `noun` names one hit and
    several ("customer", "customers") in the count read out to screen readers."""

    key: str
    title: str
    search: Callable[..., list[SearchHit]]
    noun: tuple[str, str] = ("result", "results")
    more_url: Callable[[str], str] | None = None
    permission: str | None = None
    order: int = 100


@dataclass(frozen=True)
class CustomerFact:
    """A yes/no fact about customers that an app knows and other apps may ask about
    without importing it (marketing's segment rules offer each as `fact.<key>`).

    `customers()` returns a queryset of one column, the ids of the customers for whom
    the fact holds now (`Case.objects.filter(...).values("customer_id")`); callers use
    it as a subquery (`Customer.objects.filter(pk__in=fact.customers())`), so a rule on
    it stays inside one SQL query. It must not run queries itself."""

    key: str
    label: str
    customers: Callable[[], Any]
    help: str = ""


@dataclass(frozen=True)
class NumberHit:
    """A record found by its number, with the customer it belongs to."""

    number: str
    title: str
    url: str
    customer_id: int | None = None
    customer_name: str = ""
    detail: str = ""


@dataclass(frozen=True)
class NumberLookup:
    """Records an app numbers (orders "SO-000123", quotes "Q-000045", cases "C-000007"),
    found by their number as it is typed in the global search box and the search API.

    `find(number=..., actor=..., limit=...)` gets the input read as a number
    (`frontoffice.numbers.TypedNumber`, never None) and returns at most `limit` hits,
    each with its customer, through exact or prefix lookups that an index answers, in a
    fixed number of queries whatever the data. Shown to holders of `permission`: the
    permission to open the records found.
    """

    key: str
    title: str
    find: Callable[..., list[NumberHit]]
    noun: tuple[str, str] = ("record", "records")
    permission: str | None = None
    order: int = 100


@dataclass(frozen=True)
class AppHooks:
    """Everything an app plugs into the project (all optional)."""

    # {role name: ["app_label.codename", ...]}; see frontoffice.roles.
    roles: Mapping[str, Iterable[str]] = field(default_factory=dict)
    # Pages: the app's urlconf module, mounted at `url_prefix` ("sales/").
    urls: str | None = None
    url_prefix: str = ""
    api_routes: Sequence[ApiRoute] = ()
    navigation: Sequence[NavItem] = ()
    panels: Sequence[Panel] = ()
    timeline_kinds: Sequence[TimelineKind] = ()
    merge_references: Sequence[MergeReference] = ()
    subscriptions: Sequence[Subscription[Any]] = ()
    periodic_tasks: Sequence[PeriodicTask] = ()
    demo_steps: Sequence[DemoStep] = ()
    dashboard: Sequence[DashboardCard] = ()
    search: Sequence[SearchProvider] = ()
    customer_facts: Sequence[CustomerFact] = ()
    # Records found by their number in the global search (orders, quotes, cases).
    numbers: Sequence[NumberLookup] = ()
    # OpenAPI enum component names for this app's choice sets, where two apps' fields
    # share a name (`kind`, `channel`): {"ContactKindEnum": "customers.choices.ContactKind"}.
    api_enums: Mapping[str, str] = field(default_factory=dict)
    # Receivers of post_migrate for this app (data every database needs, e.g. a default).
    post_migrate: Sequence[Callable[..., None]] = ()


@dataclass(frozen=True)
class LoadedHooks:
    app_label: str
    hooks: AppHooks


_loaded: list[LoadedHooks] | None = None
_generation = 0


def load() -> list[LoadedHooks]:
    """Import every installed app's `hooks` module, in INSTALLED_APPS order (once)."""
    global _loaded
    if _loaded is None:
        found = []
        for config in apps.get_app_configs():
            if not module_has_submodule(config.module, HOOKS_MODULE):
                continue
            module = import_module(f"{config.name}.{HOOKS_MODULE}")
            if not hasattr(module, "HOOKS"):
                continue  # a third-party app's own `hooks` module (drf-spectacular has one)
            hooks = module.HOOKS
            if not isinstance(hooks, AppHooks):
                raise TypeError(f"{config.name}.hooks.HOOKS must be an AppHooks(...).")
            found.append(LoadedHooks(config.label, hooks))
        _check_unique(found)  # before caching: a second call must not skip the check
        _loaded = found
    return _loaded


def _check_unique(found: list[LoadedHooks]) -> None:
    """Two apps claiming one panel key, timeline kind or route is a start-up error, not
    a silent override."""
    for what, keys in (
        ("panel", [p.key for h in found for p in h.hooks.panels]),
        ("timeline kind", [k.code for h in found for k in h.hooks.timeline_kinds]),
        ("API route", [r.prefix for h in found for r in h.hooks.api_routes]),
        ("periodic task", [t.name for h in found for t in h.hooks.periodic_tasks]),
        ("customer fact", [f.key for h in found for f in h.hooks.customer_facts]),
        ("number lookup", [n.key for h in found for n in h.hooks.numbers]),
        (
            "merge reference",
            [(r.model_label.lower(), r.field_name) for h in found for r in h.hooks.merge_references],
        ),
    ):
        seen: set[Any] = set()
        for key in keys:
            if key in seen:
                raise ValueError(f"Two apps declare the {what} {key!r}.")
            seen.add(key)
    for fact in (f for h in found for f in h.hooks.customer_facts):
        if not FACT_KEY.fullmatch(fact.key):
            raise ValueError(f"The customer fact {fact.key!r}: name it with a-z, 0-9 and _ (a letter first).")


@contextlib.contextmanager
def installed(app_label: str, hooks: AppHooks) -> Iterator[None]:
    """Plug extra hooks in for the duration of a `with` block (tests)."""
    global _generation
    loaded = load()
    entry = LoadedHooks(app_label, hooks)
    loaded.append(entry)
    _generation += 1
    try:
        _check_unique(loaded)
        yield
    finally:
        loaded.remove(entry)
        _generation += 1


def generation() -> int:
    """Changes whenever the installed hooks change (caches built from them compare it)."""
    return _generation


# --- typed views over all apps' hooks (what the root and the hub read) -----------------


def panels() -> list[Panel]:
    return sorted((p for h in load() for p in h.hooks.panels), key=lambda p: (p.order, p.key))


def panel(key: str) -> Panel | None:
    return next((p for p in panels() if p.key == key), None)


def timeline_kinds() -> dict[str, TimelineKind]:
    return {k.code: k for h in load() for k in h.hooks.timeline_kinds}


def merge_references() -> list[MergeReference]:
    return [r for h in load() for r in h.hooks.merge_references]


def navigation() -> list[NavItem]:
    return sorted((n for h in load() for n in h.hooks.navigation), key=lambda n: n.order)


def api_routes() -> list[ApiRoute]:
    return [r for h in load() for r in h.hooks.api_routes]


def periodic_tasks() -> list[PeriodicTask]:
    return [t for h in load() for t in h.hooks.periodic_tasks]


def beat_schedule() -> dict[str, dict[str, Any]]:
    """Celery beat's schedule, from every app's periodic tasks."""
    return {
        t.name: {"task": t.task, "schedule": t.schedule, **({"kwargs": dict(t.kwargs)} if t.kwargs else {})}
        for t in periodic_tasks()
    }


def demo_steps() -> list[DemoStep]:
    return sorted((s for h in load() for s in h.hooks.demo_steps), key=lambda s: (s.order, s.name))


def dashboard_cards() -> list[DashboardCard]:
    return sorted((c for h in load() for c in h.hooks.dashboard), key=lambda c: (c.order, c.key))


def search_providers() -> list[SearchProvider]:
    return sorted((s for h in load() for s in h.hooks.search), key=lambda s: (s.order, s.key))


def customer_facts() -> dict[str, CustomerFact]:
    """Every app's customer facts by key, in INSTALLED_APPS order."""
    return {f.key: f for h in load() for f in h.hooks.customer_facts}


def number_lookups() -> list[NumberLookup]:
    return sorted((n for h in load() for n in h.hooks.numbers), key=lambda n: (n.order, n.key))


def allowed(user: Any, permission: str | None) -> bool:
    return permission is None or bool(user.has_perm(permission))


__all__ = [
    "ApiRoute",
    "AppHooks",
    "CustomerFact",
    "DashboardCard",
    "DemoStep",
    "MergeReference",
    "NavItem",
    "NumberHit",
    "NumberLookup",
    "Panel",
    "PeriodicTask",
    "Phase",
    "SearchHit",
    "SearchProvider",
    "Subscription",
    "TimelineKind",
    "TimelineTone",
]
