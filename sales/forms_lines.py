"""Line rows shared by the opportunity and quote forms: one row of fields per line
(`line_<i>_sku`, `line_<i>_quantity`, `line_<i>_<third>`), a few empty rows to add
lines, a cleared SKU removes its line, and the service's `lines.<n>.<field>` errors land
on the row the line came from."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

EMPTY_LINE_ROWS = 3


def row_count(lines: int, data: Mapping[str, Any] | None, *, most: int) -> int:
    """The rows to draw: the lines plus the empty ones; a posted form keeps the rows it
    was rendered with, bounded by `most`."""
    rows = lines + EMPTY_LINE_ROWS
    if data is not None:
        posted = sum(1 for key in data if key.startswith("line_") and key.endswith("_sku"))
        rows = min(max(rows, posted), most)
    return rows


class LineRowsMixin:
    """For a `ServiceForm` with `rows` rows of line fields; `third_column` names the
    third field of a row."""

    third_column: str
    rows: int
    fields: dict[str, Any]
    cleaned_data: dict[str, Any]

    def _start_rows(self, rows: int) -> None:
        self.rows = rows
        self._row_of: dict[int, int] = {}

    def field_for_error(self, key: str) -> str | None:
        if key.startswith("lines."):
            parts = key.split(".")
            if len(parts) == 3 and parts[1].isdigit():
                name = f"line_{self._row_of.get(int(parts[1]), parts[1])}_{parts[2]}"
                return name if name in self.fields else None
            return None
        return super().field_for_error(key)  # type: ignore[misc]

    @property
    def line_rows(self) -> list[tuple[Any, Any, Any]]:
        return [
            (self[f"line_{i}_sku"], self[f"line_{i}_quantity"], self[f"line_{i}_{self.third_column}"])  # type: ignore[index]
            for i in range(self.rows)
        ]

    def cleaned_lines(
        self, line: Callable[[str, Callable[[str], Any]], dict[str, Any]]
    ) -> list[dict[str, Any]]:
        """The filled rows as the service's lines, in order: `line(sku, value)` builds
        one, `value(name)` reading the row's cleaned `name` field."""
        data = self.cleaned_data
        lines: list[dict[str, Any]] = []
        self._row_of = {}
        for i in range(self.rows):
            sku = (data.get(f"line_{i}_sku") or "").strip()
            if not sku:
                continue
            self._row_of[len(lines)] = i
            lines.append(line(sku, _row_reader(data, i)))
        return lines


def _row_reader(data: Mapping[str, Any], row: int) -> Callable[[str], Any]:
    def value(name: str) -> Any:
        return data.get(f"line_{row}_{name}")

    return value
