from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from customers import services
from customers.choices import FieldType
from customers.consent import consent_record
from customers.merge import customer_merge
from customers.models import (
    Activity,
    ConsentEvent,
    ContactPoint,
    Customer,
    CustomFieldDefinition,
    Relationship,
    Tag,
)
from customers.selectors import consent_state
from customers.timeline import activity_log, activity_record, activity_record_many
from frontoffice.actors import ERP_SYNC, MAINTENANCE, SCHEDULER
from frontoffice.errors import StaleVersion
from frontoffice.write_path import MissingActor

pytestmark = pytest.mark.django_db


def person(actor, first="Ada", last="Lovelace", **extra):
    return services.customer_create(actor=actor, kind="person", first_name=first, last_name=last, **extra)


def test_it_normalises_email_to_lower_case_and_phone_to_e164(agent):
    # given / when
    customer = person(
        agent,
        contact_points=[
            {"kind": "email", "value": "  Ada.Lovelace@Example.COM "},
            {"kind": "phone", "value": "020 7946 0000"},
        ],
    )
    # then
    values = dict(customer.contact_points.values_list("kind", "value"))
    assert values == {"email": "ada.lovelace@example.com", "phone": "+442079460000"}
    assert set(customer.contact_points.values_list("is_primary", flat=True)) == {True}


def test_it_refuses_a_primary_email_already_held_by_a_live_customer_and_writes_nothing(agent):
    # given
    first = person(agent, contact_points=[{"kind": "email", "value": "dup@example.com"}])
    before = Customer.objects.count()
    # when
    with pytest.raises(ValidationError) as error:
        person(agent, first="Other", contact_points=[{"kind": "email", "value": "DUP@example.com"}])
    # then
    assert str(first.pk) in str(error.value.message_dict)
    assert Customer.objects.count() == before


def test_it_rejects_an_invalid_phone_with_a_field_error(agent):
    with pytest.raises(ValidationError) as error:
        person(agent, contact_points=[{"kind": "phone", "value": "12"}])
    assert "contact_points.0.value" in error.value.message_dict
    assert not Customer.objects.exists()


def test_a_person_needs_a_name_and_an_organisation_its_name(agent):
    with pytest.raises(ValidationError) as error:
        services.customer_create(actor=agent, kind="person")
    assert "last_name" in error.value.message_dict
    with pytest.raises(ValidationError) as error:
        services.customer_create(actor=agent, kind="organisation", first_name="x")
    assert {"organisation_name", "first_name"} <= set(error.value.message_dict)


def test_update_with_a_stale_version_is_refused_and_writes_nothing(agent):
    customer = person(agent)
    services.customer_update(actor=agent, customer_id=customer.pk, expected_version=1, last_name="Byron")
    with pytest.raises(StaleVersion):
        services.customer_update(actor=agent, customer_id=customer.pk, expected_version=1, last_name="King")
    customer.refresh_from_db()
    assert (customer.last_name, customer.version) == ("Byron", 2)


def test_a_sales_rep_edits_own_and_team_customers_but_not_others(sales_rep, teammate, other_rep):
    # given
    mine = person(sales_rep)
    teams = person(teammate, first="Team")
    theirs = person(other_rep, first="Theirs")
    # when / then
    services.customer_update(actor=sales_rep, customer_id=mine.pk, expected_version=None, last_name="A")
    services.customer_update(actor=sales_rep, customer_id=teams.pk, expected_version=None, last_name="B")
    with pytest.raises(PermissionDenied):
        services.customer_update(actor=sales_rep, customer_id=theirs.pk, expected_version=None, last_name="C")
    theirs.refresh_from_db()
    assert theirs.last_name == "Lovelace"


def test_service_agents_edit_any_customer(agent, other_rep):
    customer = person(other_rep)
    updated = services.customer_update(
        actor=agent, customer_id=customer.pk, expected_version=None, lifecycle_stage="customer"
    )
    assert updated.lifecycle_stage == "customer"


def test_custom_attributes_are_validated_against_definitions(agent):
    # given
    CustomFieldDefinition.objects.create(
        key="industry", label="Industry", field_type=FieldType.CHOICE, choices=["Retail", "Food"]
    )
    CustomFieldDefinition.objects.create(
        key="employees", label="Employees", field_type=FieldType.NUMBER, required=True
    )
    # when
    with pytest.raises(ValidationError) as error:
        services.customer_create(
            actor=agent,
            kind="organisation",
            organisation_name="Acme",
            attributes={"industry": "Oil", "colour": "red"},
        )
    # then
    assert set(error.value.message_dict) == {
        "attributes.industry",
        "attributes.colour",
        "attributes.employees",
    }
    ok = services.customer_create(
        actor=agent,
        kind="organisation",
        organisation_name="Acme",
        attributes={"industry": "Food", "employees": "12"},
    )
    assert ok.attributes == {"industry": "Food", "employees": 12}


def test_consent_is_an_append_only_ledger_whose_latest_entry_wins(agent):
    customer = person(agent)
    consent_record(
        actor=agent,
        customer_id=customer.pk,
        channel="email",
        purpose="marketing",
        granted=True,
        source="web form",
    )
    consent_record(
        actor=agent,
        customer_id=customer.pk,
        channel="email",
        purpose="marketing",
        granted=False,
        source="phone call",
    )
    consent_record(
        actor=agent,
        customer_id=customer.pk,
        channel="sms",
        purpose="service",
        granted=True,
        source="phone call",
    )
    state = {(e.channel, e.purpose): e.granted for e in consent_state(customer=customer)}
    assert state == {("email", "marketing"): False, ("sms", "service"): True}
    assert ConsentEvent.objects.filter(customer=customer).count() == 3
    assert Activity.objects.filter(customer=customer, kind="consent").count() == 3
    event = ConsentEvent.objects.first()
    with pytest.raises(ValueError, match="append-only"):
        event.save()


def test_every_change_to_customer_data_is_audited_with_who(agent):
    # given: outside any request, so only the service can name the user
    customer = person(agent, contact_points=[{"kind": "email", "value": "ada@example.com"}])
    # when
    services.customer_update(
        actor=agent, customer_id=customer.pk, expected_version=1, lifecycle_stage="customer"
    )
    # then
    history = list(customer.history.order_by("history_date"))
    assert [h.history_type for h in history] == ["+", "~"]
    assert history[-1].lifecycle_stage == "customer"
    assert [h.history_user for h in history] == [agent, agent]
    assert ContactPoint.history.get(customer_id=customer.pk).history_user == agent


def test_a_system_write_is_audited_as_the_system_actor_with_no_user(agent):
    # given
    customer = person(agent)
    # when: the ERP's sync sets the customer number
    services.customer_update(
        actor=ERP_SYNC, customer_id=customer.pk, expected_version=None, erp_customer_number="C-9"
    )
    # then
    latest = customer.history.order_by("-history_date", "-history_id").first()
    assert latest.erp_customer_number == "C-9"
    assert latest.history_user is None
    assert latest.history_change_reason == "System (ERP sync)"


def test_contact_point_and_relationship_changes_name_who_made_them(agent):
    # given
    ada = person(agent, contact_points=[{"kind": "phone", "value": "+44 20 7946 0000"}])
    acme = services.customer_create(actor=agent, kind="organisation", organisation_name="Acme")
    phone = ada.contact_points.get()
    # when
    services.contact_point_remove(actor=MAINTENANCE, customer_id=ada.pk, contact_point_id=phone.pk)
    services.relationship_set(actor=agent, person_id=ada.pk, organisation_id=acme.pk, role="Buyer")
    services.relationship_set(actor=agent, person_id=ada.pk, organisation_id=acme.pk, role="CEO")
    # then
    removed = ContactPoint.history.get(id=phone.pk, history_type="-")
    assert (removed.history_user, removed.history_change_reason) == (None, "System (maintenance)")
    roles = Relationship.history.filter(person_id=ada.pk).order_by("history_date", "history_id")
    assert [(r.history_type, r.role, r.history_user) for r in roles] == [
        ("+", "Buyer", agent),
        ("~", "CEO", agent),
    ]


def test_a_customer_the_system_creates_is_owned_by_nobody_and_a_users_by_them(agent):
    # when
    by_the_system = services.customer_create(actor=ERP_SYNC, kind="person", last_name="Imported")
    by_a_user = services.customer_create(actor=agent, kind="person", last_name="Typed in")
    # then
    assert by_the_system.owner is None
    assert by_a_user.owner == agent


def _calls_without_actor(customer, organisation):
    return {
        "customer_create": lambda: services.customer_create(actor=None, kind="person", last_name="X"),
        "customer_update": lambda: services.customer_update(
            actor=None, customer_id=customer.pk, expected_version=None, last_name="X"
        ),
        "customer_delete": lambda: services.customer_delete(actor=None, customer_id=customer.pk),
        "contact_point_add": lambda: services.contact_point_add(
            actor=None, customer_id=customer.pk, data={"kind": "email", "value": "x@example.com"}
        ),
        "contact_point_remove": lambda: services.contact_point_remove(
            actor=None, customer_id=customer.pk, contact_point_id=customer.contact_points.get().pk
        ),
        "relationship_set": lambda: services.relationship_set(
            actor=None, person_id=customer.pk, organisation_id=organisation.pk
        ),
        "consent_record": lambda: consent_record(
            actor=None,
            customer_id=customer.pk,
            channel="email",
            purpose="marketing",
            granted=True,
            source="x",
        ),
        "activity_log": lambda: activity_log(actor=None, customer_id=customer.pk, kind="note", subject="x"),
        "activity_record": lambda: activity_record(
            actor=None, customer_id=customer.pk, kind="note", subject="x"
        ),
        "activity_record_many": lambda: activity_record_many(
            entries=[{"customer_id": customer.pk, "kind": "note", "subject": "x"}]
        ),
        "customer_merge": lambda: customer_merge(
            actor=None, survivor_id=organisation.pk, duplicate_id=customer.pk
        ),
    }


@pytest.mark.parametrize(
    "service",
    [
        "customer_create",
        "customer_update",
        "customer_delete",
        "contact_point_add",
        "contact_point_remove",
        "relationship_set",
        "consent_record",
        "activity_log",
        "activity_record",
        "activity_record_many",
        "customer_merge",
    ],
)
def test_no_customer_service_writes_without_being_told_who_acts(admin_user, service):
    # given
    customer = person(admin_user, contact_points=[{"kind": "phone", "value": "+44 20 7946 0000"}])
    organisation = services.customer_create(actor=admin_user, kind="organisation", organisation_name="Acme")
    before = (Customer.history.count(), Activity.objects.count(), ContactPoint.objects.count())
    # when / then
    with pytest.raises(MissingActor):
        _calls_without_actor(customer, organisation)[service]()
    assert (Customer.history.count(), Activity.objects.count(), ContactPoint.objects.count()) == before


def test_many_timeline_entries_are_written_in_one_insert_or_none_when_one_is_bad(
    agent, django_assert_num_queries
):
    # given
    ada, bob = person(agent), person(agent, first="Bob")
    entries = [
        {
            "customer_id": ada.pk,
            "kind": "quote_expired",
            "subject": "Quote Q-1 expired",
            "actor": SCHEDULER,
            "source_app": "sales",
        },
        {"customer_id": bob.pk, "kind": "quote_expired", "subject": "Quote Q-2 expired", "actor": agent},
    ]
    # when
    with django_assert_num_queries(1):
        written = activity_record_many(entries=entries)
    # then
    assert [(a.customer_id, a.subject) for a in written] == [
        (ada.pk, "Quote Q-1 expired"),
        (bob.pk, "Quote Q-2 expired"),
    ]
    assert Activity.objects.filter(kind="quote_expired").count() == 2
    assert Activity.objects.get(customer=bob, kind="quote_expired").actor == agent
    assert Activity.objects.get(customer=ada, kind="quote_expired").actor is None
    # and a bad entry stops the whole batch before anything is written
    with pytest.raises(ValidationError) as error:
        activity_record_many(entries=[entries[0], {**entries[1], "subject": " "}])
    assert "subject" in error.value.message_dict
    assert Activity.objects.filter(kind="quote_expired").count() == 2


@pytest.mark.parametrize("name", ["VIP", "Ëlan", "Straße", "Δέλτα"])
def test_a_tag_given_again_in_any_alphabet_is_the_same_tag_not_an_error(agent, name):
    # given: a customer tagged once (the database lowers the name for its unique index
    # with its own LOWER, which on SQLite folds ASCII only)
    first = person(agent, tags=[name])
    # when: another customer gets the same tag, as typed and in upper case
    second = person(agent, first="Grace", tags=[name])
    third = person(agent, first="Alan", tags=[name.upper()])
    # then: the one tag is reused each time it matches, and nothing fails
    tag = first.tags.get()
    assert second.tags.get() == tag
    assert Tag.objects.filter(name=name).count() == 1
    assert third.tags.count() == 1
