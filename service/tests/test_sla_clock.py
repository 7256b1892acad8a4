"""Business-hours arithmetic, without a database: opening hours, weekends, holidays,
starts outside hours, daylight saving."""

from __future__ import annotations

import datetime as dt

import pytest

from service.sla_clock import Calendar, add_business_time, business_seconds_between
from service.tests.conftest import HOLIDAY, at

HOUR = 3600
DESK = Calendar.of(
    timezone="Europe/Berlin",
    work_days="12345",
    opens_at=dt.time(9),
    closes_at=dt.time(17),
    holidays=[HOLIDAY],
)


@pytest.mark.parametrize(
    ("start", "hours", "due"),
    [
        (at(7, 10), 2, at(7, 12)),  # Monday morning: same day
        (at(7, 16), 2, at(8, 10)),  # past closing: the rest on Tuesday
        (at(7, 7), 1, at(7, 10)),  # before opening: counts from 09:00
        (at(11, 16), 2, at(14, 10)),  # Friday afternoon: over the weekend to Monday
        (at(12, 11), 1, at(14, 10)),  # Saturday: counts from Monday's opening
        (at(24, 16), 2, at(28, 10)),  # Thursday 24th: Friday 25th is a holiday, then the weekend
        (at(7, 9), 16, at(8, 17)),  # two full business days
    ],
)
def test_due_times_count_only_business_hours(start: dt.datetime, hours: int, due: dt.datetime) -> None:
    assert add_business_time(DESK, start, hours * HOUR) == due


def test_business_seconds_between_skip_nights_weekends_and_holidays() -> None:
    assert business_seconds_between(DESK, at(7, 16), at(8, 10)) == 2 * HOUR
    assert business_seconds_between(DESK, at(11, 16), at(14, 10)) == 2 * HOUR
    assert business_seconds_between(DESK, at(24, 16), at(28, 10)) == 2 * HOUR
    assert business_seconds_between(DESK, at(12, 10), at(13, 18)) == 0
    assert business_seconds_between(DESK, at(8, 10), at(7, 10)) == 0


def test_adding_then_measuring_gives_back_the_same_business_time() -> None:
    start = at(9, 13, 17)
    for minutes in (1, 59, 480, 481, 5000):
        due = add_business_time(DESK, start, minutes * 60)
        assert business_seconds_between(DESK, start, due) == minutes * 60


def test_a_working_day_across_a_daylight_saving_change_keeps_wall_clock_hours() -> None:
    # Sunday 29 March 2026 is the switch to summer time: Monday opens at 09:00 CEST.
    friday = dt.datetime(2026, 3, 27, 16, tzinfo=dt.timezone(dt.timedelta(hours=1)))
    due = add_business_time(DESK, friday, 2 * HOUR)
    assert due == dt.datetime(2026, 3, 30, 10, tzinfo=dt.timezone(dt.timedelta(hours=2)))


def test_a_calendar_without_working_days_is_refused_rather_than_looping() -> None:
    never = Calendar.of(timezone="UTC", work_days="", opens_at=dt.time(9), closes_at=dt.time(17))
    with pytest.raises(ValueError, match="no working time"):
        add_business_time(never, at(7, 9), HOUR)
