"""The suite's verdicts on throughput rows (the outbox relay): at least the target rate,
every message delivered, and a second worker faster than one."""

from __future__ import annotations

from typing import Any

from bench.__main__ import python_loop_ms, report_markdown, verdict


def relay_row(name: str, rate: float, errors: int = 0, faster_than: str | None = None) -> dict[str, Any]:
    return {
        "scenario": name,
        "what": name,
        "errors": errors,
        "rate": rate,
        "min_rate": 1000.0,
        "faster_than": faster_than,
        "seconds": 20_000 / rate,
        "claimed_per_worker": [20_000],
        "floor_rate": 30_000.0,
        "ratio": 30_000.0 / rate,
    }


def test_a_relay_passes_at_the_target_rate_with_everything_delivered() -> None:
    one = relay_row("relay_1_worker", 1500)
    assert verdict(one, {"relay_1_worker": one}) == (True, "")
    slow = relay_row("relay_1_worker", 900, errors=3)
    passed, why = verdict(slow, {"relay_1_worker": slow})
    assert not passed
    assert "3 not delivered" in why
    assert "900/s < 1,000/s" in why


def test_a_second_worker_must_be_faster_than_one() -> None:
    one = relay_row("relay_1_worker", 1500)
    for rate, expected in ((1400, False), (2100, True)):
        two = relay_row("relay_2_workers", rate, faster_than="relay_1_worker")
        passed, why = verdict(two, {"relay_1_worker": one, "relay_2_workers": two})
        assert passed is expected, why


def report(scenarios: list[dict[str, Any]], **environment: Any) -> dict[str, Any]:
    """A run's result as `python -m bench` writes it, with these rows."""
    return {
        "scale": {"name": "default", "customers": 1, "activities": 1, "built": False, "data_seconds": 1.0},
        "workers": 2,
        "postgres": 150000,
        "warm_up": 1,
        "requests": 1,
        "environment": {
            "machine": "x",
            "load_average_before": [1.0, 1.0, 1.0],
            "date_utc": "2026-12-06 07:00",
            "python": "3.11",
            "django": "5.2",
            **environment,
        },
        "scenarios": scenarios,
    }


def test_throughputs_have_their_own_table_in_the_report() -> None:
    one = relay_row("relay_1_worker", 1500)
    one["pass"], one["why"] = True, ""
    text = report_markdown(report([one]))
    assert (
        "| relay_1_worker | relay_1_worker | 13.3 s | 1,500 | 20,000 | 30,000/s | 20.0x | ≥ 1,000/s | pass |"
        in text
    )


def test_the_report_says_how_fast_the_machine_ran_python_before_and_after_the_load() -> None:
    measured = python_loop_ms()
    assert measured > 0
    result = report([], python_loop_ms_before=12.5, python_loop_ms_after=measured)
    assert f"took 12.5 ms before the load and {measured} ms after it" in report_markdown(result)
