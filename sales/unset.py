"""`UNSET`: a keyword argument left out, so the field keeps its value.

Update services take typed keyword arguments, and a partial update (PATCH, a form that
shows some fields) must tell "leave this alone" from "set it to None or empty": a field
left out defaults to `UNSET`.

    def lead_update(*, actor: Actor, lead_id: int, notes: str | Unset = UNSET, ...) -> Lead:
        if given(notes):
            lead.notes = ...
"""

from __future__ import annotations

import enum
from typing import Final, TypeGuard, TypeVar

T = TypeVar("T")


class Unset(enum.Enum):
    UNSET = "unset"

    def __bool__(self) -> bool:
        return False

    def __repr__(self) -> str:
        return "UNSET"


UNSET: Final = Unset.UNSET


def given(value: T | Unset) -> TypeGuard[T]:
    """True when the caller passed the argument (even None or "")."""
    return not isinstance(value, Unset)


def given_fields(**values: object) -> dict[str, object]:
    """The arguments the caller passed, by name (for the rules that look at several)."""
    return {name: value for name, value in values.items() if not isinstance(value, Unset)}
