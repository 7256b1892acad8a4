"""Merging duplicates (customers.merge): what moves, what is refused, who is named in the
audit history, which versions change, and the event the ERP's sync listens to."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from customers import services
from customers.choices import ContactKind
from customers.consent import consent_record
from customers.events import CustomersMerged
from customers.merge import customer_merge
from customers.models import Activity, ContactPoint, Customer
from customers.timeline import activity_log
from frontoffice import events
from frontoffice.actors import MAINTENANCE
from frontoffice.errors import StaleVersion
from frontoffice.plugin import Phase

pytestmark = pytest.mark.django_db


def person(actor, first="Ada", last="Lovelace", **extra):
    return services.customer_create(actor=actor, kind="person", first_name=first, last_name=last, **extra)


def test_merge_moves_everything_unites_contacts_and_leaves_a_tombstone(supervisor):
    # given
    survivor = person(
        supervisor, contact_points=[{"kind": "email", "value": "ada@example.com"}], tags=["VIP"]
    )
    duplicate = person(
        supervisor,
        first="Ada M.",
        contact_points=[
            {"kind": "phone", "value": "+44 20 7946 0000"},
            {"kind": "email", "value": "ada.work@example.com", "is_primary": True},
        ],
        tags=["Newsletter"],
        erp_customer_number="C-100",
    )
    activity_log(actor=supervisor, customer_id=duplicate.pk, kind="call", subject="Called about invoice")
    consent_record(
        actor=supervisor,
        customer_id=duplicate.pk,
        channel="email",
        purpose="newsletter",
        granted=True,
        source="web",
    )
    # when
    customer_merge(actor=supervisor, survivor_id=survivor.pk, duplicate_id=duplicate.pk)
    # then
    survivor.refresh_from_db()
    duplicate.refresh_from_db()
    assert duplicate.merged_into_id == survivor.pk
    assert duplicate.contact_points.count() == 0
    assert set(survivor.contact_points.values_list("value", flat=True)) == {
        "ada@example.com",
        "ada.work@example.com",
        "+442079460000",
    }
    primaries = ContactPoint.objects.filter(customer=survivor, kind=ContactKind.EMAIL, is_primary=True)
    assert list(primaries.values_list("value", flat=True)) == ["ada@example.com"]
    assert {t.name for t in survivor.tags.all()} == {"VIP", "Newsletter"}
    assert survivor.erp_customer_number == "C-100"
    assert survivor.activities.filter(subject="Called about invoice").exists()
    assert survivor.activities.filter(kind="merge").exists()
    assert survivor.consent_events.count() == 1


def test_merge_refuses_merged_self_and_cross_kind_and_changes_nothing(supervisor):
    a = person(supervisor)
    org = services.customer_create(actor=supervisor, kind="organisation", organisation_name="Acme")
    with pytest.raises(ValidationError):
        customer_merge(actor=supervisor, survivor_id=a.pk, duplicate_id=a.pk)
    with pytest.raises(ValidationError):
        customer_merge(actor=supervisor, survivor_id=a.pk, duplicate_id=org.pk)
    assert not Customer.objects.filter(merged_into__isnull=False).exists()


def test_only_holders_of_the_merge_permission_merge(agent):
    a, b = person(agent), person(agent, first="B")
    with pytest.raises(PermissionDenied):
        customer_merge(actor=agent, survivor_id=a.pk, duplicate_id=b.pk)


def test_every_foreign_key_to_customer_is_registered_for_merge():
    from django.apps import apps

    from frontoffice import plugin

    registered = {(r.model_label.lower(), r.field_name) for r in plugin.merge_references()}
    missing = []
    for model in apps.get_models():
        if model.__name__.startswith("Historical"):
            continue  # audit rows keep the id they were written with
        for field in model._meta.get_fields():
            if (
                field.many_to_one
                and field.concrete
                and field.related_model is Customer
                and (model._meta.label_lower, field.name) not in registered
            ):
                missing.append(f"{model._meta.label}.{field.name}")
    assert missing == []


def test_the_audit_rows_of_both_customers_and_of_moved_contact_points_name_who_merged(supervisor, agent):
    # given: created by the agent
    survivor = person(agent)
    duplicate = person(agent, first="Ada M.", contact_points=[{"kind": "email", "value": "ada@m.example"}])
    # when: merged by the supervisor, outside any request
    customer_merge(actor=supervisor, survivor_id=survivor.pk, duplicate_id=duplicate.pk)
    # then
    assert latest_history(survivor).history_user == supervisor
    tombstone = latest_history(duplicate)
    assert (tombstone.merged_into_id, tombstone.history_user) == (survivor.pk, supervisor)
    moved = (
        ContactPoint.history.filter(value="ada@m.example").order_by("-history_date", "-history_id").first()
    )
    assert (moved.customer_id, moved.history_user) == (survivor.pk, supervisor)


def test_a_merge_by_the_system_names_the_system_actor(agent):
    # given
    survivor, duplicate = person(agent), person(agent, first="Ada M.")
    # when
    customer_merge(actor=MAINTENANCE, survivor_id=survivor.pk, duplicate_id=duplicate.pk)
    # then
    for customer in (survivor, duplicate):
        row = latest_history(customer)
        assert (row.history_user, row.history_change_reason) == (None, "System (maintenance)")
    assert Activity.objects.get(customer=survivor, kind="merge").system_actor == "maintenance"


def test_the_merge_refuses_a_survivor_changed_since_the_expected_version(supervisor, agent):
    # given: the merging person saw version 1; someone changed it since
    survivor, duplicate = person(agent), person(agent, first="Ada M.")
    services.customer_update(actor=agent, customer_id=survivor.pk, expected_version=1, last_name="Byron")
    # when
    with pytest.raises(StaleVersion):
        customer_merge(
            actor=supervisor, survivor_id=survivor.pk, duplicate_id=duplicate.pk, expected_version=1
        )
    # then
    duplicate.refresh_from_db()
    assert duplicate.merged_into_id is None
    merged = customer_merge(
        actor=supervisor, survivor_id=survivor.pk, duplicate_id=duplicate.pk, expected_version=2
    )
    assert merged.version == 3


def test_re_pointed_customers_get_a_new_version(supervisor, agent):
    # given: a subsidiary of the duplicate, and a customer merged into it earlier
    survivor = services.customer_create(actor=agent, kind="organisation", organisation_name="Acme")
    duplicate = services.customer_create(actor=agent, kind="organisation", organisation_name="Acme Ltd")
    subsidiary = services.customer_create(
        actor=agent, kind="organisation", organisation_name="Acme Deutschland", parent=duplicate
    )
    earlier = services.customer_create(actor=agent, kind="organisation", organisation_name="ACME")
    customer_merge(actor=supervisor, survivor_id=duplicate.pk, duplicate_id=earlier.pk)
    versions = dict(Customer.objects.filter(pk__in=[subsidiary.pk, earlier.pk]).values_list("pk", "version"))
    # when
    customer_merge(actor=supervisor, survivor_id=survivor.pk, duplicate_id=duplicate.pk)
    # then: both now point at the survivor, at a version their old ETag does not match
    subsidiary.refresh_from_db()
    earlier.refresh_from_db()
    assert (subsidiary.parent_id, subsidiary.version) == (survivor.pk, versions[subsidiary.pk] + 1)
    assert (earlier.merged_into_id, earlier.version) == (survivor.pk, versions[earlier.pk] + 1)


@pytest.mark.parametrize(
    ("survivor_number", "duplicate_number", "announced"),
    [(None, "C-200", "C-200"), ("C-100", "C-200", None), (None, None, None)],
)
def test_a_merge_announces_itself_in_its_transaction_with_the_erp_number_the_survivor_took_over(
    supervisor, agent, survivor_number, duplicate_number, announced
):
    # given
    survivor = person(agent, erp_customer_number=survivor_number)
    duplicate = person(agent, first="Ada M.", erp_customer_number=duplicate_number)
    heard: list[tuple[Any, int | None]] = []

    def listener(event: Any) -> None:
        # inside the merge's transaction: the tombstone is already written
        heard.append((event, Customer.objects.get(pk=event.duplicate_id).merged_into_id))

    # when
    with events.listening(CustomersMerged, listener, Phase.IN_TRANSACTION):
        customer_merge(actor=supervisor, survivor_id=survivor.pk, duplicate_id=duplicate.pk)
    # then
    assert heard == [
        (
            CustomersMerged(
                survivor_id=survivor.pk, duplicate_id=duplicate.pk, erp_customer_number=announced
            ),
            survivor.pk,
        )
    ]
    survivor.refresh_from_db()
    assert survivor.erp_customer_number == (survivor_number or duplicate_number)


def test_a_refused_merge_announces_nothing(supervisor, agent):
    # given
    survivor = person(agent)
    organisation = services.customer_create(actor=agent, kind="organisation", organisation_name="Acme")
    heard: list[Any] = []
    # when
    with (
        events.listening(CustomersMerged, heard.append, Phase.IN_TRANSACTION),
        pytest.raises(ValidationError),
    ):
        customer_merge(actor=supervisor, survivor_id=survivor.pk, duplicate_id=organisation.pk)
    # then
    assert heard == []


def latest_history(customer: Customer) -> Any:
    return customer.history.order_by("-history_date", "-history_id").first()
