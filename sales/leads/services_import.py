"""Leads from a CSV file (source "imported"): every row is checked with the rules of a
lead typed by hand, and nothing is written unless every row is good.

- The file: UTF-8 (a byte-order mark is fine), at most `MAX_FILE_BYTES`, at most
  `MAX_ROWS` leads, comma-, semicolon- or tab-separated (read from the header row).
- The header: the columns of `COLUMNS` in any order, named as in the template or as the
  lead form labels them ("E-mail", "Interested in"); `title` and one of the name columns
  are required; an unknown or repeated column is an error, so that a misspelt column
  never drops its data silently.
- A row: the same checks and normalisation as `lead_create` (the customer profile's
  e-mail and phone normalisers, the lengths, a name and a title); `owner` is an active
  user's username (blank: unassigned), `campaign_id` a positive whole number.
- Duplicates: a row whose e-mail an open lead (new or qualified) already has, or an
  earlier row of the same file, is skipped and reported, not an error: importing the
  same list twice adds nothing the second time.
- Rows are numbered as a spreadsheet shows them: 1 is the header, 2 the first lead.

`lead_import(dry_run=True)` is the preview: the same checks, nothing written. Both raise
`LeadImportRefused` (400) carrying the report when anything is wrong. Imported leads get
no timeline entry: like every lead, they reach a customer's timeline when converted.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from frontoffice.actors import Actor
from frontoffice.csv_import import (
    FileProblem,
    RowIssue,
    csv_records,
    read_header,
    sniff_delimiter,
    stray_cells,
    template_csv,
    text_lines,
)
from frontoffice.errors import DomainError
from frontoffice.models import User
from frontoffice.write_path import authorize
from sales.leads.models import Lead, LeadSource, LeadStatus
from sales.leads.services import ADD_LEAD, lead_fields_apply

MAX_FILE_BYTES = 2 * 1024 * 1024
MAX_ROWS = 5000
LOOKUP_CHUNK = 500  # values per IN (...) query, well below every database's parameter limit

COLUMNS = (
    "first_name",
    "last_name",
    "organisation_name",
    "email",
    "phone",
    "title",
    "notes",
    "owner",
    "campaign_id",
)
NAME_COLUMNS = ("first_name", "last_name", "organisation_name")
COLUMN_HELP = {
    "first_name": "A person's first name (at most 100 characters).",
    "last_name": "A person's last name (at most 100 characters).",
    "organisation_name": "The organisation (at most 200 characters). Each row needs a first "
    "name, a last name or an organisation.",
    "email": "E-mail address; stored in lower case. Optional.",
    "phone": "Phone number; +country, or national numbers of the default region. Optional.",
    "title": "Required: what the lead is interested in (at most 200 characters).",
    "notes": "Free text (at most 5000 characters). Optional.",
    "owner": "The username of the rep who works the lead. Blank: unassigned, any rep may pick it up.",
    "campaign_id": "The marketing campaign's id (a positive whole number). Optional.",
}
# Header spellings people use besides the column names: the lead form's labels.
ALIASES = {
    "organisation": "organisation_name",
    "organization": "organisation_name",
    "organization_name": "organisation_name",
    "company": "organisation_name",
    "e_mail": "email",
    "interested_in": "title",
    "campaign": "campaign_id",
}
OPEN_STATUSES = (LeadStatus.NEW, LeadStatus.QUALIFIED)


class LeadImportRefused(DomainError):
    """The file cannot be imported; `report` lists every problem. Nothing was written."""

    code = "import_invalid"
    title = "The file cannot be imported."

    def __init__(self, report: LeadImportReport) -> None:
        self.report = report
        count = len(report.errors)
        if count == 1:
            summary = f"{report.errors[0].where}: {report.errors[0].message} Nothing was imported."
        else:
            summary = f"{count} problems in the file; nothing was imported. Fix them and upload it again."
        super().__init__(summary, errors={"file": [summary]})


@dataclass(frozen=True)
class ImportRow:
    row: int
    lead: Lead


@dataclass
class LeadImportReport:
    dry_run: bool
    rows: int = 0  # lead rows read; blank lines are not counted
    leads: list[ImportRow] = field(default_factory=list)  # created, or on a dry run to be created
    skipped: list[RowIssue] = field(default_factory=list)
    errors: list[RowIssue] = field(default_factory=list)

    @property
    def created(self) -> int:
        return 0 if self.dry_run or self.errors else len(self.leads)


def _read_text(file: Any) -> str:
    text = "".join(text_lines(file, max_bytes=MAX_FILE_BYTES))
    if not text.strip():
        raise FileProblem("The file is empty: it needs a header row and at least one lead.")
    # One line ending throughout (`text_lines`), so that a preview carried through a form
    # (which turns line breaks into CRLF) imports exactly what it showed.
    return text


def _read_header(header: list[str], report: LeadImportReport) -> dict[int, str]:
    """Column index -> column name; problems go to the report as row 1."""
    columns = read_header(header, columns=COLUMNS, aliases=ALIASES, issues=report.errors)
    if not columns:
        return columns
    present = set(columns.values())
    if "title" not in present:
        report.errors.append(RowIssue(1, "title", "The header needs a title column (what the lead wants)."))
    if not present & set(NAME_COLUMNS):
        report.errors.append(RowIssue(1, "", f"The header needs a name column: {', '.join(NAME_COLUMNS)}."))
    return columns


@dataclass
class _Table:
    columns: dict[int, str] = field(default_factory=dict)  # index -> column name
    width: int = 0  # cells in the header row
    records: list[tuple[int, list[str]]] = field(default_factory=list)  # (row, cells)


def _read_rows(text: str, report: LeadImportReport) -> _Table:
    delimiter = sniff_delimiter(text.lstrip("\n").split("\n", 1)[0])
    table = _Table()
    records = table.records
    read = False
    for row, record in csv_records(io.StringIO(text, newline=""), delimiter=delimiter, issues=report.errors):
        read = True
        if row == 1:
            table.columns, table.width = _read_header(record, report), len(record)
            if report.errors:
                return table
            continue
        if len(records) == MAX_ROWS:
            raise FileProblem(f"The file has more than {MAX_ROWS} leads: split it into smaller files.")
        records.append((row, record))
    if not read and not report.errors:
        raise FileProblem("The file is empty: it needs a header row and at least one lead.")
    report.rows = len(records)
    return table


def _owners(table: _Table) -> dict[str, User]:
    index = next((i for i, name in table.columns.items() if name == "owner"), None)
    if index is None:
        return {}
    names = sorted({r[index].strip() for _, r in table.records if index < len(r) and r[index].strip()})
    owners: dict[str, User] = {}
    for start in range(0, len(names), LOOKUP_CHUNK):
        chunk = names[start : start + LOOKUP_CHUNK]
        owners.update({u.username: u for u in User.objects.filter(username__in=chunk, is_active=True)})
    return owners


def _campaign_id(value: str) -> Any:
    value = value.strip()
    if not value:
        return None
    if value.isascii() and value.isdigit() and len(value) <= 10:
        return int(value)
    return value  # not a number: `lead_fields_apply` refuses it with its own message


def _lead_from(
    row: int, record: list[str], table: _Table, owners: dict[str, User]
) -> tuple[Lead | None, list[RowIssue]]:
    columns = table.columns
    issues = stray_cells(row, record, columns, table.width)
    values = {name: (record[i] if i < len(record) else "") for i, name in columns.items()}
    fields: dict[str, Any] = {k: v for k, v in values.items() if k not in ("owner", "campaign_id")}
    fields["source"] = LeadSource.IMPORTED
    username = values.get("owner", "").strip()
    fields["owner"] = owners.get(username) if username else None
    if username and fields["owner"] is None:
        issues.append(RowIssue(row, "owner", "No active user has this username."))
    if "campaign_id" in values:
        fields["campaign_id"] = _campaign_id(values["campaign_id"])
    lead = Lead()
    try:
        lead_fields_apply(lead, fields)
    except ValidationError as exc:
        for key, messages in exc.message_dict.items():
            column = key if key in values else ""
            issues.extend(RowIssue(row, column, message) for message in messages)
    return (None if issues else lead), issues


def _open_leads_by_email(emails: list[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for start in range(0, len(emails), LOOKUP_CHUNK):
        chunk = emails[start : start + LOOKUP_CHUNK]
        for email, pk in (
            Lead.objects.filter(email__in=chunk, status__in=OPEN_STATUSES)
            .order_by("pk")
            .values_list("email", "pk")
        ):
            found.setdefault(email, pk)
    return found


def _skip_duplicates(rows: list[ImportRow], report: LeadImportReport) -> list[ImportRow]:
    emails = sorted({r.lead.email for r in rows if r.lead.email})
    existing = _open_leads_by_email(emails)
    first_row: dict[str, int] = {}
    kept = []
    for item in rows:
        email = item.lead.email
        if email and email in existing:
            report.skipped.append(
                RowIssue(item.row, "email", f"An open lead (#{existing[email]}) already has this e-mail.")
            )
        elif email and email in first_row:
            report.skipped.append(
                RowIssue(item.row, "email", f"Row {first_row[email]} has the same e-mail and is imported.")
            )
        else:
            if email:
                first_row[email] = item.row
            kept.append(item)
    return kept


@transaction.atomic
def lead_import(*, actor: Actor, file: Any, dry_run: bool = False) -> LeadImportReport:
    """Check every row of a CSV file of leads (see the module's docstring) and, unless
    `dry_run`, create them all in bulk, unassigned unless a row names an owner.

    A fixed number of queries per 500 rows, whatever the file holds. Raises
    `LeadImportRefused` with the report when any row (or the file) is wrong.
    """
    authorize(actor, ADD_LEAD, message="You may not create leads.")
    report = LeadImportReport(dry_run=dry_run)
    try:
        table = _read_rows(_read_text(file), report)
    except FileProblem as exc:
        report.errors = [RowIssue(None, "", str(exc))]
        raise LeadImportRefused(report) from None
    if report.errors:
        raise LeadImportRefused(report)
    if not table.records:
        report.errors.append(RowIssue(None, "", "The file has a header but no leads."))
        raise LeadImportRefused(report)
    owners = _owners(table)
    good: list[ImportRow] = []
    for row, record in table.records:
        lead, issues = _lead_from(row, record, table, owners)
        report.errors.extend(issues)
        if lead is not None:
            good.append(ImportRow(row, lead))
    if report.errors:
        raise LeadImportRefused(report)
    report.leads = _skip_duplicates(good, report)
    if not dry_run and report.leads:
        Lead.objects.bulk_create([item.lead for item in report.leads])
    return report


def lead_import_template() -> str:
    """The CSV template: the header row, in the order of `COLUMNS`."""
    return template_csv(COLUMNS)
