"""`make bench-flat` (bench/flat.py) without a database or a server: the growth verdict on
each side of its two limits, the side-by-side summary and its markdown (a row per
scenario, "**no**" for one that grows, links to each size's report), a size whose report
is missing, and the committed flat.md and flat.json being what the code writes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bench import flat


def row(p50: float, p95: float | None = None, name: str = "search_name", queries: int = 3) -> dict[str, Any]:
    return {
        "scenario": name,
        "what": f"GET /{name}/",
        "p50_ms": p50,
        "p95_ms": p50 * 2 if p95 is None else p95,
        "queries": queries,
    }


def run(size: int, *scenarios: dict[str, Any], date: str = "2026-12-06 21:20") -> dict[str, Any]:
    """A size's own report, as `python -m bench --name flat/<size>` writes it (what flat reads)."""
    return {
        "scale": {"name": "default", "customers": size, "activities": size * 10},
        "requests": 500,
        "environment": {"date_utc": date, "load_average_before": [1.12, 1.8, 2.8]},
        "scenarios": list(scenarios),
    }


# --- the growth verdict -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("smallest", "largest", "flat_expected"),
    [
        (20.0, 30.0, True),  # exactly 1.5x (10 ms above): flat
        (20.0, 30.2, False),  # 1.51x and 10.2 ms above: grows
        (4.0, 9.0, True),  # 2.25x but exactly 5 ms above: flat (noise)
        (4.0, 9.5, False),  # 2.375x and 5.5 ms above: grows
        (40.0, 20.0, True),  # faster on the larger base
    ],
)
def test_a_scenario_is_flat_within_one_and_a_half_times_or_five_ms(
    smallest: float, largest: float, flat_expected: bool
) -> None:
    factor, is_flat = flat.growth([row(smallest), row(largest)])

    assert factor == pytest.approx(largest / smallest)
    assert is_flat is flat_expected


def test_the_limits_are_the_documented_ones() -> None:
    assert (flat.MAX_GROWTH, flat.NOISE_MS) == (1.5, 5.0)


def test_the_verdict_compares_the_largest_size_with_the_smallest_not_the_middle() -> None:
    # given: the middle size slow, the ends alike
    rows = [row(10.0), row(100.0), row(11.0)]

    # when
    factor, is_flat = flat.growth(rows)

    # then
    assert factor == pytest.approx(1.1)
    assert is_flat is True


def test_a_zero_smallest_p50_grows_infinitely_but_is_flat_within_the_noise() -> None:
    assert flat.growth([row(0.0), row(5.0)]) == (float("inf"), True)
    assert flat.growth([row(0.0), row(5.1)]) == (float("inf"), False)


def test_sizes_without_the_scenario_are_left_out_of_the_verdict() -> None:
    # given: the smallest size did not measure it; the next one is the reference
    factor, is_flat = flat.growth([None, row(10.0), row(40.0)])

    # then
    assert factor == pytest.approx(4.0)
    assert is_flat is False


@pytest.mark.parametrize("rows", [[], [row(10.0)], [None, row(10.0), None], [None, None]])
def test_fewer_than_two_measured_sizes_give_no_verdict(rows: list[dict[str, Any] | None]) -> None:
    assert flat.growth(rows) == (None, None)


# --- the summary and its markdown -----------------------------------------------------------------


def two_sizes() -> dict[int, dict[str, Any]]:
    return {
        30_000: run(
            30_000,
            row(10.0, 12.0, name="search_name"),
            row(18.0, 25.0, name="duplicates_panel"),
            row(5.0, 6.0, name="api_360"),
            date="2026-12-06 21:20",
        ),
        1_000_000: run(
            1_000_000,
            row(14.0, 20.0, name="search_name"),
            row(78.0, 95.5, name="duplicates_panel"),
            date="2026-12-06 22:05",
        ),
    }


def summary_of(runs: dict[int, dict[str, Any]], only: list[str]) -> dict[str, Any]:
    return flat.summarise(runs, list(runs), only)


def test_the_summary_sets_each_scenarios_sizes_side_by_side_with_its_verdict() -> None:
    summary = summary_of(two_sizes(), ["search_name", "duplicates_panel"])

    first, second = summary["scenarios"]
    assert first == {
        "scenario": "search_name",
        "what": "GET /search_name/",
        "sizes": {
            "30000": {"p50_ms": 10.0, "p95_ms": 12.0, "queries": 3},
            "1000000": {"p50_ms": 14.0, "p95_ms": 20.0, "queries": 3},
        },
        "growth": pytest.approx(1.4),
        "flat": True,
        "what_by_size": None,
    }
    assert (second["scenario"], second["growth"], second["flat"]) == (
        "duplicates_panel",
        pytest.approx(78 / 18),
        False,
    )
    assert summary["sizes"] == [30_000, 1_000_000]
    assert summary["requests"] == 500
    assert (summary["max_growth"], summary["noise_ms"]) == (1.5, 5.0)


def test_the_summary_keeps_the_order_of_the_scenarios_asked_for() -> None:
    summary = summary_of(two_sizes(), ["duplicates_panel", "search_name"])

    assert [r["scenario"] for r in summary["scenarios"]] == ["duplicates_panel", "search_name"]


def test_a_scenario_missing_from_a_size_has_no_figures_there_and_no_verdict() -> None:
    summary = summary_of(two_sizes(), ["api_360", "never_measured"])

    api_360, never = summary["scenarios"]
    assert api_360["sizes"]["1000000"] is None
    assert api_360["sizes"]["30000"] == {"p50_ms": 5.0, "p95_ms": 6.0, "queries": 3}
    assert (api_360["what"], api_360["growth"], api_360["flat"]) == ("GET /api_360/", None, None)
    assert never == {
        "scenario": "never_measured",
        "what": "never_measured",
        "sizes": {"30000": None, "1000000": None},
        "growth": None,
        "flat": None,
        "what_by_size": None,
    }


def test_a_scenario_described_differently_by_size_keeps_each_sizes_description() -> None:
    # given: the whole base's pairs, a page holding more of them on the larger base
    runs = two_sizes()
    runs[30_000]["scenarios"].append(dict(row(8.6, name="duplicates"), what="GET /dup/ (7 pairs)"))
    runs[1_000_000]["scenarios"].append(dict(row(42.9, name="duplicates"), what="GET /dup/ (100 pairs)"))

    # when
    summary = summary_of(runs, ["search_name", "duplicates"])
    text = flat.markdown(summary)

    # then: the same description at every size is kept once, differing ones per size
    same, differing = summary["scenarios"]
    assert same["what_by_size"] is None
    assert differing["what_by_size"] == {"30000": "GET /dup/ (7 pairs)", "1000000": "GET /dup/ (100 pairs)"}
    assert "- duplicates: 30,000: GET /dup/ (7 pairs); 1,000,000: GET /dup/ (100 pairs)" in text.splitlines()
    assert "- search_name:" not in text


def test_the_markdown_has_no_list_of_differing_descriptions_when_there_is_none() -> None:
    text = flat.markdown(summary_of(two_sizes(), ["search_name", "duplicates_panel"]))

    assert "not the same at every size" not in text


def test_the_markdown_has_a_row_per_scenario_with_p50_p95_growth_and_verdict() -> None:
    # given
    summary = summary_of(two_sizes(), ["search_name", "duplicates_panel", "api_360"])

    # when
    text = flat.markdown(summary)

    # then
    lines = text.splitlines()
    assert "| Scenario | What | 30,000: p50 / p95 | 1,000,000: p50 / p95 | Growth of p50 | Flat |" in lines
    assert "|---|---|---|---|---|---|" in lines
    assert "| search_name | GET /search_name/ | 10.0 / 12.0 ms | 14.0 / 20.0 ms | 1.40x | yes |" in lines
    assert (
        "| duplicates_panel | GET /duplicates_panel/ | 18.0 / 25.0 ms | 78.0 / 95.5 ms | 4.33x | **no** |"
        in lines
    )
    assert "| api_360 | GET /api_360/ | 5.0 / 6.0 ms | — | — | — |" in lines
    assert len([line for line in lines if line.startswith("| ") and not line.startswith("| Scenario")]) == 3


def test_only_a_growing_scenario_is_marked_no() -> None:
    text = flat.markdown(summary_of(two_sizes(), ["search_name", "api_360"]))

    assert "**no**" not in text


def test_the_markdown_links_each_sizes_report_and_says_when_it_was_measured() -> None:
    text = flat.markdown(summary_of(two_sizes(), ["search_name"]))

    assert "Each size's full report: [30,000](flat/30000.md), [1,000,000](flat/1000000.md)." in text
    assert "on bases of 30,000, 1,000,000 customers (10 activities each)" in text
    assert "Flat: the largest base's p50 at most 1.5x the smallest's, or at most 5 ms above it." in text
    assert (
        "- 30,000 customers: measured 2026-12-06 21:20 UTC, load average before the run 1.12, 1.8, 2.8"
        in text
    )
    assert "- 1,000,000 customers: measured 2026-12-06 22:05 UTC" in text


# --- reading the sizes' reports; --measured ----------------------------------------------------


def write_runs(results: Path, runs: dict[int, dict[str, Any]]) -> None:
    (results / "flat").mkdir(parents=True)
    for size, report in runs.items():
        (results / "flat" / f"{size}.json").write_text(json.dumps(report))


def test_each_sizes_report_is_read_from_flat_slash_size(tmp_path: Path) -> None:
    write_runs(tmp_path, two_sizes())

    assert flat.read_runs([30_000, 1_000_000], tmp_path) == two_sizes()


def test_a_missing_report_stops_naming_the_size(tmp_path: Path) -> None:
    # given: the 300,000 run never happened
    write_runs(tmp_path, two_sizes())

    # when / then
    with pytest.raises(SystemExit, match=r"No report for 300,000 customers .*run without --measured first"):
        flat.read_runs([30_000, 300_000, 1_000_000], tmp_path)


def test_measured_writes_flat_md_and_json_from_the_reports_without_running_anything(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given
    write_runs(tmp_path, two_sizes())
    monkeypatch.setattr(flat, "RESULTS", tmp_path)
    monkeypatch.setattr(flat, "run_size", lambda *_: pytest.fail("--measured ran a benchmark"))

    # when
    flat.main(["--measured", "--sizes", "30000,1000000", "--only", "search_name,duplicates_panel"])

    # then
    written = json.loads((tmp_path / "flat.json").read_text())
    assert [r["flat"] for r in written["scenarios"]] == [True, False]
    assert (tmp_path / "flat.md").read_text() == flat.markdown(written)


def test_measured_with_a_missing_report_writes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given
    write_runs(tmp_path, two_sizes())
    monkeypatch.setattr(flat, "RESULTS", tmp_path)

    # when
    with pytest.raises(SystemExit, match="No report for 300,000 customers"):
        flat.main(["--measured", "--sizes", "30000,300000,1000000"])

    # then: the last flat.md and .json are not replaced by a partial one
    assert not (tmp_path / "flat.md").exists()
    assert not (tmp_path / "flat.json").exists()


# --- the committed results ----------------------------------------------------------------------


def test_the_committed_flat_md_is_what_the_code_writes_from_flat_json() -> None:
    summary = json.loads((flat.RESULTS / "flat.json").read_text())

    assert (flat.RESULTS / "flat.md").read_text() == flat.markdown(summary)


def test_the_committed_flat_json_summarises_the_committed_reports_of_each_size() -> None:
    # given
    committed = json.loads((flat.RESULTS / "flat.json").read_text())
    sizes = committed["sizes"]
    only = [r["scenario"] for r in committed["scenarios"]]

    # when
    summary = flat.summarise(flat.read_runs(sizes), sizes, only)

    # then
    committed.pop("written_utc")
    assert json.loads(json.dumps(summary)) == committed
