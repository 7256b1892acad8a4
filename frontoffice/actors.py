"""Who a write is done by: a member of staff (a `User`), or the system, by name.

Every service takes `actor` and checks it (`frontoffice.write_path.authorize`). There is
no "no actor": a write that no person asked for (the ERP's events, a beat sweep, the
demo seed, a public form) names a `SystemActor`, so the timeline and the audit history
say which part of the system did it, and forgetting the actor is an error rather than
a silent bypass of the permission check.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeAlias

if TYPE_CHECKING:
    from frontoffice.models import User


@dataclass(frozen=True)
class SystemActor:
    """A part of the system acting on its own. `permissions=None` grants everything
    (trusted code paths: the ERP sync, sweeps); a set limits it (a public form)."""

    name: str
    permissions: frozenset[str] | None = None

    is_authenticated = True
    is_active = True
    is_anonymous = False
    is_staff = False
    is_superuser = False
    is_system = True
    pk = None
    id = None
    team_id = None

    def has_perm(self, perm: str, obj: Any = None) -> bool:
        return self.permissions is None or perm in self.permissions

    def has_perms(self, perms: Iterable[str], obj: Any = None) -> bool:
        return all(self.has_perm(p, obj) for p in perms)

    def __str__(self) -> str:
        return f"System ({self.name})"


# The system's named actors. Timeline entries show them as "System (<name>)".
ERP_SYNC = SystemActor("ERP sync")
SCHEDULER = SystemActor("scheduler")
DEMO_SEED = SystemActor("demo data")
MAINTENANCE = SystemActor("maintenance")

Actor: TypeAlias = "User | SystemActor"


def is_system(actor: Any) -> bool:
    return isinstance(actor, SystemActor)


def user_of(actor: Any) -> User | None:
    """The staff user behind `actor` for a foreign key (None for the system)."""
    if actor is None or isinstance(actor, SystemActor) or not getattr(actor, "is_authenticated", False):
        return None
    return actor


def describe(actor: Any) -> str:
    """How audit trails name the actor."""
    if isinstance(actor, SystemActor):
        return str(actor)
    return getattr(actor, "username", "") or "anonymous"
