"""One FilterSet per model, used by the API, the pages and the KPIs alike."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any

import django_filters
from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import F, Q, QuerySet
from django.db.models.expressions import RawSQL
from django.db.models.functions import Collate
from django.utils.choices import CallableChoiceIterator

from customers.choices import CustomerKind, FieldType, LifecycleStage
from customers.models import Activity, ContactPoint, Customer, CustomFieldDefinition, Tag
from customers.normalise import phone_search_key
from customers.timeline_kinds import kind_choices
from frontoffice.filters import IdFilter, IsoDateTimeFilter

# What lists may be sorted by (API `ordering=` and the page's sort links).
CUSTOMER_ORDERINGS = ("display_name", "created_at", "updated_at", "lifecycle_stage")
ATTRIBUTE_PREFIX = "attr."
# Custom attribute keys are slugs (see CustomFieldDefinition.key); anything else in
# `attr.<key>` cannot name one, and must not reach a query (a NUL would on PostgreSQL).
_attribute_key = re.compile(r"[a-z][a-z0-9_]{0,49}")


_phone_like = re.compile(r"[\d\s+().\-/]+")


def phone_fragment(value: str) -> str | None:
    """The digits to look for when `value` reads as (part of) a phone number in any
    format: "+44 20 7946", "020 7946 0000", "79460000", "(0)20-7946"; None otherwise.

    Stored phones are E.164 ("+442079460000"), so an international prefix ("00") and a
    national trunk zero are dropped: what is left is a run of digits of the E.164 form.
    """
    if not _phone_like.fullmatch(value):
        return None
    digits = re.sub(r"\D", "", value)
    if digits.startswith("00") and len(digits) > 8:
        digits = digits[2:]  # "0044 20 ...": the international prefix
    elif digits.startswith("0") and len(digits) >= 6:
        digits = digits[1:]  # "020 7946 ...": the national trunk prefix
    return digits if len(digits) >= 3 else None


def contains_q(model: Any, field: str, text: str, lookup: str) -> Q:
    """`field` of `model` contains `text`: `field__<lookup>` (a trigram index answers it
    on PostgreSQL), and on SQLite the FTS5 trigram table beside the model's table
    (migration 0010), which ignores case like SQLite's LIKE; it needs 3 characters."""
    if connection.vendor != "sqlite" or len(text) < 3:
        return Q(**{f"{field}__{lookup}": text})
    fts = f"{model._meta.db_table}_{field}_trgm"
    phrase = '"' + text.replace('"', '""') + '"'
    query = f'SELECT rowid FROM "{fts}" WHERE "{fts}" MATCH %s'  # noqa: S608 - names from the model
    return Q(pk__in=RawSQL(query, [phrase]))  # noqa: S611 - the text is a parameter


def search_customers(queryset: QuerySet, value: str) -> QuerySet:
    """The search box and the lists' `q`, routed by what was typed, so that each kind
    of input reads one index instead of every row:

    - something like a phone number, in any format, or its last digits: a whole number
      someone has, by its E.164 form (`kind, value` index); otherwise the digits within
      the stored E.164 phones (trigram index on PostgreSQL);
    - something with an `@`: an e-mail address from its start ("ada.l@ex"), read as a
      range of the address index; or, starting with the `@`, the addresses at a
      domain ("@example": a fragment of the stored e-mails, trigram index);
    - anything else: a part of the name, or each of its words in any order, in any
      case (trigram index on PostgreSQL).
    """
    value = (value or "").strip()[:200]
    if not value:
        return queryset
    digits = phone_fragment(value)
    if digits is not None:
        exact = phone_search_key(value)
        if exact and ContactPoint.objects.filter(kind="phone", value=exact).exists():
            # A whole number someone has: that number (the `kind, value` index), not
            # every phone sharing its digits' trigrams (10 ms at a million customers).
            match = Q(value=exact)
        else:
            within = contains_q(ContactPoint, "value", digits, "contains")
            match = within | Q(value=exact) if exact else within
        phones = ContactPoint.objects.filter(match, kind="phone")
        return queryset.filter(pk__in=phones.values("customer_id"))
    if "@" in value:
        return queryset.filter(pk__in=email_matches(value).values("customer_id"))
    # Every word typed, in any order: "Wells Lynda" finds Lynda Wells.
    words = value.split()[:MAX_NAME_WORDS]
    name = contains_q(Customer, "display_name", value, "ilike")
    if len(words) > 1:
        every_word = Q()
        for word in words:
            every_word &= contains_q(Customer, "display_name", word, "ilike")
        name |= every_word
    return queryset.filter(name)


MAX_NAME_WORDS = 6


def email_prefix(value: str) -> str | None:
    """The start of an address to look for when `value` reads as one ("ada.l@ex",
    lower-cased as e-mails are stored); None for anything else, a domain ("@ex") too."""
    value = (value or "").strip()[:200].lower()
    return value if "@" in value[1:] else None


def email_matches(value: str) -> QuerySet[ContactPoint]:
    """The e-mail contact points `value` (with an `@`) finds: those starting with it,
    or with `@` first, those containing it."""
    prefix = email_prefix(value)
    if prefix is not None:
        return (
            ContactPoint.objects.filter(kind="email")
            .alias(address=email_address_order())
            .filter(address__gte=prefix, address__lt=_just_after(prefix))
        )
    text = value.strip()[:200].lower()
    return ContactPoint.objects.filter(contains_q(ContactPoint, "value", text, "contains"), kind="email")


def _just_after(text: str) -> str:
    """The least text above every text that starts with `text`, in code point (UTF-8
    byte) order: its last character's successor, past the surrogates that no stored
    text holds, and past U+10FFFF (which nothing follows) to the character before it."""
    last = len(text) - 1
    while last > 0 and text[last] == "\U0010ffff":
        last -= 1
    following = ord(text[last]) + 1
    if 0xD800 <= following <= 0xDFFF:
        following = 0xE000
    return text[:last] + chr(min(following, 0x10FFFF))


def email_address_order() -> Any:
    """The stored e-mail as the address index orders it: byte order ("C" on PostgreSQL,
    migration 0014; SQLite compares bytes already), so that the addresses starting with
    a text are one range of it, read in order."""
    if connection.vendor == "postgresql":
        return Collate("value", "C")
    return F("value")


TAG_MAX_LENGTH = 50  # customers.Tag.name


def _tags_fit(value: str) -> None:
    """Each comma-separated tag could be one: a longer one is refused, not silently unmatched."""
    for tag in value.split(","):
        if len(tag.strip()) > TAG_MAX_LENGTH:
            raise ValidationError(f"A tag has at most {TAG_MAX_LENGTH} characters.")


class CustomerFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(method="filter_q", max_length=200, label="Search")
    kind = django_filters.ChoiceFilter(choices=CustomerKind.choices)
    lifecycle_stage = django_filters.ChoiceFilter(choices=LifecycleStage.choices)
    tag = django_filters.CharFilter(
        method="filter_tag",
        max_length=500,
        validators=[_tags_fit],
        help_text="A tag, or several separated by commas (customers with any of them); any case.",
    )
    owner = IdFilter(field_name="owner_id", label="Owner (user id)")
    created_after = IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = IsoDateTimeFilter(field_name="created_at", lookup_expr="lt")
    updated_after = IsoDateTimeFilter(field_name="updated_at", lookup_expr="gte")
    updated_before = IsoDateTimeFilter(field_name="updated_at", lookup_expr="lt")

    class Meta:
        model = Customer
        fields = ["q", "kind", "lifecycle_stage", "tag", "owner"]

    def filter_q(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return search_customers(queryset, value)

    def filter_tag(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        names = [n.strip() for n in value.split(",") if n.strip()][:20]
        if not names:
            return queryset
        wanted = Q()
        for tag in names:
            wanted |= Q(name__iexact=tag)
        # Through a subquery, not a join: a customer with two of the tags is listed once.
        tagged = Customer.tags.through.objects.filter(tag__in=Tag.objects.filter(wanted))
        return queryset.filter(pk__in=tagged.values("customer_id"))

    def filter_queryset(self, queryset: QuerySet) -> QuerySet:
        queryset = super().filter_queryset(queryset)
        wanted = {
            key[len(ATTRIBUTE_PREFIX) :]: value
            for key, value in self.data.items()
            if isinstance(key, str) and key.startswith(ATTRIBUTE_PREFIX)
        }
        if not wanted:
            return queryset
        if not all(_attribute_key.fullmatch(key) for key in wanted):
            return queryset.none()  # no definition can have such a key
        definitions = {d.key: d for d in CustomFieldDefinition.objects.filter(key__in=list(wanted))}
        for key, raw in wanted.items():
            definition = definitions.get(key)
            if definition is None:
                return queryset.none()  # an unknown attribute matches nothing
            value = _attribute_value(definition.field_type, raw)
            if value is None:
                return queryset.none()
            queryset = queryset.filter(**{f"attributes__{key}": value})
        return queryset


def _attribute_value(field_type: str, raw: Any) -> Any:
    if isinstance(raw, list):  # QueryDict.items() gives the last value; be safe
        raw = raw[-1] if raw else ""
    raw = str(raw)[:200]
    if "\x00" in raw:
        return None  # stored values never hold one (attributes.py refuses it)
    if field_type == FieldType.NUMBER:
        try:
            number = Decimal(raw)
        except InvalidOperation:
            return None
        if not number.is_finite():
            return None
        return int(number) if number == number.to_integral_value() else float(number)
    if field_type == FieldType.BOOLEAN:
        return {"true": True, "false": False}.get(raw.lower())
    return raw


class TimelineFilter(django_filters.FilterSet):
    """One customer's timeline (the 360 page, the customer's timeline endpoints): by kind,
    one of the kinds the apps declare in their hooks; anything else is refused.

    The choices are read when the filter is used (the hooks load after this module),
    and spelled out in the OpenAPI schema.
    """

    kind = django_filters.ChoiceFilter(
        choices=CallableChoiceIterator(kind_choices),
        label="Show",
        empty_label="All kinds",
        help_text="A kind of timeline entry, as the apps declare them.",
    )


class ActivityFilter(TimelineFilter):
    """The timeline across customers (/api/v1/activities/)."""

    customer = IdFilter(field_name="customer_id")
    source_app = django_filters.CharFilter(max_length=30)
    occurred_after = IsoDateTimeFilter(field_name="occurred_at", lookup_expr="gte")
    occurred_before = IsoDateTimeFilter(field_name="occurred_at", lookup_expr="lt")

    class Meta:
        model = Activity
        fields = ["customer", "kind", "source_app"]
