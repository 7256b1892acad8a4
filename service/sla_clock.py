"""Business-hours arithmetic for SLA clocks: pure functions over a `Calendar` (opening
hours on working days, in one time zone, minus holidays). No database access here: the
services build a `Calendar` from a `BusinessCalendar` row once and pass it in.

Times in and out are aware datetimes; the arithmetic runs in the calendar's local time,
so a due time "2 business hours after 17:00 on Friday" is 09:00 + 1 h on Monday, and a
daylight-saving change inside a working day is accounted for by wall-clock hours.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

# No SLA runs longer than this many calendar days: a calendar with no working day at
# all must not loop forever.
MAX_DAYS = 3660


@dataclass(frozen=True)
class Calendar:
    tz: ZoneInfo
    work_days: frozenset[int]  # ISO weekdays
    opens_at: dt.time
    closes_at: dt.time
    holidays: frozenset[dt.date] = field(default_factory=frozenset)

    @classmethod
    def of(
        cls,
        *,
        timezone: str,
        work_days: str | Iterable[int],
        opens_at: dt.time,
        closes_at: dt.time,
        holidays: Iterable[dt.date] = (),
    ) -> Calendar:
        days = frozenset(int(d) for d in work_days)
        return cls(ZoneInfo(timezone), days, opens_at, closes_at, frozenset(holidays))

    def is_working_day(self, day: dt.date) -> bool:
        return day.isoweekday() in self.work_days and day not in self.holidays

    def window(self, day: dt.date) -> tuple[dt.datetime, dt.datetime] | None:
        """The open hours of `day` as aware datetimes (None on a day off)."""
        if not self.is_working_day(day):
            return None
        start = dt.datetime.combine(day, self.opens_at, tzinfo=self.tz)
        end = dt.datetime.combine(day, self.closes_at, tzinfo=self.tz)
        return start, end


def add_business_time(calendar: Calendar, start: dt.datetime, seconds: float) -> dt.datetime:
    """The moment `seconds` of business time after `start` (`start` itself when 0;
    a start outside hours counts from the next opening)."""
    remaining = dt.timedelta(seconds=max(seconds, 0))
    local = start.astimezone(calendar.tz)
    day = local.date()
    for _ in range(MAX_DAYS):
        window = calendar.window(day)
        if window is not None:
            begin = max(window[0], local)
            if begin < window[1]:
                available = window[1] - begin
                if remaining <= available:
                    return begin + remaining
                remaining -= available
        day += dt.timedelta(days=1)
    raise ValueError("The calendar has no working time within ten years.")


def business_seconds_between(calendar: Calendar, start: dt.datetime, end: dt.datetime) -> int:
    """Business seconds from `start` to `end` (0 when `end` is not later)."""
    if end <= start:
        return 0
    first = start.astimezone(calendar.tz).date()
    last = end.astimezone(calendar.tz).date()
    total = 0.0
    day = first
    while day <= last:
        window = calendar.window(day)
        if window is not None:
            begin, finish = max(window[0], start), min(window[1], end)
            if finish > begin:
                total += (finish - begin).total_seconds()
        day += dt.timedelta(days=1)
    return int(total)
