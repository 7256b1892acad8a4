"""The dates a business record may carry: 1900-01-01 to 2099-12-31.

A date outside that range is a typing slip (year 1000, 9999-12-31), not a fact, and
it breaks what computes from it (the month after 9999-12 does not exist). Services,
forms and API serializers all check with `date_problem`, so the rule is one rule.
"""

from __future__ import annotations

import datetime as dt
import re

EARLIEST_DATE = dt.date(1900, 1, 1)
LATEST_DATE = dt.date(2099, 12, 31)
RANGE_TEXT = f"between {EARLIEST_DATE.isoformat()} and {LATEST_DATE.isoformat()}"
_MONTH = re.compile(r"([0-9]{4})-(0[1-9]|1[0-2])")


def date_problem(value: dt.date) -> str | None:
    """Why `value` (a date or a datetime) cannot be a business date, or None."""
    day = value.date() if isinstance(value, dt.datetime) else value
    if not EARLIEST_DATE <= day <= LATEST_DATE:
        return f"Enter a date {RANGE_TEXT}."
    return None


def month_start(text: object) -> dt.date | None:
    """The first day of the month `text` names as YYYY-MM, or None when it names none in
    the range (a query parameter typed by hand: "9999-12", "2026-13", "²")."""
    if not isinstance(text, str) or not text.isascii():
        return None
    match = _MONTH.fullmatch(text)
    if match is None:
        return None
    year, month = int(match[1]), int(match[2])
    if not EARLIEST_DATE.year <= year <= LATEST_DATE.year:
        return None
    return dt.date(year, month, 1)
