"""`python -m bench.flat` (`make bench-flat`): the costs that must not grow with the data,
measured at several sizes of the same base and set side by side.

For each number of customers (default 30,000, 300,000 and 1,000,000, ten activities each)
it runs `python -m bench` on its own database (`fo_bench_flat_<customers>`, built once and
reused like any bench data) with the scenarios whose cost could grow with the base:
searches, the 360 and its duplicates panel, lists (page 1 and deep), timelines, the
newest activities, the dashboard and the whole-base duplicates. Each run's own report
goes to bench/results/flat/<customers>.md and .json; this code then writes
bench/results/flat.md and flat.json: p50 and p95 per size, and the growth of the p50
from the smallest to the largest size.

Flat, here: the largest size's p50 is at most 1.5 times the smallest size's, or at most
5 ms above it (below that the noise of a shared machine decides). The scenarios' own
targets (p95, floor ratio) are in the per-size reports.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

BASE_DIR = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results"
SIZES = (30_000, 300_000, 1_000_000)
ACTIVITIES_PER_CUSTOMER = 10
SCENARIOS = (
    "search_name",
    "search_email",
    "search_phone",
    "search_phone_full",
    "api_360",
    "page_360",
    "duplicates_panel",
    "api_list_p1",
    "api_list_deep",
    "page_list_p1",
    "page_list_deep",
    "timeline_p1",
    "timeline_p50",
    "activities_p1",
    "dashboard",
    "duplicates",
    "duplicates_5",
)
MAX_GROWTH = 1.5
NOISE_MS = 5.0


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.flat", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--sizes", default=",".join(str(n) for n in SIZES), help="Comma-separated numbers of customers."
    )
    parser.add_argument(
        "--database-url",
        default=os.environ.get("BENCH_FLAT_DATABASE_URL")
        or "postgres://postgres@127.0.0.1:5432/fo_bench_flat_{customers}",
        help="Each size's database; {customers} is replaced by the size.",
    )
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--port", type=int, default=int(os.environ.get("BENCH_PORT") or 0))
    parser.add_argument("--only", default=",".join(SCENARIOS))
    parser.add_argument(
        "--measured",
        action="store_true",
        help="Do not run anything: write flat.md from the per-size reports already in bench/results/flat/.",
    )
    return parser.parse_args(argv)


def run_size(customers: int, args: argparse.Namespace) -> None:
    command = [
        sys.executable,
        "-m",
        "bench",
        "--customers",
        str(customers),
        "--activities",
        str(customers * ACTIVITIES_PER_CUSTOMER),
        "--database-url",
        args.database_url.format(customers=customers),
        "--requests",
        str(args.requests),
        "--only",
        args.only,
        "--name",
        f"flat/{customers}",
    ]
    if args.port:
        command += ["--port", str(args.port)]
    print(f"== {customers:,} customers", flush=True)
    subprocess.run(command, cwd=BASE_DIR, check=True)


def growth(rows: list[dict[str, Any] | None]) -> tuple[float | None, bool | None]:
    """The p50 of the largest measured size over the smallest's, and whether that is flat
    (`MAX_GROWTH`, or `NOISE_MS` above); (None, None) with fewer than two sizes measured."""
    measured = [row for row in rows if row is not None]
    if len(measured) < 2:
        return None, None
    first, last = measured[0]["p50_ms"], measured[-1]["p50_ms"]
    factor = last / first if first else float("inf")
    return factor, factor <= MAX_GROWTH or last - first <= NOISE_MS


def read_runs(sizes: list[int], results: Path | None = None) -> dict[int, dict[str, Any]]:
    """Each size's own report (flat/<size>.json); stops, naming the size, when one is missing."""
    results = RESULTS if results is None else results
    runs = {}
    for size in sizes:
        path = results / "flat" / f"{size}.json"
        if not path.exists():
            raise SystemExit(f"No report for {size:,} customers ({path}): run without --measured first.")
        runs[size] = json.loads(path.read_text())
    return runs


def summarise(runs: dict[int, dict[str, Any]], sizes: list[int], only: list[str]) -> dict[str, Any]:
    """flat.json: per scenario of `only`, each size's p50, p95 and queries (None where a
    size's report lacks the scenario), the growth of the p50 and the verdict."""
    table = []
    for name in only:
        per_size = [
            next((s for s in runs[size]["scenarios"] if s["scenario"] == name), None) for size in sizes
        ]
        factor, flat = growth(per_size)
        what = next((row["what"] for row in per_size if row is not None), name)
        # A scenario's rows can differ by size (a filter matching more customers, a page
        # holding more pairs): each size's own description then goes beside the verdict.
        whats = {str(size): row["what"] for size, row in zip(sizes, per_size, strict=True) if row is not None}
        table.append(
            {
                "scenario": name,
                "what": what,
                "sizes": {
                    str(size): None
                    if row is None
                    else {"p50_ms": row["p50_ms"], "p95_ms": row["p95_ms"], "queries": row["queries"]}
                    for size, row in zip(sizes, per_size, strict=True)
                },
                "growth": factor,
                "flat": flat,
                "what_by_size": whats if len(set(whats.values())) > 1 else None,
            }
        )
    return {
        "sizes": sizes,
        "requests": runs[sizes[0]]["requests"],
        "activities_per_customer": ACTIVITIES_PER_CUSTOMER,
        "runs": {
            str(size): {"environment": runs[size]["environment"], "scale": runs[size]["scale"]}
            for size in sizes
        },
        "max_growth": MAX_GROWTH,
        "noise_ms": NOISE_MS,
        "scenarios": table,
    }


def markdown(summary: dict[str, Any]) -> str:
    sizes = summary["sizes"]
    lines = [
        "# Frontoffice benchmark: flat in the size of the base",
        "",
        "Written by `python -m bench.flat` (`make bench-flat`); the method is in bench/flat.py. Do not edit by hand.",
        "",
        f"The same scenarios as `make bench` (served by gunicorn, 2 workers, PostgreSQL; {summary['requests']} "
        "timed requests each after warm-up), on bases of "
        + ", ".join(f"{size:,}" for size in sizes)
        + f" customers ({summary['activities_per_customer']} activities each). Each size's full report: "
        + ", ".join(f"[{size:,}](flat/{size}.md)" for size in sizes)
        + ".",
        "",
        f"Flat: the largest base's p50 at most {summary['max_growth']}x the smallest's, or at most "
        f"{summary['noise_ms']:.0f} ms above it.",
        "",
    ]
    for size in sizes:
        env = summary["runs"][str(size)]["environment"]
        load = ", ".join(str(x) for x in env["load_average_before"])
        lines.append(
            f"- {size:,} customers: measured {env['date_utc']} UTC, load average before the run {load}"
        )
    lines += [
        "",
        "| Scenario | What | "
        + " | ".join(f"{size:,}: p50 / p95" for size in sizes)
        + " | Growth of p50 | Flat |",
        "|---|---|" + "---|" * len(sizes) + "---|---|",
    ]
    for row in summary["scenarios"]:
        cells = []
        for size in sizes:
            figures = row["sizes"][str(size)]
            cells.append("—" if figures is None else f"{figures['p50_ms']:.1f} / {figures['p95_ms']:.1f} ms")
        growth_cell = "—" if row["growth"] is None else f"{row['growth']:.2f}x"
        flat_cell = "—" if row["flat"] is None else ("yes" if row["flat"] else "**no**")
        lines.append(
            f"| {row['scenario']} | {row['what']} | "
            + " | ".join(cells)
            + f" | {growth_cell} | {flat_cell} |"
        )
    differing = [row for row in summary["scenarios"] if row.get("what_by_size")]
    if differing:
        lines += [
            "",
            "Scenarios whose rows are not the same at every size, as each size's report describes them:",
            "",
        ]
        for row in differing:
            described = "; ".join(f"{int(size):,}: {what}" for size, what in row["what_by_size"].items())
            lines.append(f"- {row['scenario']}: {described}")
    lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    sizes = [int(size) for size in args.sizes.split(",") if size]
    only = [name for name in args.only.split(",") if name]
    (RESULTS / "flat").mkdir(parents=True, exist_ok=True)
    if not args.measured:
        for size in sizes:
            run_size(size, args)
    summary = summarise(read_runs(sizes), sizes, only)
    summary["written_utc"] = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M")
    (RESULTS / "flat.json").write_text(json.dumps(summary, indent=2) + "\n")
    (RESULTS / "flat.md").write_text(markdown(summary))
    print(f"Written to {RESULTS / 'flat.md'} and .json")


if __name__ == "__main__":
    main()
