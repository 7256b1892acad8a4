"""What the CSV imports share: streaming UTF-8 lines (line endings, a byte-order mark,
chunk boundaries, bad bytes), the separator, the header and formula-escaped cells."""

from __future__ import annotations

import io

import pytest

from frontoffice import csv_import
from frontoffice.csv_import import (
    FileProblem,
    RowIssue,
    formula_safe,
    formula_unescaped,
    read_header,
    text_lines,
)


def lines(data: bytes, max_bytes: int = 10_000) -> list[str]:
    return list(text_lines(io.BytesIO(data), max_bytes=max_bytes))


def test_lines_end_in_newline_whatever_the_file_used() -> None:
    assert lines(b"\xef\xbb\xbfa,b\r\nc,d\re,f\ng") == ["a,b\n", "c,d\n", "e,f\n", "g"]


def test_a_crlf_split_across_two_chunks_is_one_line_ending(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(csv_import, "READ_CHUNK", 4)
    assert lines(b"abc\r\ndef\r\n") == ["abc\n", "def\n"]


def test_a_character_split_across_two_chunks_is_read_whole(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(csv_import, "READ_CHUNK", 3)
    assert lines("Müller,Nørgaard\n".encode()) == ["Müller,Nørgaard\n"]


def test_a_bad_byte_is_reported_with_its_position_in_the_file(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(csv_import, "READ_CHUNK", 4)
    with pytest.raises(FileProblem, match=r"byte 7 is not"):
        lines(b"abc\nde\xe9f\n")


def test_a_file_over_the_limit_is_refused_while_reading() -> None:
    with pytest.raises(FileProblem, match="larger than 0 MB"):
        lines(b"x" * 100, max_bytes=50)


def test_the_separator_is_read_from_the_header() -> None:
    assert [csv_import.sniff_delimiter(h) for h in ("a,b", "a;b;c", "a\tb", "a")] == [",", ";", "\t", ","]


def test_the_header_reads_aliases_and_reports_unknown_and_repeated_columns() -> None:
    issues: list[RowIssue] = []
    columns = read_header(
        ["E-mail", "Name", "email", ""], columns=("email", "name"), aliases={"e_mail": "email"}, issues=issues
    )
    assert columns == {0: "email", 1: "name"}
    assert issues == [RowIssue(1, "email", "This column appears twice.")]


def test_an_exported_formula_cell_imports_as_it_was() -> None:
    for value in ("=SUM(A1)", "+44 20 7946 0000", "@x", "plain", "'quoted"):
        assert formula_unescaped(formula_safe(value)) == value
