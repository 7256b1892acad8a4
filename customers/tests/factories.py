from __future__ import annotations

import factory
from factory.django import DjangoModelFactory

from customers.choices import ContactKind, CustomerKind
from customers.models import Activity, ContactPoint, Customer
from customers.normalise import name_key


class PersonFactory(DjangoModelFactory[Customer]):
    """A person, saved directly; use the services where invariants are under test."""

    class Meta:
        model = Customer
        skip_postgeneration_save = True

    kind = CustomerKind.PERSON
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    display_name = factory.LazyAttribute(lambda o: f"{o.first_name} {o.last_name}")
    name_key = factory.LazyAttribute(lambda o: name_key(o.display_name))


class OrganisationFactory(DjangoModelFactory[Customer]):
    class Meta:
        model = Customer
        skip_postgeneration_save = True

    kind = CustomerKind.ORGANISATION
    organisation_name = factory.Faker("company")
    display_name = factory.LazyAttribute(lambda o: o.organisation_name)
    name_key = factory.LazyAttribute(lambda o: name_key(o.display_name))


class EmailFactory(DjangoModelFactory[ContactPoint]):
    class Meta:
        model = ContactPoint

    customer = factory.SubFactory(PersonFactory)
    kind = ContactKind.EMAIL
    value = factory.Sequence(lambda n: f"person{n}@example.com")
    is_primary = False


class ActivityFactory(DjangoModelFactory[Activity]):
    class Meta:
        model = Activity

    customer = factory.SubFactory(PersonFactory)
    kind = "note"
    subject = factory.Faker("sentence", nb_words=5)
    source_app = "customers"
    occurred_at = factory.Faker("date_time_this_year", tzinfo=__import__("datetime").UTC)
