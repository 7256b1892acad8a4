"""What a row of the customer CSV import is: its columns (with their help and aliases),
how a row reads as an unsaved customer (`parse_row`, the rules of `customer_create`),
and the report an import answers. The passes that check and write the file are in
`customers.services_import`."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError

from customers.choices import CustomerKind, LifecycleStage
from customers.models import Customer, CustomFieldDefinition
from customers.normalise import normalise_email, normalise_phone
from customers.services import customer_fields_apply
from frontoffice.actors import Actor, user_of
from frontoffice.csv_import import (
    FileProblem,
    RowIssue,
    csv_records,
    formula_unescaped,
    read_header,
    sniff_delimiter,
    stray_cells,
    text_lines,
)
from frontoffice.errors import DomainError
from frontoffice.models import User

ADD_CUSTOMER = "customers.add_customer"
IMPORT_CUSTOMERS = "customers.import_customers"
MAX_FILE_BYTES = 64 * 1024 * 1024
MAX_ROWS = 250_000
WRITE_CHUNK = 2000  # customers per bulk write (and per duplicate-pairs refresh)
LOOKUP_CHUNK = 500  # values per IN (...) query, well below every database's parameter limit
MAX_LISTED = 500  # problems and skipped rows a report keeps; its counts are complete
PREVIEW_ROWS = 20
TAG_SEPARATOR = ";"
TAG_KEYS = "\x1f"  # between the tags of a spooled row (no tag holds it: cells are text)

COLUMNS = (
    "kind",
    "first_name",
    "last_name",
    "organisation_name",
    "email",
    "phone",
    "lifecycle_stage",
    "owner",
    "tags",
    "erp_customer_number",
)
COLUMN_HELP = {
    "kind": "person or organisation. Blank: a person when the row has a first or last name, "
    "else an organisation.",
    "first_name": "A person's first name (at most 100 characters).",
    "last_name": "A person's last name (at most 100 characters). A person needs a first or last name.",
    "organisation_name": "An organisation's name (at most 200 characters); people have none.",
    "email": "E-mail address; stored in lower case, the customer's primary e-mail.",
    "phone": "Phone number; +country, or national numbers of the default region; stored as E.164.",
    "lifecycle_stage": f"One of {', '.join(LifecycleStage.values)}. Blank: prospect.",
    "owner": "The username of the customer's owner. Blank: you.",
    "tags": f'Tag names separated by "{TAG_SEPARATOR}" (as the customer export writes them), '
    "each at most 50 characters.",
    "erp_customer_number": "The back office's customer number (at most 40 characters), unique. "
    "Each row needs an e-mail, a phone or an ERP customer number.",
}
# Header spellings people use besides the column names.
ALIASES = {
    "type": "kind",
    "first": "first_name",
    "firstname": "first_name",
    "given_name": "first_name",
    "last": "last_name",
    "lastname": "last_name",
    "surname": "last_name",
    "family_name": "last_name",
    "organisation": "organisation_name",
    "organization": "organisation_name",
    "organization_name": "organisation_name",
    "company": "organisation_name",
    "e_mail": "email",
    "email_address": "email",
    "telephone": "phone",
    "phone_number": "phone",
    "stage": "lifecycle_stage",
    "lifecycle": "lifecycle_stage",
    "tag": "tags",
    "erp_number": "erp_customer_number",
    "customer_number": "erp_customer_number",
}
KINDS = {
    **{value: value for value in CustomerKind.values},
    **{str(label).lower(): value for value, label in CustomerKind.choices},
    "organization": CustomerKind.ORGANISATION,
    "company": CustomerKind.ORGANISATION,
}
STAGES = {
    **{value: value for value in LifecycleStage.values},
    **{str(label).lower(): value for value, label in LifecycleStage.choices},
}
WHAT = {"email": "e-mail", "phone": "phone", "erp": "ERP customer number"}


class CustomerImportRefused(DomainError):
    """The file cannot be imported; `report` lists its problems. Nothing was written."""

    code = "import_invalid"
    title = "The file cannot be imported."

    def __init__(self, report: ImportReport) -> None:
        self.report = report
        if report.error_count == 1:
            summary = f"{report.errors[0].where}: {report.errors[0].message} Nothing was imported."
        else:
            summary = (
                f"{report.error_count} problems in the file; nothing was imported. "
                "Fix them and upload it again."
            )
        super().__init__(summary, errors={"file": [summary]})


@dataclass
class ImportReport:
    """What an import found: counts of everything, the first `MAX_LISTED` problems and
    skipped rows, and the first rows to be created (the preview)."""

    dry_run: bool
    rows: int = 0  # customer rows read; blank lines are not counted
    valid: int = 0  # rows created, or on a dry run to be created
    created: int = 0
    skipped_count: int = 0
    skipped: list[RowIssue] = field(default_factory=list)
    error_count: int = 0
    errors: list[RowIssue] = field(default_factory=list)
    preview: list[dict[str, Any]] = field(default_factory=list)

    def error(self, issue: RowIssue) -> None:
        self.error_count += 1
        if len(self.errors) < MAX_LISTED:
            self.errors.append(issue)

    def skip(self, issue: RowIssue) -> None:
        self.skipped_count += 1
        if len(self.skipped) < MAX_LISTED:
            self.skipped.append(issue)

    def as_dict(self) -> dict[str, Any]:
        return {
            "dry_run": self.dry_run,
            "rows": self.rows,
            "valid": self.valid,
            "created": self.created,
            "skipped": self.skipped_count,
            "skipped_rows": [issue.as_dict() for issue in self.skipped],
            "error_count": self.error_count,
            "row_errors": [issue.as_dict() for issue in self.errors],
            "preview": self.preview,
        }


Progress = Callable[[str, int], None]  # (phase "checking" | "writing", rows so far)


@dataclass
class ParsedRow:
    row: int
    customer: Customer
    email: str
    phone: str
    tags: list[str]  # lower-case keys

    def match_keys(self) -> list[tuple[str, str]]:
        keys = [
            ("email", self.email),
            ("phone", self.phone),
            ("erp", self.customer.erp_customer_number or ""),
        ]
        return [(kind, value) for kind, value in keys if value]


@dataclass
class RowContext:
    actor: Actor
    columns: dict[int, str]
    width: int
    owners: dict[str, User]
    definitions: list[CustomFieldDefinition]
    tag_names: dict[str, str] = field(default_factory=dict)  # lower-case -> as first written


def read_records(file: Any, report: ImportReport) -> Generator[tuple[int, list[str]]]:
    """The file's records from the start, the header first (row 1)."""
    file.seek(0)
    lines = text_lines(file, max_bytes=MAX_FILE_BYTES)
    first = next(lines, "")
    if not first.strip():
        raise FileProblem("The file is empty: it needs a header row and at least one customer.")
    problems: list[RowIssue] = []
    yield from csv_records(itertools.chain([first], lines), delimiter=sniff_delimiter(first), issues=problems)
    for issue in problems:
        report.error(issue)


def read_columns(header: list[str], report: ImportReport) -> dict[int, str]:
    issues: list[RowIssue] = []
    columns = read_header(header, columns=COLUMNS, aliases=ALIASES, issues=issues)
    present = set(columns.values())
    if columns and not present & {"first_name", "last_name", "organisation_name"}:
        issues.append(
            RowIssue(1, "", "The header needs a name column: first_name, last_name or organisation_name.")
        )
    if columns and not present & {"email", "phone", "erp_customer_number"}:
        issues.append(RowIssue(1, "", "The header needs an email, phone or erp_customer_number column."))
    for issue in issues:
        report.error(issue)
    return columns


def read_tags(raw: str, row: int, issues: list[RowIssue], ctx: RowContext) -> list[str]:
    keys: list[str] = []
    for part in raw.split(TAG_SEPARATOR):
        name = part.strip()
        if not name:
            continue
        if len(name) > 50:
            issues.append(RowIssue(row, "tags", f"A tag has at most 50 characters: “{name[:20]}…”."))
            continue
        key = name.lower()
        ctx.tag_names.setdefault(key, name)
        if key not in keys:
            keys.append(key)
    return keys


def parse_row(row: int, record: list[str], ctx: RowContext) -> tuple[ParsedRow | None, list[RowIssue]]:
    """A row as an unsaved customer with its e-mail, phone and tags, or its problems."""
    issues = stray_cells(row, record, ctx.columns, ctx.width)
    values = {
        name: formula_unescaped(record[i].strip()) if i < len(record) else ""
        for i, name in ctx.columns.items()
    }
    raw_kind = values.get("kind", "").lower()
    if raw_kind:
        kind = KINDS.get(raw_kind, raw_kind)
    else:
        named = values.get("first_name") or values.get("last_name")
        kind = (
            CustomerKind.PERSON if named or not values.get("organisation_name") else CustomerKind.ORGANISATION
        )
    fields: dict[str, Any] = {
        "kind": kind,
        "first_name": values.get("first_name", ""),
        "last_name": values.get("last_name", ""),
        "organisation_name": values.get("organisation_name", ""),
        "erp_customer_number": values.get("erp_customer_number") or None,
    }
    stage = values.get("lifecycle_stage", "")
    if stage:
        fields["lifecycle_stage"] = STAGES.get(stage.lower(), stage)
    username = values.get("owner", "")
    if username:
        fields["owner"] = ctx.owners.get(username)
        if fields["owner"] is None:
            issues.append(RowIssue(row, "owner", "No active user has this username."))
    else:
        fields["owner"] = user_of(ctx.actor)
    customer = Customer(kind=kind)
    try:
        customer_fields_apply(customer, fields, creating=True, definitions=ctx.definitions)
    except ValidationError as exc:
        for key, messages in exc.message_dict.items():
            column = key if key in values or key in COLUMNS else ""
            issues.extend(RowIssue(row, column, message) for message in messages)
    contacts = {}
    for column, normalise in (("email", normalise_email), ("phone", normalise_phone)):
        raw = values.get(column, "")
        contacts[column] = ""
        if raw:
            try:
                contacts[column] = normalise(raw)
            except ValidationError as exc:
                issues.extend(RowIssue(row, column, message) for message in exc.messages)
    tags = read_tags(values.get("tags", ""), row, issues, ctx)
    if not (values.get("email") or values.get("phone") or values.get("erp_customer_number")):
        issues.append(
            RowIssue(
                row, "", "A row needs an e-mail, a phone or an ERP customer number (what it is matched on)."
            )
        )
    if issues:
        return None, issues
    return ParsedRow(row, customer, contacts["email"], contacts["phone"], tags), []


def owners_named(file: Any, columns: dict[int, str], report: ImportReport) -> dict[str, User]:
    """The active users the file names as owners: a streaming pass collecting usernames
    (few distinct ones), then one query per `LOOKUP_CHUNK` of them."""
    index = next((i for i, name in columns.items() if name == "owner"), None)
    if index is None:
        return {}
    names: set[str] = set()
    for row, record in read_records(file, ImportReport(dry_run=True)):
        if row > 1 and index < len(record) and record[index].strip():
            names.add(record[index].strip())
    ordered = sorted(names)
    owners: dict[str, User] = {}
    for start in range(0, len(ordered), LOOKUP_CHUNK):
        chunk = ordered[start : start + LOOKUP_CHUNK]
        owners.update({u.username: u for u in User.objects.filter(username__in=chunk, is_active=True)})
    return owners
