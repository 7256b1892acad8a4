"""Who a write is done by: a member of staff (a `User`), or the system, by name.

Every service takes `actor: Actor` and checks it (`frontoffice.write_path.authorize`).
There is no "no actor": a write that no person asked for (the ERP's events, a beat
sweep, the demo seed, a public form) names a `SystemActor`, so the timeline and the
audit history say which part of the system did it, and forgetting the actor is an
error rather than a silent bypass of the permission check.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from django.db.models import Model

    from frontoffice.models import User


class Actor(Protocol):
    """What a service may ask of whoever acts: a `User`, a `SystemActor`, or (from a
    request nobody logged in to) Django's `AnonymousUser`, which `authorize` refuses.

    Read-only members, so that a model field (`User.is_active`) and a constant
    (`SystemActor.is_active`) both satisfy them.
    """

    @property
    def pk(self) -> Any: ...

    @property
    def is_authenticated(self) -> bool: ...

    @property
    def is_active(self) -> bool: ...

    def has_perm(self, perm: str, obj: Model | None = None) -> bool: ...

    def has_perms(self, perm_list: Iterable[str], obj: Model | None = None) -> bool: ...


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

    def has_perm(self, perm: str, obj: Model | None = None) -> bool:
        return self.permissions is None or perm in self.permissions

    def has_perms(self, perm_list: Iterable[str], obj: Model | None = None) -> bool:
        return all(self.has_perm(p, obj) for p in perm_list)

    def __str__(self) -> str:
        return f"System ({self.name})"


# The system's named actors. Timeline entries show them as "System (<name>)".
ERP_SYNC = SystemActor("ERP sync")
SCHEDULER = SystemActor("scheduler")
DEMO_SEED = SystemActor("demo data")
MAINTENANCE = SystemActor("maintenance")


def is_system(actor: Actor | None) -> bool:
    return isinstance(actor, SystemActor)


def user_of(actor: Actor | None) -> User | None:
    """The staff user behind `actor` for a foreign key (None for the system, for an
    anonymous visitor and for no actor)."""
    # Imported here, so that this module (constants and a Protocol) stays importable
    # before the app registry is ready, when models cannot be.
    from frontoffice.models import User

    return actor if isinstance(actor, User) else None


def describe(actor: Actor | None) -> str:
    """How audit trails name the actor."""
    if isinstance(actor, SystemActor):
        return str(actor)
    user = user_of(actor)
    return (user.get_username() if user is not None else "") or "anonymous"


def signed_in_user(user: object) -> User:
    """`request.user` of a view that requires a signed-in staff user, typed as one.

    Views and API views behind login or `IsAuthenticated` call this instead of passing
    `User | AnonymousUser` on: an anonymous user reaching it is a wiring mistake, refused.
    """
    from django.core.exceptions import PermissionDenied

    from frontoffice.models import User

    if not isinstance(user, User):
        raise PermissionDenied("Sign in first.")
    return user
