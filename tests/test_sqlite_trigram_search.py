"""Search by a fragment follows every write, whatever answers it: on SQLite the FTS5
trigram tables of customers' migration 0010 (kept by triggers), on PostgreSQL the
trigram indexes of 0002."""

from __future__ import annotations

import pytest
from django.db import connection

from customers import services
from customers.filters import search_customers
from customers.models import ContactPoint, Customer
from frontoffice.actors import MAINTENANCE

pytestmark = pytest.mark.django_db

TRIGRAM_TABLES = ("customers_contactpoint_value_trgm", "customers_customer_display_name_trgm")


def found(q: str) -> list[int]:
    return list(
        search_customers(Customer.objects.filter(merged_into__isnull=True), q).values_list("pk", flat=True)
    )


def test_a_fragment_of_a_name_email_or_phone_finds_the_customer_after_each_write() -> None:
    # given
    customer = services.customer_create(
        actor=MAINTENANCE,
        kind="person",
        first_name="Lynda",
        last_name="Quenneville",
        contact_points=[
            {"kind": "email", "value": "lynda.q@harbour-lights.example"},
            {"kind": "phone", "value": "+442079460123"},
        ],
    )
    # then: by a part of each (an e-mail's domain, or the address from its start), in
    # any case and format
    assert found("ENNEVI") == [customer.pk]
    assert found("@HARBOUR-li") == [customer.pk]
    assert found("lynda.q@harb") == [customer.pk]
    assert found("7946 012") == [customer.pk]
    # when the values change, the old fragments no longer find it and the new ones do
    Customer.objects.filter(pk=customer.pk).update(display_name="Lynda Marchetti")
    ContactPoint.objects.filter(customer=customer, kind="email").update(value="lm@orchard.example")
    assert found("ENNEVI") == []
    assert found("archett") == [customer.pk]
    assert found("@harbour-li") == []
    assert found("lynda.q@harb") == []
    assert found("@orchard") == [customer.pk]
    assert found("lm@orch") == [customer.pk]
    # and once removed, nothing finds it
    ContactPoint.objects.filter(customer=customer).delete()
    assert found("7946 012") == []


def test_two_letters_are_searched_too() -> None:
    customer = services.customer_create(actor=MAINTENANCE, kind="person", first_name="Bo", last_name="Xu")
    assert customer.pk in found("Xu")


def test_whatever_the_database_a_trigram_structure_answers_each_searched_column() -> None:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # the trigram indexes of 0002, on the two columns searched by fragment
            cursor.execute("SELECT indexdef FROM pg_indexes WHERE indexdef LIKE '%%gin_trgm_ops%%'")
            definitions = [row[0] for row in cursor.fetchall()]
            for table, column in (
                ("customers_customer", "display_name"),
                ("customers_contactpoint", "value"),
            ):
                assert any(f"ON public.{table} USING gin ({column} gin_trgm_ops)" in d for d in definitions)
            return
        # On SQLite: a later migration that rebuilds one of these tables (SQLite's ALTER)
        # drops its triggers.
        cursor.execute("SELECT type, name FROM sqlite_master WHERE name LIKE '%_trgm%'")
        names = {name for _, name in cursor.fetchall()}
    for table in TRIGRAM_TABLES:
        assert table in names
        for trigger in ("insert", "delete", "update"):
            assert f"{table}_{trigger}" in names
