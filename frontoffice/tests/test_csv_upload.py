"""The upload edge the CSV imports share: the page's file field and the API's input, each
stating the import's own limits and noun."""

from __future__ import annotations

import pytest
from django import forms
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.exceptions import ValidationError

from frontoffice.csv_upload import CsvUploadSerializer, csv_file_field, upload_limits


class ThingImportInput(CsvUploadSerializer):
    max_bytes = 3 * 1024 * 1024
    max_rows = 12_000
    noun = "things"
    columns = ("name", "colour")


def test_the_limits_read_in_megabytes_and_grouped_thousands() -> None:
    assert (
        upload_limits(max_bytes=2 * 1024 * 1024, max_rows=5000, noun="leads")
        == "at most 2 MB and 5,000 leads"
    )


def test_the_form_field_states_the_limits_and_asks_for_a_file() -> None:
    # given
    class ThingForm(forms.Form):
        file = csv_file_field(max_bytes=64 * 1024 * 1024, max_rows=250_000, noun="things")

    # when
    form = ThingForm(data={}, files={})

    # then
    assert not form.is_valid()
    assert form.errors["file"] == ["Choose a CSV file to import."]
    assert form.fields["file"].help_text == "UTF-8, at most 64 MB and 250,000 things."
    assert form.fields["file"].widget.attrs["accept"] == ".csv,text/csv"


def test_the_form_field_takes_an_empty_file_for_the_service_to_explain() -> None:
    class ThingForm(forms.Form):
        file = csv_file_field(max_bytes=1024 * 1024, max_rows=10, noun="things")

    form = ThingForm(data={}, files={"file": SimpleUploadedFile("empty.csv", b"")})

    assert form.is_valid(), form.errors


def test_the_api_input_states_its_limits_and_columns() -> None:
    help_text = ThingImportInput().fields["file"].help_text

    assert help_text == (
        "A CSV file, UTF-8, at most 3 MB and 12,000 things; the header names the columns: name, colour."
    )


def test_the_api_input_is_a_dry_run_only_when_asked() -> None:
    data = ThingImportInput.validated({"file": SimpleUploadedFile("t.csv", b"name\r\n")})

    assert data["dry_run"] is False
    assert ThingImportInput.validated({"file": SimpleUploadedFile("t.csv", b""), "dry_run": "true"})[
        "dry_run"
    ]


def test_the_api_input_refuses_unknown_fields() -> None:
    with pytest.raises(ValidationError) as refused:
        ThingImportInput.validated({"file": SimpleUploadedFile("t.csv", b"x"), "dryrun": "true"})

    assert refused.value.detail == {"dryrun": ["Unknown field."]}
