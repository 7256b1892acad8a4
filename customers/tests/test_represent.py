"""`frontoffice.serializers.represent`: the same output as a serializer's `.data`, with
each serializer class's fields built once."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import zoneinfo
from typing import Any
from unittest import mock

import pytest
from django.utils import timezone
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


class _Odd(serializers.Serializer[Any]):
    """Fields whose reading is not one plain attribute: each goes through DRF's lookup."""

    name = serializers.CharField()
    shout = serializers.CharField(source="upper")  # a method: DRF calls it
    nick = serializers.CharField(required=False)  # missing: left out
    age = serializers.IntegerField(default=7)  # missing: the default
    note = serializers.CharField(allow_null=True)  # missing: None
    owner_name = serializers.CharField(source="owner.name", allow_null=True)  # dotted
    whole = serializers.SerializerMethodField()

    def get_whole(self, obj: Any) -> str:
        return type(obj).__name__


class _Row:
    def __init__(self, name: str, owner: Any = None, **extra: Any) -> None:
        self.name, self.owner = name, owner
        self.__dict__.update(extra)

    def upper(self) -> str:
        return self.name.upper()


def test_rows_read_as_drf_reads_them_whatever_the_field() -> None:
    owner = _Row("Grace")
    rows = [
        _Row("Ada", owner=owner, nick="A", age=36, note="n"),
        _Row("Bob"),
        _Row("Cy", owner=None, age=None),
    ]
    dict_rows = [
        {"name": "Di", "upper": "DI", "owner": {"name": "Eve"}, "age": 3},
        {"name": "Fa", "upper": "FA"},
    ]
    for data in (rows, dict_rows):
        assert _json(represent(_Odd, data, many=True)) == _json(_Odd(data, many=True).data)
        for row in data:
            assert _json(represent(_Odd, row)) == _json(_Odd(row).data)
    assert represent(_Odd, rows[1]) == {
        "name": "Bob",
        "shout": "BOB",
        "age": 7,
        "note": None,
        "owner_name": None,
        "whole": "_Row",
    }


class _Times(serializers.Serializer[Any]):
    at = serializers.DateTimeField()
    in_tokyo = serializers.DateTimeField(source="at", default_timezone=zoneinfo.ZoneInfo("Asia/Tokyo"))


def test_date_times_are_given_in_the_time_zone_current_at_each_call() -> None:
    # given: a moment, and a serializer whose fields are built once
    row = {"at": dt.datetime(2026, 7, 1, 12, 30, tzinfo=dt.UTC)}
    seen = []
    # when: represented under one time zone, then another, then the default again
    for zone in ("Europe/Paris", "America/New_York", None):
        with timezone.override(zone) if zone else contextlib.nullcontext():
            seen.append(represent(_Times, row))
            # then: each time what DRF answers under that zone; a field's own zone kept
            assert seen[-1] == _Times(row).data
    assert [s["at"] for s in seen] == [
        "2026-07-01T14:30:00+02:00",
        "2026-07-01T08:30:00-04:00",
        "2026-07-01T12:30:00Z",
    ]
    assert {s["in_tokyo"] for s in seen} == {"2026-07-01T21:30:00+09:00"}
