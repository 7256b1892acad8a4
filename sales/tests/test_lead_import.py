"""The CSV lead import service: every row checked with the rules of a manual lead,
row-level errors, all or nothing, duplicates skipped, file problems, limits and a
bounded number of queries."""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied

from customers.models import Activity
from sales.leads import services as lead_services
from sales.leads import services_import as lead_import
from sales.leads.services_import import LeadImportRefused, RowIssue
from sales.models import Lead, LeadSource, LeadStatus
from sales.tests import factories as f
from tests.api_contract import snapshot

pytestmark = pytest.mark.django_db

HEADER = "first_name,last_name,organisation_name,email,phone,title,notes,owner,campaign_id\n"


def csv_file(text: str, *, encoding: str = "utf-8") -> io.BytesIO:
    return io.BytesIO(text.encode(encoding))


def run(actor: Any, text: str, **kwargs: Any) -> lead_import.LeadImportReport:
    return lead_import.lead_import(actor=actor, file=csv_file(text), **kwargs)


def refused(actor: Any, data: str | bytes, **kwargs: Any) -> list[RowIssue]:
    file = io.BytesIO(data if isinstance(data, bytes) else data.encode())
    before = snapshot(Lead)
    with pytest.raises(LeadImportRefused) as caught:
        lead_import.lead_import(actor=actor, file=file, **kwargs)
    assert snapshot(Lead) == before
    return caught.value.report.errors


# --- the happy path --------------------------------------------------------------------


def test_it_creates_every_row_as_an_imported_lead_with_normalised_contacts(sales_rep, teammate):
    # given
    text = (
        HEADER
        + "Grace,Hopper,Navy Labs, Grace@Example.COM ,020 7946 0000,Compilers,Met at the fair,teammate,7\n"
        "Ada,Lovelace,,ada@example.com,+44 20 7946 0001,Engines,,,\n"
    )
    # when
    report = run(sales_rep, text)
    # then
    assert (report.rows, report.created, report.skipped, report.errors) == (2, 2, [], [])
    grace, ada = Lead.objects.order_by("pk")
    assert grace.source == ada.source == LeadSource.IMPORTED
    assert grace.status == LeadStatus.NEW
    assert (grace.email, grace.phone) == ("grace@example.com", "+442079460000")
    assert (grace.organisation_name, grace.notes, grace.campaign_id) == ("Navy Labs", "Met at the fair", 7)
    assert grace.owner == teammate
    assert ada.owner is None  # unassigned: any rep may pick it up
    assert (ada.phone, ada.campaign_id) == ("+442079460001", None)
    assert [r.row for r in report.leads] == [2, 3]


def test_imported_leads_get_no_timeline_entry_until_converted(sales_rep):
    # given
    run(sales_rep, "last_name,title,email\nHopper,Compilers,grace@example.com\n")
    lead = Lead.objects.get()
    assert not Activity.objects.exists()
    # when
    opp = lead_services.lead_convert(actor=sales_rep, lead_id=lead.pk)
    # then: the conversion, like a manual lead's, and it says where the lead came from
    entry = Activity.objects.get(kind="lead_converted")
    assert entry.customer_id == opp.customer_id
    assert entry.payload["source"] == LeadSource.IMPORTED


def test_a_dry_run_checks_everything_and_writes_nothing(sales_rep):
    # when
    report = run(sales_rep, "last_name,title\nHopper,Compilers\nLovelace,Engines\n", dry_run=True)
    # then
    assert (report.rows, len(report.leads), report.created) == (2, 2, 0)
    assert [item.lead.last_name for item in report.leads] == ["Hopper", "Lovelace"]
    assert not Lead.objects.exists()


def test_headers_may_use_the_form_labels_any_case_and_order(sales_rep):
    # when
    run(sales_rep, "Interested in,E-mail,Organisation,Campaign id\nLicences,a@example.com,Acme,3\n")
    # then
    lead = Lead.objects.get()
    assert (lead.title, lead.email, lead.organisation_name, lead.campaign_id) == (
        "Licences",
        "a@example.com",
        "Acme",
        3,
    )


@pytest.mark.parametrize("separator", [";", "\t"])
def test_semicolon_and_tab_separated_files_are_read(sales_rep, separator):
    # when
    run(sales_rep, f"last_name{separator}title\nHopper{separator}Compilers, and more\n")
    # then
    assert Lead.objects.get().title == "Compilers, and more"


def test_a_byte_order_mark_crlf_line_ends_quoted_newlines_and_blank_lines_are_fine(sales_rep):
    # given: what a spreadsheet's "CSV UTF-8" export looks like
    data = '\ufefflast_name,title,notes\r\nMüller,Licences,"line one\r\nline two"\r\n,,\r\n\r\nLovelace,Engines,\r\n'
    # when
    report = lead_import.lead_import(actor=sales_rep, file=io.BytesIO(data.encode("utf-8")))
    # then
    assert report.rows == 2
    assert [r.row for r in report.leads] == [2, 5]
    muller = Lead.objects.get(last_name="Müller")
    assert muller.notes == "line one\nline two"


def test_rows_with_fewer_cells_than_the_header_read_the_missing_ones_as_empty(sales_rep):
    run(sales_rep, "last_name,title,notes,email\nHopper,Compilers\n")
    assert Lead.objects.get().email == ""


# --- duplicates ----------------------------------------------------------------------------


def test_a_row_with_the_email_of_an_open_lead_is_skipped_and_reported(sales_rep):
    # given
    open_lead = f.lead(sales_rep, email="grace@example.com")
    closed = f.lead(sales_rep, email="ada@example.com")
    lead_services.lead_disqualify(actor=sales_rep, lead_id=closed.pk, reason="No budget")
    # when
    report = run(
        sales_rep,
        "last_name,title,email\nHopper,Compilers,GRACE@example.com\nLovelace,Engines,ada@example.com\n",
    )
    # then: the disqualified lead's e-mail does not block a new lead
    assert report.created == 1
    assert report.skipped == [
        RowIssue(2, "email", f"An open lead (#{open_lead.pk}) already has this e-mail.")
    ]
    assert Lead.objects.filter(email="ada@example.com").count() == 2
    assert Lead.objects.filter(email="grace@example.com").count() == 1


def test_importing_the_same_file_twice_adds_nothing_the_second_time(sales_rep):
    text = "last_name,title,email\nHopper,Compilers,grace@example.com\nLovelace,Engines,ada@example.com\n"
    run(sales_rep, text)
    # when
    again = run(sales_rep, text)
    # then
    assert (again.created, len(again.skipped)) == (0, 2)
    assert Lead.objects.count() == 2


def test_a_repeated_email_within_the_file_keeps_the_first_row(sales_rep):
    report = run(
        sales_rep,
        "last_name,title,email\nHopper,A,grace@example.com\nHopper,B,Grace@Example.com\nX,C,\nY,D,\n",
    )
    assert report.created == 3  # rows without an e-mail are never duplicates of each other
    assert report.skipped == [RowIssue(3, "email", "Row 2 has the same e-mail and is imported.")]
    assert Lead.objects.get(email="grace@example.com").title == "A"


# --- row errors: all or nothing -------------------------------------------------------------


def test_every_row_error_is_reported_with_row_and_column_and_nothing_is_written(sales_rep):
    # given: one good row, then bad ones
    text = HEADER + (
        "Grace,Hopper,,grace@example.com,,Compilers,,,\n"
        ",,,,,Licences,,,\n"  # no name
        "Ada,Lovelace,,not-an-email,12,,,,\n"  # bad e-mail, bad phone, no title
        f"Ada,{'x' * 101},,,,Engines,,ghost,0\n"  # too long, unknown owner, campaign 0
        "Alan,Turing,,,,Bombe,,,abc\n"  # campaign not a number
    )
    # when
    errors = refused(sales_rep, text)
    # then
    by_row: dict[int | None, set[str]] = {}
    for issue in errors:
        by_row.setdefault(issue.row, set()).add(issue.column)
    assert by_row == {
        3: {"last_name"},
        4: {"email", "phone", "title"},
        5: {"last_name", "owner", "campaign_id"},
        6: {"campaign_id"},
    }
    assert RowIssue(4, "email", "Enter a valid e-mail address.") in errors
    assert RowIssue(5, "last_name", "At most 100 characters.") in errors
    assert RowIssue(5, "owner", "No active user has this username.") in errors


def test_a_dry_run_reports_the_same_errors(sales_rep):
    errors = refused(sales_rep, "last_name,title\nHopper,\n", dry_run=True)
    assert errors == [RowIssue(2, "title", "Say what the lead is interested in.")]


def test_an_inactive_user_cannot_own_imported_leads(sales_rep, teammate):
    teammate.is_active = False
    teammate.save()
    errors = refused(sales_rep, "last_name,title,owner\nHopper,Compilers,teammate\n")
    assert errors == [RowIssue(2, "owner", "No active user has this username.")]


def test_a_value_in_a_column_without_a_name_or_beyond_the_header_is_an_error(sales_rep):
    errors = refused(sales_rep, "last_name,title,\nHopper,Compilers,surprise\nLovelace,Engines,,extra\n")
    assert errors == [
        RowIssue(2, "", "Column 3 has a value but no name in the header."),
        RowIssue(3, "", "This row has 4 cells but the header only 3 columns."),
    ]


def test_a_row_without_a_name_column_in_the_file_is_blamed_on_the_row(sales_rep):
    errors = refused(sales_rep, "organisation_name,title\n,Compilers\n")
    assert errors == [RowIssue(2, "", "A lead needs a person's name or an organisation.")]


# --- the header ------------------------------------------------------------------------------


def test_unknown_and_repeated_columns_are_refused_before_any_row(sales_rep):
    errors = refused(sales_rep, "last_name,title,emial,Title,source\nHopper,Compilers,x,y,api\n")
    assert [(e.row, e.column) for e in errors] == [(1, "emial"), (1, "title"), (1, "source")]
    assert errors[0].message.startswith("Unknown column. The columns are: first_name, last_name")
    assert errors[1].message == "This column appears twice."


def test_the_header_needs_a_title_and_a_name_column(sales_rep):
    errors = refused(sales_rep, "email,notes\na@example.com,hi\n")
    assert errors == [
        RowIssue(1, "title", "The header needs a title column (what the lead wants)."),
        RowIssue(1, "", "The header needs a name column: first_name, last_name, organisation_name."),
    ]


def test_a_file_without_a_header_row_says_so(sales_rep):
    errors = refused(sales_rep, "Grace,Hopper,Compilers\n")
    assert len(errors) == 1
    assert errors[0].row == 1
    assert errors[0].message.startswith("The first row must be the header")


# --- the file ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "The file is empty: it needs a header row and at least one lead."),
        (b"\xef\xbb\xbf \r\n\r\n", "The file is empty: it needs a header row and at least one lead."),
        (b"last_name,title\r\n", "The file has a header but no leads."),
        (b"last_name,title\n,\n\n", "The file has a header but no leads."),
        (
            "last_name,title\nMüller,Licences\n".encode("latin-1"),
            "The file is not UTF-8 text (byte 18 is not). In a spreadsheet, save it as “CSV UTF-8”.",
        ),
        (b"last_name,title\nHop\x00per,x\n", "The file holds null characters: it is not a CSV text file."),
    ],
)
def test_file_problems_get_one_clear_error(sales_rep, data, message):
    assert refused(sales_rep, data) == [RowIssue(None, "", message)]


def test_malformed_csv_is_reported_at_its_row(sales_rep):
    errors = refused(sales_rep, 'last_name,title\nHopper,Compilers\nLovelace,"Engines"x\n')
    assert len(errors) == 1
    assert errors[0].row == 3
    assert errors[0].message.startswith("This is not valid CSV")


def test_malformed_csv_in_the_header_is_reported_at_row_1(sales_rep):
    errors = refused(sales_rep, 'last_name,"title"x\nHopper,Compilers\n')
    assert [(e.row, e.column) for e in errors] == [(1, "")]
    assert errors[0].message.startswith("This is not valid CSV")


def test_a_file_over_the_size_limit_is_refused_without_reading_it_all(sales_rep, monkeypatch):
    # given
    monkeypatch.setattr(lead_import, "MAX_FILE_BYTES", 1024 * 1024)
    data = b"last_name,title\n" + b"Hopper,Compilers\n" * 70_000
    # when
    errors = refused(sales_rep, data)
    # then
    assert errors == [RowIssue(None, "", "The file is larger than 1 MB: split it into smaller files.")]


def test_a_file_over_the_row_limit_is_refused(sales_rep, monkeypatch):
    monkeypatch.setattr(lead_import, "MAX_ROWS", 3)
    errors = refused(sales_rep, "last_name,title\n" + "Hopper,Compilers\n" * 4)
    assert errors == [RowIssue(None, "", "The file has more than 3 leads: split it into smaller files.")]
    # exactly at the limit is fine
    assert run(sales_rep, "last_name,title\n" + "Hopper,Compilers\n" * 3).created == 3


# --- permissions and queries -------------------------------------------------------------------


def test_only_actors_who_may_add_leads_may_import(agent, marketer):
    with pytest.raises(PermissionDenied):
        run(agent, "last_name,title\nHopper,Compilers\n")
    # marketing adds leads (to the unassigned pool), so it may import them
    assert run(marketer, "last_name,title\nHopper,Compilers\n").created == 1


def _rows(count: int, owner: str) -> str:
    return HEADER + "".join(
        f"First{n},Last{n},Org {n},person{n}@example.com,+4420794{n:05d},Licences,Notes,{owner},{n % 5 + 1}\n"
        for n in range(count)
    )


@pytest.mark.parametrize("count", [0, 300])
def test_an_import_runs_a_bounded_number_of_queries(sales_rep, count, django_assert_max_num_queries):
    # given: open leads to check duplicates against
    for n in range(5):
        f.lead(sales_rep, email=f"existing{n}@example.com")
    text = _rows(count, owner="rep")
    sales_rep.has_perm("sales.add_lead")  # the permission cache is warm, as within a request
    # when / then: a savepoint, the owners, the open leads' e-mails, and the insert in
    # batches (PostgreSQL: 1; SQLite's 999 parameters fit ~45 leads: 7 for 300)
    with django_assert_max_num_queries(12):
        try:
            report = run(sales_rep, text)
        except LeadImportRefused as exc:
            report = exc.report
    assert report.created == count
    assert Lead.objects.filter(source=LeadSource.IMPORTED).count() == count
