"""Records found by their number as it is typed: what the apps' `NumberLookup`s share.

A number typed in the search box ("SO-000123", "so 123", "C-0001", "123") is read once
here into a `TypedNumber`; each app's lookup (`frontoffice.plugin.NumberLookup`) turns it
into indexed conditions on its own records:

- `exact(prefix)`: the full number the input stands for ("so 123" is "SO-000123");
- `prefix_text(prefix)`: what a number starting with the input starts with ("SO-0001"
  finds SO-000100 to SO-000199), only when the input names the app's prefix;
- `text_prefix_q(field, text)` and `padded_ranges()`: those prefixes as range conditions
  that a plain B-tree index answers in order, on SQLite and PostgreSQL alike (a
  `LIKE 'x%'` is not answered by an index on SQLite, nor on PostgreSQL outside the C
  collation); numbers are upper-case ASCII, for which the ranges and the prefixes agree.

The hub never names an app: the global search and `GET /api/v1/search/` ask every
installed lookup (`frontoffice.search`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.db.models import Q

# Letters, then digits, with a space, hyphen, slash, dot or # between them, or none.
_NUMBER = re.compile(r"([A-Z]{1,6})?[\s\-/#.]*(\d{1,18})")
# The width of the numbers the apps print ("SO-000123": six digits, zero-padded).
WIDTH = 6
# Ids up to 10**WIDEST - 1 are found by a prefix of their printed number.
WIDEST = 9


@dataclass(frozen=True)
class TypedNumber:
    """The input read as a number: `letters` ("SO", or "" when only digits were typed)
    and `digits` ("000123"), and `text`, the normalised input ("SO-000123")."""

    letters: str
    digits: str

    @property
    def text(self) -> str:
        return f"{self.letters}-{self.digits}" if self.letters else self.digits

    @property
    def value(self) -> int:
        return int(self.digits)

    def names(self, prefix: str) -> bool:
        """The input may be one of the numbers printed with `prefix` ("SO")."""
        return self.letters in ("", prefix)

    def exact(self, prefix: str, width: int = WIDTH) -> str:
        """The whole number the input stands for: "so 123" is "SO-000123"."""
        return f"{prefix}-{self.value:0{width}d}"

    def prefix_text(self, prefix: str) -> str | None:
        """What the numbers starting with the input start with ("SO-0001"), when the
        input names `prefix`; None for bare digits (they are a whole number, or a phone)."""
        return f"{prefix}-{self.digits}" if self.letters == prefix else None


def read_number(q: str) -> TypedNumber | None:
    """`q` read as a record's number, or None when it does not look like one."""
    value = (q or "").strip().upper()[:40]
    match = _NUMBER.fullmatch(value)
    if match is None:
        return None
    return TypedNumber(letters=match.group(1) or "", digits=match.group(2))


def text_prefix_q(field: str, text: str) -> Q:
    """`field` starts with `text` (upper-case ASCII), as a range a B-tree index answers:
    "SO-0001" <= field < "SO-0002"."""
    following = text[:-1] + chr(ord(text[-1]) + 1)
    return Q(**{f"{field}__gte": text, f"{field}__lt": following})


def padded_ranges(digits: str, width: int = WIDTH, widest: int = WIDEST) -> list[tuple[int, int]]:
    """The ids whose printed number (zero-padded to `width` digits) starts with
    `digits`, as inclusive ranges in increasing order: "0001" is 100-199; "12" is
    120000-129999, then 1200000-1299999 and so on up to `widest` digits."""
    ranges = []
    start = int(digits)
    for digits_in_number in range(max(width, len(digits)), widest + 1):
        if digits_in_number > width and digits.startswith("0"):
            break  # a number wider than the padding has no leading zero
        scale = 10 ** (digits_in_number - len(digits))
        low, high = max(1, start * scale), (start + 1) * scale - 1
        if low <= high:
            ranges.append((low, high))
    return ranges
