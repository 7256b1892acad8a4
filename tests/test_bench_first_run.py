"""The README's first-run figures are the ones `make bench-first-run` last wrote."""

from __future__ import annotations

import json
from pathlib import Path

from bench import first_run

RESULT = {
    "measured_at": "2026-12-06T05:00:00+00:00",
    "customers": 2000,
    "cpus": 2,
    "load_average_at_start": 0.5,
    "steps": [
        {"step": "migrate", "seconds": 6.25},
        {"step": "demo: customers (2000 customers)", "seconds": 4.0},
    ],
    "total_seconds": 10.25,
}


def test_write_replaces_only_the_marked_part_of_the_readme(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text(f"intro\n{first_run.START}\nold table\n{first_run.END}\nrest\n")

    first_run.write(RESULT, readme=readme, results=tmp_path / "results")

    text = readme.read_text()
    assert text.startswith("intro\n")
    assert text.endswith("rest\n")
    assert "old table" not in text
    assert "| migrate | 6.2 |" in text or "| migrate | 6.3 |" in text
    assert "| **total, until the site answers** | **10** |" in text
    assert json.loads((tmp_path / "results" / "first-run.json").read_text()) == RESULT


def test_the_readme_carries_the_last_measured_first_run() -> None:
    readme = first_run.README.read_text()
    assert first_run.START in readme
    assert first_run.END in readme
    measured = json.loads((first_run.RESULTS / "first-run.json").read_text())
    marked = readme.split(first_run.START, 1)[1].split(first_run.END, 1)[0]
    assert marked.strip() == first_run.table(measured).strip()
