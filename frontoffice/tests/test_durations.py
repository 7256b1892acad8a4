"""`span` writes a duration as people read it, at every scale."""

from __future__ import annotations

import pytest

from frontoffice.templatetags.durations import span


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (None, "\u2013"),
        (-3, "0 s"),
        (0.4, "0 s"),
        (59.4, "59 s"),
        (60, "1 min"),
        (3599, "59 min"),
        (3600, "1 h"),
        (3600 + 20 * 60 + 5, "1 h 20 min"),
        (47 * 3600 + 59 * 60, "47 h 59 min"),
        (48 * 3600, "2 days"),
        (10_081_373, "116 days"),
    ],
)
def test_a_duration_reads_in_the_largest_sensible_unit(seconds: float | None, text: str) -> None:
    assert span(seconds) == text
