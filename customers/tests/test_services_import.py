"""The CSV customer import: every row checked like `customer_create`, all or nothing,
matches skipped (existing customers, earlier rows), a second import adds nothing,
bulk writes with history, tags and duplicate pairs, a bounded number of queries."""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied
from django.db import connection

from customers import services
from customers.import_rows import CustomerImportRefused, ImportReport
from customers.models import ContactPoint, Customer, CustomFieldDefinition, DuplicatePair, Tag
from customers.services_import import customer_import, customer_import_template
from frontoffice.csv_import import RowIssue
from tests.api_contract import snapshot

pytestmark = pytest.mark.django_db

HEADER = (
    "kind,first_name,last_name,organisation_name,email,phone,lifecycle_stage,owner,tags,erp_customer_number\n"
)


def run(actor: Any, text: str | bytes, **kwargs: Any) -> ImportReport:
    data = text if isinstance(text, bytes) else text.encode()
    return customer_import(actor=actor, file=io.BytesIO(data), **kwargs)


def refused(actor: Any, text: str | bytes, **kwargs: Any) -> list[RowIssue]:
    before = (snapshot(Customer), snapshot(ContactPoint), snapshot(Tag))
    with pytest.raises(CustomerImportRefused) as caught:
        run(actor, text, **kwargs)
    assert (snapshot(Customer), snapshot(ContactPoint), snapshot(Tag)) == before
    return caught.value.report.errors


# --- the happy path --------------------------------------------------------------------


def test_it_creates_customers_with_contacts_tags_owner_and_history(marketer, sales_rep):
    # given
    text = (
        HEADER
        + "person,Grace,Hopper,, Grace@Example.COM ,020 7946 0000,customer,rep,VIP; Navy,E-100\n"
        + "organisation,,,Navy Labs,labs@example.com,,,,vip,\n"
        + ",Ada,Lovelace,,,+44 20 7946 0001,,,,\n"
    )
    # when
    report = run(marketer, text)
    # then
    assert (report.rows, report.valid, report.created, report.skipped_count, report.error_count) == (
        3,
        3,
        3,
        0,
        0,
    )
    grace = Customer.objects.get(first_name="Grace")
    assert (grace.kind, grace.display_name, grace.name_key) == ("person", "Grace Hopper", "grace hopper")
    assert (grace.lifecycle_stage, grace.owner, grace.erp_customer_number) == ("customer", sales_rep, "E-100")
    assert sorted(grace.tags.values_list("name", flat=True)) == ["Navy", "VIP"]
    assert set(grace.contact_points.values_list("kind", "value", "is_primary")) == {
        ("email", "grace@example.com", True),
        ("phone", "+442079460000", True),
    }
    labs = Customer.objects.get(organisation_name="Navy Labs")
    assert labs.kind == "organisation"
    assert labs.owner == marketer  # blank owner: the importer, as for a customer typed in
    assert list(labs.tags.values_list("name", flat=True)) == ["VIP"]  # one tag, whatever its case
    ada = Customer.objects.get(first_name="Ada")
    assert (ada.kind, ada.lifecycle_stage) == ("person", "prospect")
    # the audit history, as a one-by-one creation writes it: who, and the tags
    created = grace.history.get()
    assert (created.history_type, created.history_user) == ("+", marketer)
    assert sorted(t.tag.name for t in created.tags.all()) == ["Navy", "VIP"]
    assert ContactPoint.history.filter(customer_id=grace.pk, history_type="+").count() == 2


def test_the_report_previews_the_first_rows(marketer):
    report = run(marketer, HEADER + "person,Grace,Hopper,,g@example.com,,,,a;b,\n", dry_run=True)
    assert report.preview == [
        {
            "row": 2,
            "name": "Grace Hopper",
            "kind": "person",
            "email": "g@example.com",
            "phone": "",
            "lifecycle_stage": "prospect",
            "owner": "marketer",
            "tags": ["a", "b"],
        }
    ]


def test_headers_may_use_aliases_any_order_semicolons_a_bom_and_crlf(marketer):
    text = "\ufeffE-mail;Surname;First name;Company;Stage;Type\r\nann@example.com;Lee;Ann;;Former customer;Person\r\n"
    report = run(marketer, text)
    assert report.created == 1
    ann = Customer.objects.get()
    assert (ann.display_name, ann.lifecycle_stage) == ("Ann Lee", "former")


def test_an_exported_formula_escaped_cell_imports_as_it_was(marketer):
    run(marketer, "last_name,phone\nLee,'+44 20 7946 0002\n")
    assert ContactPoint.objects.get().value == "+442079460002"


def test_a_dry_run_checks_everything_and_writes_nothing(marketer):
    before = (snapshot(Customer), snapshot(ContactPoint), snapshot(Tag))
    report = run(marketer, HEADER + "person,Grace,Hopper,,g@example.com,,,,NewTag,\n", dry_run=True)
    assert (report.valid, report.created) == (1, 0)
    assert (snapshot(Customer), snapshot(ContactPoint), snapshot(Tag)) == before


def test_duplicate_pairs_are_refreshed_for_the_new_customers(marketer):
    # given: a customer with a phone a row shares, and a row with an earlier name
    services.customer_create(
        actor=marketer, kind="person", first_name="Ann", last_name="Lee",
        contact_points=[{"kind": "email", "value": "ann@example.com"}],
    )  # fmt: skip
    # when
    run(marketer, "first_name,last_name,email\nAnn,Lee,other@example.com\n")
    # then
    assert DuplicatePair.objects.filter(reasons=["same name"]).count() == 1


def test_an_import_files_the_pairs_and_names_a_rebuild_from_scratch_derives(marketer, monkeypatch):
    # given: customers already there, and rows (in chunks of 3) whose names are theirs,
    # another row's in the same chunk or in another chunk (a shared e-mail or phone
    # would make a row skipped, not a pair)
    import customers.services_import as importing
    from customers.duplicate_index import index_rebuild
    from customers.models import NameNeighbour

    monkeypatch.setattr(importing, "WRITE_CHUNK", 3)
    for first in ("Ann", "Bob"):
        services.customer_create(
            actor=marketer, kind="person", first_name=first, last_name="Lee",
            contact_points=[{"kind": "email", "value": f"{first}@example.com"}],
        )  # fmt: skip
    rows = [
        "person,Ann,Lee,,ann2@example.com,",  # Ann's name
        "person,Anne,Lee,,anne@example.com,",  # a near name: filed, no pair
        "person,Cid,Moss,,cid@example.com,020 7946 0102",
        "person,Cid,Moss,,cid2@example.com,",  # the name of a row in the chunk before
        "organisation,,,Ann Lee,,020 7946 0103",  # Ann's name, another kind: no pair
        "person,Bob,Lee,,bob2@example.com,",  # Bob's name
        "person,Ann,Lee,,ann3@example.com,",  # Ann's name, a third time, two chunks on
    ]
    # when
    report = run(
        marketer, "kind,first_name,last_name,organisation_name,email,phone\n" + "\n".join(rows) + "\n"
    )
    filed = (
        sorted(DuplicatePair.objects.values_list("customer_a_id", "customer_b_id", "reasons")),
        sorted(NameNeighbour.objects.values_list("customer_id", "kind", "key", "value")),
    )
    index_rebuild()
    # then
    assert report.created == len(rows)
    rebuilt = (
        sorted(DuplicatePair.objects.values_list("customer_a_id", "customer_b_id", "reasons")),
        sorted(NameNeighbour.objects.values_list("customer_id", "kind", "key", "value")),
    )
    assert filed == rebuilt
    # the three Ann Lees pairwise, the two Bobs, the two Cids
    assert [whys for _, _, whys in filed[0]] == [["same name"]] * 5


# --- matching: skipped, not errors ------------------------------------------------------


@pytest.mark.parametrize("block", [2000, 1, 2, 4])
def test_rows_matching_a_customer_or_an_earlier_row_are_skipped(marketer, monkeypatch, block):
    # given: rows matched in blocks of `block` (an earlier row in the same block or in
    # an earlier one)
    import customers.services_import as importing

    monkeypatch.setattr(importing, "WRITE_CHUNK", block)
    existing = services.customer_create(
        actor=marketer, kind="person", last_name="Known", erp_customer_number="E-1",
        contact_points=[{"kind": "email", "value": "known@example.com"}, {"kind": "phone", "value": "020 7946 0009"}],
    )  # fmt: skip
    text = (
        "last_name,email,phone,erp_customer_number\n"
        "A,KNOWN@example.com,,\n"  # 2: the customer's e-mail, in another case
        "B,,+442079460009,\n"  # 3: the customer's phone, in another format
        "C,,,E-1\n"  # 4: the customer's ERP number
        "D,new@example.com,020 7946 0010,\n"  # 5: new
        "E,,020 7946 0010,\n"  # 6: row 5's phone
        "F,New@Example.com,,\n"  # 7: row 5's e-mail
    )
    # when
    report = run(marketer, text)
    # then
    assert report.created == 1
    assert [(s.row, s.column, s.message) for s in report.skipped] == [
        (2, "email", f"Customer #{existing.pk} already has this e-mail."),
        (3, "phone", f"Customer #{existing.pk} already has this phone."),
        (4, "erp_customer_number", f"Customer #{existing.pk} already has this ERP customer number."),
        (6, "phone", "Row 5 has the same phone."),
        (7, "email", "Row 5 has the same e-mail."),
    ]
    assert Customer.objects.filter(last_name="D").exists()
    # and the same file again, previewed in the same transaction: all matched
    again = run(marketer, text, dry_run=True)
    assert (again.valid, again.skipped_count) == (0, 6)
    d = Customer.objects.get(last_name="D").pk
    assert [(s.row, s.message) for s in again.skipped][3:] == [
        (5, f"Customer #{d} already has this e-mail."),
        (6, "Row 5 has the same phone."),
        (7, "Row 5 has the same e-mail."),
    ]


def test_a_match_on_a_merged_customer_names_the_survivor(marketer, supervisor):
    from customers.merge import customer_merge

    survivor = services.customer_create(actor=marketer, kind="person", last_name="S")
    duplicate = services.customer_create(
        actor=marketer,
        kind="person",
        last_name="D",
        contact_points=[{"kind": "email", "value": "d@example.com"}],
    )
    customer_merge(actor=supervisor, survivor_id=survivor.pk, duplicate_id=duplicate.pk)
    report = run(marketer, "last_name,email\nX,d@example.com\n")
    assert report.skipped[0].message == f"Customer #{survivor.pk} already has this e-mail."


def test_importing_the_same_file_twice_adds_nothing_the_second_time(marketer):
    text = HEADER + "person,Grace,Hopper,,g@example.com,,,,,\norganisation,,,Labs,,,,,,E-7\n"
    assert run(marketer, text).created == 2
    before = (snapshot(Customer), snapshot(ContactPoint))
    second = run(marketer, text)
    assert (second.created, second.skipped_count) == (0, 2)
    assert (snapshot(Customer), snapshot(ContactPoint)) == before


# --- every kind of problem: reported per row, nothing written --------------------------


@pytest.mark.parametrize(
    ("row", "issue"),
    [
        ("martian,Ann,Lee,,a@example.com,,,,,", ("kind", "Choose one of: person, organisation.")),
        ("person,,,,a@example.com,,,,,", ("last_name", "A person needs a first or last name.")),
        ("person,Ann,Lee,Acme,a@example.com,,,,,", ("organisation_name", "Only organisations have one.")),
        (
            "organisation,Ann,,Acme,a@example.com,,,,,",
            ("first_name", "Organisations have no first or last name."),
        ),
        ("person,Ann,Lee,,not-an-email,,,,,", ("email", "Enter a valid e-mail address.")),
        ("person,Ann,Lee,,,12,,,,", ("phone", "Enter a valid phone number.")),
        (
            "person,Ann,Lee,,a@example.com,,vip,,,",
            ("lifecycle_stage", "Choose one of: prospect, customer, former."),
        ),
        ("person,Ann,Lee,,a@example.com,,,ghost,,", ("owner", "No active user has this username.")),
        ("person,Ann,Lee,,a@example.com,,,,," + "x" * 41, ("erp_customer_number", "At most 40 characters.")),
        ("person,Ann,Lee,,a@example.com,,,," + "t" * 51 + ",", ("tags", "A tag has at most 50 characters")),
        ("person,Ann,Lee,,,,,,,", ("", "A row needs an e-mail, a phone or an ERP customer number")),
        ("person,Ann,Lee,,a@example.com,,,,,,surplus", ("", "This row has 11 cells but the header only 10")),
    ],
)
def test_a_bad_row_is_reported_with_its_column_and_nothing_is_written(marketer, row, issue):
    errors = refused(marketer, HEADER + "person,Fine,Row,,fine@example.com,,,,,\n" + row + "\n")
    assert [(e.row, e.column) for e in errors] == [(3, issue[0])]
    assert errors[0].message.startswith(issue[1])


def test_a_required_custom_attribute_refuses_every_row(marketer):
    CustomFieldDefinition.objects.create(key="vat", label="VAT", field_type="text", required=True)
    errors = refused(marketer, "last_name,email\nLee,a@example.com\n")
    assert errors == [RowIssue(2, "", "This custom attribute is required.")]


def test_a_bad_row_late_in_a_large_file_leaves_nothing_written(marketer, settings):
    # given: 4,500 good rows (more than two write chunks) and a bad one at the end
    lines = [f"Person{i},p{i}@example.com" for i in range(4500)]
    text = "last_name,email\n" + "\n".join(lines) + "\nLate,broken\n"
    # when
    errors = refused(marketer, text)
    # then
    assert errors == [RowIssue(4502, "email", "Enter a valid e-mail address.")]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (b"", "The file is empty: it needs a header row and at least one customer."),
        (b"last_name,email\n", "The file has a header but no customers."),
        (b"last_name,email\nL\xe9e,x@example.com\n", "The file is not UTF-8 text (byte 18 is not)."),
        (
            b"last_name,email\nL\x00,x@example.com\n",
            "The file holds null characters: it is not a CSV text file.",
        ),
    ],
)
def test_a_file_that_cannot_be_read_is_refused_as_a_whole(marketer, text, message):
    errors = refused(marketer, text)
    assert len(errors) == 1
    assert (errors[0].row, errors[0].message[: len(message)]) == (None, message)


def test_header_problems_are_row_one(marketer):
    errors = refused(marketer, "last_name,emial,last_name\nLee,a@example.com,x\n")
    assert [(e.row, e.column, e.message[:20]) for e in errors] == [
        (1, "emial", "Unknown column. The "),
        (1, "last_name", "This column appears "),
        (1, "", "The header needs an "),
    ]


def test_invalid_csv_is_reported_where_it_is_met(marketer):
    errors = refused(marketer, 'last_name,email\nLee,a@example.com\n"Open,b@example.com\n')
    assert errors[0].row == 3
    assert errors[0].message.startswith("This is not valid CSV")


def test_the_report_lists_the_first_problems_and_counts_them_all(marketer, monkeypatch):
    monkeypatch.setattr("customers.import_rows.MAX_LISTED", 3)
    with pytest.raises(CustomerImportRefused) as caught:
        run(marketer, "last_name,email\n" + "Lee,bad\n" * 5)
    report = caught.value.report
    assert (report.error_count, len(report.errors)) == (5, 3)
    assert "5 problems in the file" in caught.value.detail


# --- who may, and at what cost -----------------------------------------------------------


def test_a_sales_rep_may_not_import(sales_rep):
    with pytest.raises(PermissionDenied):
        run(sales_rep, "last_name,email\nLee,a@example.com\n")


def test_the_queries_per_chunk_do_not_grow_with_the_rows(marketer, django_assert_max_num_queries):
    # given: 2,000 rows (a write chunk), with tags and phones; then 4,000
    def file(count: int, offset: int) -> str:
        return "last_name,email,phone,tags\n" + "".join(
            f"P{i},p{i}@example.com,+4420794{i:05d},a;b\n" for i in range(offset, offset + count)
        )

    # when / then: the same budget per chunk whatever the size: ~25 queries per 2,000
    # rows on PostgreSQL; SQLite splits each bulk insert by its limit of parameters.
    per_chunk = 40 if connection.vendor == "postgresql" else 260
    with django_assert_max_num_queries(per_chunk):
        assert run(marketer, file(2000, 0)).created == 2000
    with django_assert_max_num_queries(2 * per_chunk):
        assert run(marketer, file(4000, 10000)).created == 4000


def test_the_template_is_the_header_row():
    assert customer_import_template() == HEADER.replace("\n", "\r\n")
