"""The working day under load (bench.load_day, bench/locustfile.py): its verdicts come
from the figures measured, and every request of the locustfile reaches a view of the app
that answers its method."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

from django.urls import resolve

from bench.load_day import read_stats, report_markdown, verdicts
from bench.workday import REQUESTS, path

LOCUSTFILE = Path(__file__).resolve().parent.parent / "bench" / "locustfile.py"
STATS_HEADER = (
    "Type,Name,Request Count,Failure Count,Median Response Time,Average Response Time,Min Response Time,"
    "Max Response Time,Average Content Size,Requests/s,Failures/s,50%,66%,75%,80%,90%,95%,98%,99%,99.9%,"
    "99.99%,100%"
)


def stats_row(
    method: str, name: str, count: int, failures: int, p50: str, p95: str, p99: str, rps: str
) -> str:
    return f"{method},{name},{count},{failures},{p50},1,1,{p99},100,{rps},0,{p50},1,1,1,1,{p95},1,{p99},1,1,{p99}"


def result_for(*, errors: int, p95: float | None, rss: list[float]) -> dict[str, Any]:
    overall = {
        "name": "overall",
        "method": "",
        "requests": 1000,
        "errors": errors,
        "p50_ms": 40.0,
        "p95_ms": p95,
        "p99_ms": 300.0,
        "max_ms": 900.0,
        "rps": 33.3,
    }
    result: dict[str, Any] = {
        "scale": {"name": "default", "customers": 100_000, "activities": 1_000_000, "built": False, "data_seconds": 3},
        "workers": 2,
        "users": 50,
        "spawn_rate": 5,
        "run_time": "5m",
        "warm_up": "20s",
        "saturation_time": "30s",
        "environment": {"machine": "x86_64, 2 CPUs", "load_average_before": [0.5, 0.4, 0.3], "date_utc": "now"},
        "load_average_after": [1.5, 0.9, 0.5],
        "day": {"overall": overall, "per_request": [{**overall, "name": "search", "method": "GET"}], "failures": []},
        "saturation": [
            {"users": 2, "requests": 900, "errors": 0, "rps": 30.0, "p50_ms": 50, "p95_ms": 90, "p99_ms": 99, "failures": []},
            {"users": 4, "requests": 950, "errors": 0, "rps": 31.2, "p50_ms": 90, "p95_ms": 190, "p99_ms": 250, "failures": []},
        ],
        "workers_rss": [{"pid": 10 + n, "rss_mb": mb} for n, mb in enumerate(rss)],
        "master_rss_mb": 25.0,
    }  # fmt: skip
    result["verdicts"] = verdicts(result)
    return result


def test_the_day_passes_with_no_error_a_fast_p95_and_small_workers() -> None:
    # given / when
    result = result_for(errors=0, p95=120.0, rss=[110.0, 150.0])
    # then
    assert [c["pass"] for c in result["verdicts"]] == [True, True, True]
    report = report_markdown(result)
    assert "**pass**" in report
    assert "**31 requests/s** at saturation of 2 workers (best step: 4 users)" in report


def test_each_target_missed_fails_on_its_own() -> None:
    # given: one figure over its target at a time
    cases = {
        "0 errors": result_for(errors=1, p95=120.0, rss=[110.0]),
        "p95": result_for(errors=0, p95=200.0, rss=[110.0]),
        "RSS": result_for(errors=0, p95=120.0, rss=[110.0, 200.0]),
    }
    for target, result in cases.items():
        # when
        failed = [c["target"] for c in result["verdicts"] if not c["pass"]]
        # then
        assert len(failed) == 1, (target, failed)
        assert target in failed[0]
        assert "Result: **fail**" in report_markdown(result)


def test_no_request_or_no_worker_found_is_a_failure_not_a_pass() -> None:
    result = result_for(errors=0, p95=None, rss=[])
    assert [c["pass"] for c in result["verdicts"]] == [True, False, False]


def test_locusts_statistics_are_read_per_request_and_overall() -> None:
    # given: locust's --csv files
    stats = "\n".join(
        [
            STATS_HEADER,
            stats_row("GET", "search", 200, 0, "40", "120", "180", "10.5"),
            stats_row("PATCH", "case update", 20, 2, "60", "N/A", "N/A", "1.0"),
            stats_row("", "Aggregated", 220, 2, "41", "130", "190", "11.5"),
        ]
    )
    failures = 'Method,Name,Error,Occurrences\nPATCH,case update,"412: stale",2\n'
    # when
    read = read_stats(stats, failures)
    # then
    assert read["overall"]["requests"] == 220
    assert read["overall"]["errors"] == 2
    assert read["overall"]["p95_ms"] == 130.0
    assert read["overall"]["rps"] == 11.5
    by_name = {r["name"]: r for r in read["per_request"]}
    assert by_name["search"]["p99_ms"] == 180.0
    assert by_name["case update"]["p95_ms"] is None
    assert read["failures"] == [{"method": "PATCH", "name": "case update", "error": "412: stale", "count": 2}]


def test_every_request_of_the_day_reaches_a_view_that_answers_its_method() -> None:
    for name, (method, _) in REQUESTS.items():
        match = resolve(path(name, 1))
        actions = getattr(match.func, "actions", None)
        if actions is not None:  # a DRF viewset: its routes' methods
            assert method.lower() in actions, (name, method, actions)
        else:
            assert hasattr(match.func.cls, method.lower()), (name, method)


def _client_calls(tree: ast.AST) -> list[tuple[str, ast.Call]]:
    calls = []
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and isinstance(node.func.value, ast.Attribute)
            and node.func.value.attr == "client"
        ):
            calls.append((node.func.attr.upper(), node))
    return calls


def test_the_locustfile_takes_every_url_and_method_from_the_workday() -> None:
    # given
    tree = ast.parse(LOCUSTFILE.read_text())
    # then: no URL written in the locustfile itself
    literals = [n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)]
    assert not [v for v in literals if v.startswith("/")]
    calls = _client_calls(tree)
    assert calls
    for method, call in calls:
        name = next(k.value for k in call.keywords if k.arg == "name")
        assert isinstance(name, ast.Constant)
        first = call.args[0]
        if isinstance(first, ast.Call):  # path("<name>", ...): the same name, its method
            assert isinstance(first.func, ast.Name)
            assert first.func.id == "path"
            assert isinstance(first.args[0], ast.Constant)
            assert first.args[0].value == name.value
            assert REQUESTS[name.value][0] == method, name.value
        else:  # a list's pages, through the "next" links the API gave
            assert name.value in (*REQUESTS, "list next page"), name.value
            assert method == "GET"
            assert REQUESTS.get(name.value, ("GET",))[0] == "GET"
