"""`frontoffice.serializers.represent`: the same output as a serializer's `.data`, with
each serializer class's fields built once."""

from __future__ import annotations

import json
from typing import Any
from unittest import mock

import pytest
from rest_framework import serializers
from rest_framework.renderers import JSONRenderer

from customers import services
from customers.api_serializers import ConsentEventSerializer, ContactPointSerializer, CustomerSerializer
from customers.api_timeline import ActivitySerializer
from customers.models import Activity, Customer
from customers.timeline import activity_log
from frontoffice.serializers import represent

pytestmark = pytest.mark.django_db


def _json(value: Any) -> bytes:
    return JSONRenderer().render(value)


class _Greeting(serializers.Serializer[Any]):
    name = serializers.CharField()
    greeting = serializers.SerializerMethodField()

    def get_greeting(self, obj: Any) -> str:
        return f"{self.context.get('word', 'Hello')} {obj['name']}"


def test_it_answers_what_data_answers_for_one_row_and_for_many(agent: Any) -> None:
    # given: a customer with tags, contact points and timeline entries
    customer = services.customer_create(
        actor=agent,
        kind="person",
        first_name="Ada",
        last_name="Lovelace",
        tags=["vip", "b2c"],
        contact_points=[{"kind": "email", "value": "ada@example.com", "is_primary": True}],
    )
    for n in range(3):
        activity_log(actor=agent, customer_id=customer.pk, kind="note", subject=f"Note {n}")
    customer = Customer.objects.prefetch_related("tags", "contact_points").get(pk=customer.pk)
    entries = list(Activity.objects.filter(customer=customer).select_related("actor"))
    contacts = list(customer.contact_points.all())
    # when / then: the same bytes, first call and later ones alike
    for _ in range(2):
        assert _json(represent(CustomerSerializer, customer)) == _json(CustomerSerializer(customer).data)
        assert _json(represent(ActivitySerializer, entries, many=True)) == _json(
            ActivitySerializer(entries, many=True).data
        )
        assert _json(represent(ContactPointSerializer, contacts, many=True)) == _json(
            ContactPointSerializer(contacts, many=True).data
        )
        assert represent(ConsentEventSerializer, [], many=True) == []
    assert json.loads(_json(represent(CustomerSerializer, customer)))["tags"] == ["b2c", "vip"]


def test_it_builds_a_serializers_fields_once_and_uses_each_calls_context() -> None:
    # given: a first call of each shape has built the fields
    assert represent(_Greeting, {"name": "Ada"}) == {"name": "Ada", "greeting": "Hello Ada"}
    assert represent(_Greeting, [], many=True) == []
    # when: the fields may not be built again
    with mock.patch.object(_Greeting, "get_fields", side_effect=AssertionError("built again")):
        one = represent(_Greeting, {"name": "Bob"}, context={"word": "Hi"})
        many = represent(_Greeting, [{"name": "Cy"}], many=True, context={"word": "Hey"})
        again = represent(_Greeting, {"name": "Di"})
    # then: each call with its own context, none left behind
    assert one == {"name": "Bob", "greeting": "Hi Bob"}
    assert many == [{"name": "Cy", "greeting": "Hey Cy"}]
    assert again == {"name": "Di", "greeting": "Hello Di"}
