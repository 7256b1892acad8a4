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

import csv
import io
import re
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from frontoffice.actors import Actor
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
_separators = re.compile(r"[\s\-]+")


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


class _FileProblem(Exception):
    pass


def _column_key(name: str) -> str:
    key = _separators.sub("_", name.strip().lower())
    return ALIASES.get(key, key)


def _read_text(file: Any) -> str:
    raw = file.read(MAX_FILE_BYTES + 1)
    if not isinstance(raw, bytes):
        raise TypeError("lead_import reads a binary file.")
    if len(raw) > MAX_FILE_BYTES:
        raise _FileProblem(
            f"The file is larger than {MAX_FILE_BYTES // (1024 * 1024)} MB: split it into smaller files."
        )
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise _FileProblem(
            f"The file is not UTF-8 text (byte {exc.start + 1} is not). "
            "In a spreadsheet, save it as “CSV UTF-8”."
        ) from None
    if "\x00" in text:
        raise _FileProblem("The file holds null characters: it is not a CSV text file.")
    if not text.strip():
        raise _FileProblem("The file is empty: it needs a header row and at least one lead.")
    # One line ending throughout, so that a preview carried through a form (which turns
    # line breaks into CRLF) imports exactly what it showed.
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _delimiter(text: str) -> str:
    first_line = text.lstrip("\n").split("\n", 1)[0]
    counts = {d: first_line.count(d) for d in (",", ";", "\t")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def _read_header(header: list[str], report: LeadImportReport) -> dict[int, str]:
    """Column index -> column name; problems go to the report as row 1."""
    keys = [_column_key(name) for name in header]
    if not any(key in COLUMNS for key in keys):
        report.errors.append(
            RowIssue(
                1,
                "",
                "The first row must be the header, naming the columns: "
                f"{', '.join(COLUMNS)} (download the template).",
            )
        )
        return {}
    columns: dict[int, str] = {}
    for index, (name, key) in enumerate(zip(header, keys, strict=True)):
        if not key:
            continue  # an unnamed column: its cells must stay empty (checked per row)
        if key not in COLUMNS:
            report.errors.append(
                RowIssue(1, name.strip()[:60], f"Unknown column. The columns are: {', '.join(COLUMNS)}.")
            )
        elif key in columns.values():
            report.errors.append(RowIssue(1, key, "This column appears twice."))
        else:
            columns[index] = key
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
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text), strict=True)
    table = _Table()
    records = table.records
    row = 0
    try:
        for record in reader:
            row += 1
            if row == 1:
                table.columns, table.width = _read_header(record, report), len(record)
                if report.errors:
                    return table
                continue
            if not any(cell.strip() for cell in record):
                continue
            if len(records) == MAX_ROWS:
                raise _FileProblem(f"The file has more than {MAX_ROWS} leads: split it into smaller files.")
            records.append((row, record))
    except csv.Error as exc:
        report.errors.append(
            RowIssue(row + 1, "", f"This is not valid CSV ({exc}); nothing after it was read.")
        )
    if row == 0 and not report.errors:
        raise _FileProblem("The file is empty: it needs a header row and at least one lead.")
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
    columns, width = table.columns, table.width
    issues: list[RowIssue] = []
    if len(record) > width:
        extra = record[width:]
        if any(cell.strip() for cell in extra):
            issues.append(
                RowIssue(row, "", f"This row has {len(record)} cells but the header only {width} columns.")
            )
    for index in range(min(len(record), width)):
        if index not in columns and record[index].strip():
            issues.append(RowIssue(row, "", f"Column {index + 1} has a value but no name in the header."))
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
    except _FileProblem as exc:
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
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerow(COLUMNS)
    return out.getvalue()
