"""The upload edge every CSV import shares (the leads', the customers'): the page form's
file field, the API's file-and-dry-run input and its row-issue serializer.

Beside `frontoffice.csv_import`, which reads the file: that module is used by services
and stays free of forms and serializers; this one is used by pages and APIs. Each import
passes its own limits and noun ("customers", "leads").
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from django import forms
from rest_framework import serializers

from frontoffice.parsers import PayloadTooLarge
from frontoffice.serializers import StrictSerializer

if TYPE_CHECKING:
    from rest_framework.request import Request

# What a multipart body carries beside the file: its boundaries, headers and other fields.
MULTIPART_SLACK = 64 * 1024


def upload_limits(*, max_bytes: int, max_rows: int, noun: str) -> str:
    """What an import accepts, as users read it: "at most 64 MB and 250,000 customers"."""
    return f"at most {max_bytes // (1024 * 1024)} MB and {max_rows:,} {noun}"


def csv_file_field(*, max_bytes: int, max_rows: int, noun: str) -> forms.FileField:
    """The upload form's file field: a page's `file = csv_file_field(...)`."""
    return forms.FileField(
        label="CSV file",
        allow_empty_file=True,  # the service explains what an empty file lacks
        help_text=f"UTF-8, {upload_limits(max_bytes=max_bytes, max_rows=max_rows, noun=noun)}.",
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv"}),
        error_messages={"required": "Choose a CSV file to import."},
    )


class CsvUploadSerializer(StrictSerializer):
    """An import's API input: `file` and `dry_run`. A subclass per import sets its limits,
    noun and columns, and its docstring: the OpenAPI component takes the class's name and
    docstring."""

    max_bytes: ClassVar[int]
    max_rows: ClassVar[int]
    noun: ClassVar[str]
    columns: ClassVar[Sequence[str]]

    file = serializers.FileField(allow_empty_file=True)
    dry_run = serializers.BooleanField(
        required=False, default=False, help_text="Check every row and report, but write nothing."
    )

    def get_fields(self) -> dict[str, serializers.Field[Any, Any, Any, Any]]:
        fields = super().get_fields()
        if not hasattr(self, "noun"):  # the base class itself: no import's limits to state
            return fields
        limits = upload_limits(max_bytes=self.max_bytes, max_rows=self.max_rows, noun=self.noun)
        fields[
            "file"
        ].help_text = f"A CSV file, UTF-8, {limits}; the header names the columns: {', '.join(self.columns)}."
        return fields

    @classmethod
    def validated_upload(cls, request: Request) -> dict[str, Any]:
        """The request's `file` and `dry_run`, validated. A body whose Content-Length passes
        the import's `max_bytes` (plus the multipart framing) is refused with 413 before the
        upload is read."""
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > cls.max_bytes + MULTIPART_SLACK:
            raise PayloadTooLarge(
                f"At most {cls.max_bytes // (1024 * 1024)} MB: split the file into smaller ones."
            )
        return cls.validated(request.data)


class RowIssueSerializer(serializers.Serializer[Any]):
    """One problem, or one skipped row, of an import: where, and why."""

    row = serializers.IntegerField(
        allow_null=True,
        help_text="The row as a spreadsheet numbers it: 1 is the header, 2 the first record; "
        "null for the file as a whole.",
    )
    column = serializers.CharField(help_text="The column; empty for the whole row or file.")
    message = serializers.CharField()
