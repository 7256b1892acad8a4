"""What every CSV import shares (the leads', the customers'): reading an uploaded file
as UTF-8 text line by line, finding the separator, reading the header (aliases, unknown
and repeated columns), numbering rows as a spreadsheet shows them, the per-row report
items, formula-escaped cells and the template file.

Each importer keeps its own columns, row rules and duplicate checks; this module knows
nothing of leads or customers. Reading is streaming: `text_lines` holds one chunk of the
file at a time, so a file of any size is read in flat memory.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

READ_CHUNK = 64 * 1024
# A cell starting with one of these is run by a spreadsheet as a formula; the CSV exports
# prefix such a cell with "'" (OWASP's CSV injection advice), the imports take it off.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_separators = re.compile(r"[\s\-]+")


class FileProblem(Exception):
    """The file as a whole cannot be read (not UTF-8, too large, empty...)."""


@dataclass(frozen=True)
class RowIssue:
    """One problem (or skipped row): `row` as a spreadsheet numbers it (1 is the header),
    None for the file as a whole; `column` empty for a whole row or the file."""

    row: int | None
    column: str
    message: str

    @property
    def where(self) -> str:
        if self.row is None:
            return "The file"
        return f"Row {self.row}" + (f", {self.column}" if self.column else "")

    def as_dict(self) -> dict[str, Any]:
        return {"row": self.row, "column": self.column, "message": self.message}


def formula_safe(value: Any) -> str:
    """A cell a spreadsheet will not run as a formula (OWASP's CSV injection advice)."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def formula_unescaped(value: str) -> str:
    """The cell `formula_safe` escaped, as it was: a file exported here imports as it was
    exported ("'+44 20 7946 0000" is the phone "+44 20 7946 0000")."""
    if value.startswith("'") and value[1:].startswith(FORMULA_START):
        return value[1:]
    return value


def text_lines(file: Any, *, max_bytes: int, what: str = "rows") -> Iterator[str]:
    """The lines of a binary file read as UTF-8 (a byte-order mark is fine), each ending
    in "\\n" whatever the file used (CRLF, CR), one chunk in memory at a time.

    Raises FileProblem past `max_bytes`, on bytes that are not UTF-8 and on null
    characters (not a text file), at the point where they are met.
    """
    decoder = codecs.getincrementaldecoder("utf-8-sig")(errors="strict")
    consumed = 0
    pending = ""
    while True:
        raw = file.read(READ_CHUNK)
        if not isinstance(raw, bytes):
            raise TypeError("CSV imports read a binary file.")
        if consumed + len(raw) > max_bytes:
            raise FileProblem(
                f"The file is larger than {max_bytes // (1024 * 1024)} MB: split it into smaller files."
            )
        try:
            text = decoder.decode(raw, final=not raw)
        except UnicodeDecodeError as exc:
            raise FileProblem(
                f"The file is not UTF-8 text (byte {consumed + exc.start + 1} is not). "
                "In a spreadsheet, save it as “CSV UTF-8”."
            ) from None
        consumed += len(raw)
        if "\x00" in text:
            raise FileProblem("The file holds null characters: it is not a CSV text file.")
        text = pending + text
        # A CR at the end of a chunk may be the first half of a CRLF: keep it for the next.
        if raw and text.endswith("\r"):
            text, pending = text[:-1], "\r"
        else:
            pending = ""
        text = text.replace("\r\n", "\n").replace("\r", "\n")
        lines = text.split("\n")
        carry = lines.pop()
        yield from (line + "\n" for line in lines)
        if not raw:
            if carry:
                yield carry
            return
        pending = carry + pending


def sniff_delimiter(header_line: str) -> str:
    """Comma, semicolon or tab: whichever the header row holds most of (comma when none)."""
    counts = {d: header_line.count(d) for d in (",", ";", "\t")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def column_key(name: str, aliases: Mapping[str, str]) -> str:
    """A header cell as a column name: "E-mail" and " e mail " are `e_mail`, then the alias."""
    key = _separators.sub("_", name.strip().lower())
    return aliases.get(key, key)


def read_header(
    header: Sequence[str], *, columns: Sequence[str], aliases: Mapping[str, str], issues: list[RowIssue]
) -> dict[int, str]:
    """Column index -> column name; an unknown or repeated column is a problem (row 1),
    so that a misspelt column never drops its data silently."""
    keys = [column_key(name, aliases) for name in header]
    if not any(key in columns for key in keys):
        issues.append(
            RowIssue(
                1,
                "",
                "The first row must be the header, naming the columns: "
                f"{', '.join(columns)} (download the template).",
            )
        )
        return {}
    found: dict[int, str] = {}
    for index, (name, key) in enumerate(zip(header, keys, strict=True)):
        if not key:
            continue  # an unnamed column: its cells must stay empty (`stray_cells`)
        if key not in columns:
            issues.append(
                RowIssue(1, name.strip()[:60], f"Unknown column. The columns are: {', '.join(columns)}.")
            )
        elif key in found.values():
            issues.append(RowIssue(1, key, "This column appears twice."))
        else:
            found[index] = key
    return found


def stray_cells(row: int, record: Sequence[str], columns: Mapping[int, str], width: int) -> list[RowIssue]:
    """Values the header does not name: cells past its last column, or under an unnamed one."""
    issues: list[RowIssue] = []
    if len(record) > width and any(cell.strip() for cell in record[width:]):
        issues.append(
            RowIssue(row, "", f"This row has {len(record)} cells but the header only {width} columns.")
        )
    for index in range(min(len(record), width)):
        if index not in columns and record[index].strip():
            issues.append(RowIssue(row, "", f"Column {index + 1} has a value but no name in the header."))
    return issues


def csv_records(
    lines: Iterable[str], *, delimiter: str, issues: list[RowIssue]
) -> Iterator[tuple[int, list[str]]]:
    """(row, cells) of every record, the header first as row 1; blank lines are left out
    but counted, as a spreadsheet counts them. Invalid CSV ends the reading with a problem
    at the row where it was met."""
    reader = csv.reader(lines, delimiter=delimiter, strict=True)
    row = 0
    try:
        for record in reader:
            row += 1  # a quoted cell holding line breaks spans lines but is one row
            if row > 1 and not any(cell.strip() for cell in record):
                continue
            yield row, record
    except csv.Error as exc:
        issues.append(RowIssue(row + 1, "", f"This is not valid CSV ({exc}); nothing after it was read."))


def template_csv(columns: Sequence[str]) -> str:
    """A template file: the header row."""
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerow(columns)
    return out.getvalue()
