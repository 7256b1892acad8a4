"""The upload edge the CSV imports share: the page's file field and the API's input, each
stating the import's own limits and noun."""

from __future__ import annotations

from typing import Any

import pytest
from django import forms
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.exceptions import ValidationError
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory

from frontoffice.csv_upload import MULTIPART_SLACK, CsvUploadSerializer, csv_file_field, upload_limits
from frontoffice.parsers import PayloadTooLarge


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


class SizedUpload:
    """A request that says how long its body is; its `data`, when not given, must not be read."""

    def __init__(self, length: str, data: dict[str, Any] | None = None) -> None:
        self.META = {"CONTENT_LENGTH": length}
        self._data = data

    @property
    def data(self) -> dict[str, Any]:
        if self._data is None:
            raise AssertionError("the upload was read")
        return self._data


def test_an_upload_over_the_limit_is_refused_by_its_length_before_it_is_read() -> None:
    # given: a body one byte over the file limit and the multipart framing
    request = SizedUpload(str(ThingImportInput.max_bytes + MULTIPART_SLACK + 1))

    # when
    with pytest.raises(PayloadTooLarge) as refused:
        ThingImportInput.validated_upload(request)  # type: ignore[arg-type]

    # then
    assert refused.value.status_code == 413
    assert refused.value.detail == "At most 3 MB: split the file into smaller ones."


def test_an_upload_within_the_limit_is_read_and_validated() -> None:
    # given: a real multipart request
    body = b"name,colour\r\nmug,red\r\n"
    django_request = APIRequestFactory().post(
        "/import/", {"file": SimpleUploadedFile("t.csv", body), "dry_run": "true"}, format="multipart"
    )

    # when
    data = ThingImportInput.validated_upload(Request(django_request, parsers=[MultiPartParser()]))

    # then
    assert data["dry_run"] is True
    assert data["file"].read() == body


@pytest.mark.parametrize("length", [str(ThingImportInput.max_bytes + MULTIPART_SLACK), "", "not a number"])
def test_an_upload_at_the_limit_or_of_no_stated_length_is_validated(length: str) -> None:
    request = SizedUpload(length, {"file": SimpleUploadedFile("t.csv", b"name\r\n")})

    assert ThingImportInput.validated_upload(request)["dry_run"] is False  # type: ignore[arg-type]
