"""The customer import benchmark's data and verdict: its generated file imports as a real
file would (every row good, the repeats skipped), and the targets are judged as stated."""

from __future__ import annotations

from typing import Any

import pytest

from bench.customer_import import verdict, write_file
from customers.services_import import customer_import


@pytest.mark.django_db
def test_the_generated_file_imports_with_its_repeats_skipped(tmp_path: Any, marketer: Any) -> None:
    path = tmp_path / "customers.csv"
    made = write_file(path, 400)
    with path.open("rb") as file:
        report = customer_import(actor=marketer, file=file, dry_run=True)
    assert (report.rows, report.error_count) == (400, 0)
    assert report.valid + report.skipped_count == 400
    assert report.skipped_count >= made["repeats"]


def test_the_verdict_judges_time_and_flat_memory() -> None:
    def run(rows: int, seconds: float, memory: float) -> dict[str, Any]:
        return {"rows": rows, "seconds": seconds, "status": "done", "import_rss_mb": memory}

    good = verdict([run(10_000, 5, 10), run(100_000, 50, 19)])
    assert (good["time"]["pass"], good["memory"]["pass"]) == (True, True)
    bad = verdict([run(10_000, 5, 10), run(100_000, 61, 100)])
    assert (bad["time"]["pass"], bad["memory"]["pass"]) == (False, False)
