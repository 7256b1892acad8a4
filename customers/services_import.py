"""Customers from a CSV file: every row is checked with the rules of a customer created
by hand (`customer_create`), and nothing is written unless every row is good.

- The file: UTF-8 (a byte-order mark is fine), at most `MAX_FILE_BYTES` and `MAX_ROWS`
  customers, comma-, semicolon- or tab-separated (read from the header row). Reading,
  the header and the report are shared with the lead import (`frontoffice.csv_import`).
- The header: the columns of `COLUMNS` in any order, named as in the template or with a
  usual alias ("E-mail", "Company", "Stage"); an unknown or repeated column is an error.
- A row: the same checks and normalisation as `customer_create` (names, kind, stage,
  ERP number, the required custom attributes, the e-mail and phone normalisers); `owner`
  is an active user's username (blank: the importer, as for a customer typed in);
  `tags` are separated by ";" as the customer export writes them. Each row needs an
  e-mail, a phone or an ERP customer number: what it is matched on.
- Matching (`customer_matching`'s rules): a row whose e-mail or phone a customer
  already has (merged ones resolve to the survivor), whose ERP customer number a
  customer has, or that shares one of them with an earlier row, is skipped and reported,
  not an error: importing the same file twice adds nothing the second time. A matched
  customer is never changed: updating goes through `customer_update` (a version, the
  owner's right to edit, the ERP's outbox), one customer at a time.
- Consent is not imported: the ledger needs, per customer, the source and the moment
  the customer said yes, which a spreadsheet column does not prove. It is recorded on
  the profile (`customers.consent.consent_record`).
- Rows are numbered as a spreadsheet shows them: 1 is the header, 2 the first customer.

Two streaming passes over the file, in one transaction: the first checks every row,
keeps what matching within the file needs (the first row of each e-mail, phone and ERP
number seen) in a temporary table, not in memory, and spools the rows to create; the
second reads the spool and writes `WRITE_CHUNK` customers at a time in
bulk, with their contact points, tags, audit history and duplicate pairs. A fixed number
of queries per chunk, whatever the size of the file. The import writes no timeline entry
and publishes no event, as `customer_create` does not.

`customer_import(dry_run=True)` is the preview: the same checks, nothing written. Both
raise `CustomerImportRefused` (400) carrying the report when anything is wrong. Jobs for
large files (`CustomerImport`, run by a worker) are in `customers.services_import_jobs`.
"""

from __future__ import annotations

import contextlib
import csv
import json
import tempfile
from collections.abc import Iterable, Iterator
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models.functions import Lower
from django.utils import timezone

from customers.choices import ContactKind, ContactLabel
from customers.duplicate_index import index_created
from customers.import_rows import (
    ADD_CUSTOMER,
    COLUMNS,
    IMPORT_CUSTOMERS,
    LOOKUP_CHUNK,
    MAX_ROWS,
    PREVIEW_ROWS,
    TAG_KEYS,
    WHAT,
    WRITE_CHUNK,
    CustomerImportRefused,
    ImportReport,
    ParsedRow,
    Progress,
    RowContext,
    owners_named,
    parse_row,
    read_columns,
    read_records,
)
from customers.models import ContactPoint, Customer, CustomFieldDefinition, Tag
from frontoffice.actors import Actor, SystemActor, describe, user_of
from frontoffice.bulk_insert import Inserter, insert_rows, reserve_ids
from frontoffice.csv_import import FileProblem, RowIssue, template_csv
from frontoffice.errors import Conflict
from frontoffice.write_path import authorize

# --- checking ----------------------------------------------------------------------------


def _existing(kind: str, values: list[str]) -> dict[str, int]:
    """value -> the customer (the survivor of a merged one) that has it."""
    found: dict[str, int] = {}
    for start in range(0, len(values), LOOKUP_CHUNK):
        chunk = values[start : start + LOOKUP_CHUNK]
        rows: Iterable[tuple[str | None, int, int | None]]
        if kind == "erp":
            rows = Customer.objects.filter(erp_customer_number__in=chunk).values_list(
                "erp_customer_number", "pk", "merged_into_id"
            )
        else:
            rows = (
                ContactPoint.objects.filter(kind=kind, value__in=chunk)
                .order_by("customer__merged_into_id", "-is_primary", "id")
                .values_list("value", "customer_id", "customer__merged_into_id")
            )
        for value, pk, survivor in rows:
            found.setdefault(value or "", survivor or pk)
    return found


def _check_existing(pending: list[ParsedRow], report: ImportReport, spool: Any) -> None:
    """Skip the rows a customer already matches; the others will be created: onto the
    spool (a temporary file: the second pass writes them without reading them again)."""
    matches = {
        kind: _existing(
            kind, sorted({value for item in pending for k, value in item.match_keys() if k == kind})
        )
        for kind in ("email", "phone", "erp")
    }
    for item in pending:
        match = next(
            ((kind, matches[kind][value]) for kind, value in item.match_keys() if value in matches[kind]),
            None,
        )
        if match is not None:
            kind, pk = match
            column = "erp_customer_number" if kind == "erp" else kind
            report.skip(RowIssue(item.row, column, f"Customer #{pk} already has this {WHAT[kind]}."))
            continue
        report.valid += 1
        if spool is not None:
            spool.writerow(_spooled(item))
        if len(report.preview) < PREVIEW_ROWS:
            customer = item.customer
            report.preview.append(
                {
                    "row": item.row,
                    "name": customer.display_name,
                    "kind": customer.kind,
                    "email": item.email,
                    "phone": item.phone,
                    "lifecycle_stage": customer.lifecycle_stage,
                    "owner": customer.owner.username if customer.owner else "",
                    "tags": list(item.tags),
                }
            )


class _SeenKeys:
    """What matching within the file needs: for each e-mail, phone and ERP number seen,
    the first row that has it, kept in a temporary table of this transaction (not in
    memory: at ~100 bytes a value, 100,000 rows would hold ~20 MB). A value is kept as
    `hash((kind, value))` (two values' hashes coinciding is a 1-in-10^19 event; it would
    show as a wrongly skipped row in the report)."""

    def __enter__(self) -> _SeenKeys:
        with connection.cursor() as cursor:
            cursor.execute(
                "CREATE TEMPORARY TABLE IF NOT EXISTS customers_import_seen"
                " (value_hash bigint PRIMARY KEY, first_row integer NOT NULL)"
            )
            cursor.execute("DELETE FROM customers_import_seen")
        return self

    def __exit__(self, kind: Any, *_: Any) -> None:
        # On an error the transaction is rolled back, the table's creation with it.
        if kind is None:
            with connection.cursor() as cursor:
                cursor.execute("DROP TABLE customers_import_seen")

    def first_rows(self, keys: Iterable[int]) -> dict[int, int]:
        """key -> the row that had it first, for the keys of `keys` already seen."""
        ordered = sorted(set(keys))
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute(
                    "SELECT value_hash, first_row FROM customers_import_seen WHERE value_hash = ANY(%s)",
                    [ordered],
                )
                return dict(cursor.fetchall())
            found: dict[int, int] = {}
            for start in range(0, len(ordered), LOOKUP_CHUNK):
                chunk = ordered[start : start + LOOKUP_CHUNK]
                marks = ", ".join(["%s"] * len(chunk))
                cursor.execute(
                    f"SELECT value_hash, first_row FROM customers_import_seen WHERE value_hash IN ({marks})",  # noqa: S608  # placeholders only
                    chunk,
                )
                found.update(cursor.fetchall())
            return found

    def add(self, first_rows: dict[int, int]) -> None:
        if first_rows:
            insert_rows("customers_import_seen", ["value_hash", "first_row"], first_rows.items())


def _check(file: Any, ctx: RowContext, report: ImportReport, progress: Progress | None, spool: Any) -> None:
    """The first pass: every row's problems into the report, the rows to skip skipped,
    the rows to create onto the spool. Rows are matched with each other `WRITE_CHUNK` at
    a time (against the earlier blocks' values in `_SeenKeys`), then with the customers."""
    block: list[tuple[ParsedRow, list[tuple[str, int]]]] = []
    pending: list[ParsedRow] = []

    def match_block() -> None:
        nonlocal pending
        earlier_blocks = seen.first_rows(key for _, keys in block for _, key in keys)
        here: dict[int, int] = {}
        for item, keys in block:
            earlier = next(
                (
                    (kind, earlier_blocks.get(key) or here[key])
                    for kind, key in keys
                    if key in earlier_blocks or key in here
                ),
                None,
            )
            for _, key in keys:
                if key not in earlier_blocks:
                    here.setdefault(key, item.row)
            if earlier is not None:
                kind, first = earlier
                column = "erp_customer_number" if kind == "erp" else kind
                report.skip(RowIssue(item.row, column, f"Row {first} has the same {WHAT[kind]}."))
            elif not report.error_count:  # refused anyway: no need to look the rest up
                pending.append(item)
        seen.add(here)
        block.clear()
        if len(pending) >= WRITE_CHUNK:
            _check_existing(pending, report, spool)
            pending = []
            if progress is not None:
                progress("checking", report.rows)

    with _SeenKeys() as seen:
        for row, record in read_records(file, report):
            if row == 1:
                continue
            report.rows += 1
            if report.rows > MAX_ROWS:
                raise FileProblem(
                    f"The file has more than {MAX_ROWS} customers: split it into smaller files."
                )
            item, issues = parse_row(row, record, ctx)
            for issue in issues:
                report.error(issue)
            if item is None:
                continue
            block.append((item, [(kind, hash((kind, value))) for kind, value in item.match_keys()]))
            if len(block) == WRITE_CHUNK:
                match_block()
        if block:
            match_block()
    if pending and not report.error_count:
        _check_existing(pending, report, spool)
    report.skipped.sort(key=lambda issue: issue.row or 0)


# --- writing -----------------------------------------------------------------------------


def _tag_ids(names: dict[str, str]) -> dict[str, int]:
    """lower-case name -> tag id, creating the tags no one has used yet."""
    keys = sorted(names)
    found: dict[str, int] = {}
    for start in range(0, len(keys), LOOKUP_CHUNK):
        chunk = keys[start : start + LOOKUP_CHUNK]
        found.update(
            Tag.objects.annotate(lname=Lower("name")).filter(lname__in=chunk).values_list("lname", "pk")
        )
    missing = [Tag(name=names[key]) for key in keys if key not in found]
    if missing:
        Tag.objects.bulk_create(missing, ignore_conflicts=True)
        for start in range(0, len(keys), LOOKUP_CHUNK):
            chunk = [key for key in keys[start : start + LOOKUP_CHUNK] if key not in found]
            found.update(
                Tag.objects.annotate(lname=Lower("name")).filter(lname__in=chunk).values_list("lname", "pk")
            )
    return found


def _spooled(item: ParsedRow) -> list[str]:
    customer = item.customer
    return [
        customer.kind,
        customer.first_name,
        customer.last_name,
        customer.organisation_name,
        customer.display_name,
        customer.name_key,
        customer.lifecycle_stage,
        str(customer.owner_id or ""),
        customer.erp_customer_number or "",
        json.dumps(customer.attributes),
        item.email,
        item.phone,
        TAG_KEYS.join(item.tags),
    ]


_TAG_HISTORY = Customer.history.model._meta.get_field("historicalcustomer_tags").related_model


def _write_chunk(rows: list[list[str]], ctx: RowContext, tag_ids: dict[str, int], *, analyze: bool) -> None:
    """One chunk in bulk (`frontoffice.bulk_insert`: COPY on PostgreSQL): the customers,
    their contact points and tags, the audit history of each as their one-by-one creation
    writes it (who, and the tags on the creation's row), then their duplicate pairs."""
    now = timezone.now()
    user = user_of(ctx.actor)
    history = {
        "history_date": now,
        "history_type": "+",
        "history_user_id": user.pk if user else None,
        "history_change_reason": (describe(ctx.actor) if isinstance(ctx.actor, SystemActor) else "")[:100]
        or None,
    }
    customers = []
    for pk, (kind, first, last, organisation, display, key, stage, owner, erp, attributes, *_) in zip(
        reserve_ids(Customer, len(rows)), rows, strict=True
    ):
        customers.append(
            {
                "id": pk,
                "created_at": now,
                "updated_at": now,
                "kind": kind,
                "first_name": first,
                "last_name": last,
                "organisation_name": organisation,
                "display_name": display,
                "name_key": key,
                "lifecycle_stage": stage,
                "owner_id": int(owner) if owner else None,
                "erp_customer_number": erp or None,
                "attributes": json.loads(attributes),
                "version": 1,
            }
        )
    Inserter(Customer, with_pk=True).insert(customers)
    history_ids = reserve_ids(Customer.history.model, len(customers))
    Inserter(Customer.history.model, with_pk=True).insert(
        {**customer, **history, "history_id": hid}
        for customer, hid in zip(customers, history_ids, strict=True)
    )
    contacts = [
        {"customer_id": customer["id"], "kind": kind, "value": value}
        for customer, row in zip(customers, rows, strict=True)
        for kind, value in ((ContactKind.EMAIL, row[10]), (ContactKind.PHONE, row[11]))
        if value
    ]
    for contact, pk in zip(contacts, reserve_ids(ContactPoint, len(contacts)), strict=True):
        contact.update(id=pk, created_at=now, updated_at=now, label=ContactLabel.WORK, is_primary=True)
    Inserter(ContactPoint, with_pk=True).insert(contacts)
    Inserter(ContactPoint.history.model, with_pk=False).insert({**contact, **history} for contact in contacts)
    links = [
        {"customer_id": customer["id"], "tag_id": tag_ids[key], "history_id": hid}
        for customer, row, hid in zip(customers, rows, history_ids, strict=True)
        for key in (row[12].split(TAG_KEYS) if row[12] else ())
    ]
    if links:
        for link, pk in zip(links, reserve_ids(Customer.tags.through, len(links)), strict=True):
            link["id"] = pk
        Inserter(Customer.tags.through, with_pk=True).insert(links)
        Inserter(_TAG_HISTORY, with_pk=False).insert(links)
    if analyze:
        _analyze()
    with _btree_lookups():
        index_created(
            customers=[(c["id"], c["kind"], c["name_key"]) for c in customers],
            contacts=[(c["customer_id"], c["kind"], c["value"]) for c in contacts],
        )


@contextlib.contextmanager
def _btree_lookups() -> Iterator[None]:
    """PostgreSQL plans `value = ANY(2,000 e-mails)` on the trigram index of contact
    points (it underestimates a GIN equality search): 43 s for one chunk's duplicate
    pairs, against milliseconds on the (kind, value) B-tree. GIN is only read through
    bitmap scans, so turning those off for these few queries leaves it out."""
    if connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_bitmapscan = off")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL enable_bitmapscan TO DEFAULT")


def _analyze() -> None:
    """Fresh planner statistics for the tables the duplicate pairs are read from, as the
    load doubles them (after the first chunk, then at 4,000, 8,000... rows; ~0.1 s each).
    Without them a load into a small or new base is planned as if the tables were still
    empty: a nested loop over the chunk's e-mails took 43 s for one chunk at 10,000
    customers, 9 ms once analysed. ANALYZE counts the rows this transaction added."""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        for model in (Customer, ContactPoint):
            cursor.execute(f"ANALYZE {connection.ops.quote_name(model._meta.db_table)}")


def _write(ctx: RowContext, report: ImportReport, spool: Any, progress: Progress | None) -> None:
    """The second pass: the spooled rows, `WRITE_CHUNK` at a time."""
    tag_ids = _tag_ids(ctx.tag_names)
    spool.seek(0)
    chunk: list[list[str]] = []
    written = 0
    analyze_at = WRITE_CHUNK
    for row in csv.reader(spool):
        chunk.append(row)
        if len(chunk) == WRITE_CHUNK:
            analyze = written + len(chunk) >= analyze_at
            _write_chunk(chunk, ctx, tag_ids, analyze=analyze)
            analyze_at *= 2 if analyze else 1
            written += len(chunk)
            chunk = []
            if progress is not None:
                progress("writing", written)

    if chunk:
        _write_chunk(chunk, ctx, tag_ids, analyze=written + len(chunk) >= analyze_at)
        written += len(chunk)
    report.created = written


@transaction.atomic
def customer_import(
    *, actor: Actor, file: Any, dry_run: bool = False, progress: Progress | None = None
) -> ImportReport:
    """Check every row of a CSV file of customers (see the module's docstring) and,
    unless `dry_run`, create them all in bulk in this one transaction.

    `file`: a binary file that can seek (an upload, a stored file); it is read twice and
    never held whole in memory. Raises `CustomerImportRefused` with the report when any
    row (or the file) is wrong, `Conflict` when a customer took one of the file's
    e-mails or ERP numbers between the check and the write (nothing written).
    """
    authorize(actor, ADD_CUSTOMER, IMPORT_CUSTOMERS, message="You may not import customers.")
    report = ImportReport(dry_run=dry_run)
    try:
        records = read_records(file, report)
        header = next(records, None)
        columns = read_columns(header[1], report) if header is not None else {}
        width = len(header[1]) if header is not None else 0
        records.close()
        if report.error_count:
            raise CustomerImportRefused(report)
        ctx = RowContext(
            actor=actor,
            columns=columns,
            width=width,
            owners=owners_named(file, columns, report),
            definitions=list(CustomFieldDefinition.objects.all()),
        )
        with tempfile.TemporaryFile("w+", encoding="utf-8", newline="") as spool:
            _check(file, ctx, report, progress, None if dry_run else csv.writer(spool))
            if not report.error_count and not report.rows:
                report.error(RowIssue(None, "", "The file has a header but no customers."))
            if report.error_count:
                raise CustomerImportRefused(report)
            if not dry_run and report.valid:
                _write(ctx, report, spool, progress)
    except FileProblem as exc:
        report.errors, report.error_count = [RowIssue(None, "", str(exc))], 1
        raise CustomerImportRefused(report) from None
    except IntegrityError:
        raise Conflict(
            "A customer with one of the file's e-mails or ERP customer numbers was created meanwhile; "
            "nothing was imported. Upload the file again: that row will be skipped."
        ) from None
    return report


def customer_import_template() -> str:
    """The CSV template: the header row, in the order of `COLUMNS`."""
    return template_csv(COLUMNS)
