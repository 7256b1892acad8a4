"""`manage.py seed_demo --customers N`: realistic, deterministic demo data, fast.

Organisations (some of them subsidiaries of groups), people (three in four customers,
most of them members of organisations with a role), contact points, tags, custom
attributes, the consent ledger and timelines over the past two years, owned by demo
staff in every role, plus a handful of deliberate duplicates for the duplicates page.

Speed (100,000 customers well under two minutes on SQLite): names and addresses come
from pools that Faker fills once; a seeded `random.Random` draws from them; rows go in
with `executemany`, a chunk of customers at a time, in one transaction. Bulk inserts
bypass the services and the audit history on purpose: this is seed data, and the
invariants the services keep (lower-case e-mails, valid E.164 phones, one primary per
kind, unique primary e-mails, valid custom attributes, the consent line on the
timeline) are kept here by construction and checked by the tests.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import re
import time
import unicodedata
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import phonenumbers
from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection, models, transaction
from django.db.models.functions import Lower
from django.utils import timezone
from faker import Faker

from customers.choices import (
    ActivityKind,
    AppliesTo,
    ConsentChannel,
    ConsentPurpose,
    ContactKind,
    ContactLabel,
    CustomerKind,
    FieldType,
    LifecycleStage,
)
from customers.models import (
    Activity,
    ConsentEvent,
    ContactPoint,
    Customer,
    CustomFieldDefinition,
    Relationship,
    Tag,
)
from customers.normalise import name_key
from frontoffice.management.commands.create_demo_admin import DEMO_PASSWORD
from frontoffice.models import Team, User
from frontoffice.roles import Role

CHUNK = 2000  # customers per round of inserts: bounds memory whatever N is
BATCH = 5000  # rows per executemany call
DAY_SECONDS = 86400
TIMELINE_DAYS = 730
MOBILE = phonenumbers.PhoneNumberType.MOBILE
FIXED_LINE = phonenumbers.PhoneNumberType.FIXED_LINE


# --- the fixed vocabulary ------------------------------------------------------------


@dataclass(frozen=True)
class Country:
    code: str
    locale: str
    weight: int
    language: str
    legal_forms: tuple[str, ...]


COUNTRIES = (
    Country("GB", "en_GB", 8, "en", ("Ltd", "Ltd", "PLC", "Limited")),
    Country("DE", "de_DE", 4, "de", ("GmbH", "GmbH", "AG", "KG")),
    Country("FR", "fr_FR", 3, "fr", ("SARL", "SA", "SAS")),
    Country("NL", "nl_NL", 2, "nl", ("BV", "BV", "NV")),
    Country("US", "en_US", 3, "en", ("Inc", "LLC", "Corp")),
)
SUBSIDIARY_SUFFIX = {"GB": "UK", "DE": "Deutschland", "FR": "France", "NL": "Nederland", "US": "USA"}

# (industry choice, the word an organisation of that industry puts in its name, per language)
SECTORS = (
    ("Logistics", {"en": "Logistics", "de": "Logistik", "fr": "Logistique", "nl": "Logistiek"}),
    ("Manufacturing", {"en": "Engineering", "de": "Maschinenbau", "fr": "Industrie", "nl": "Techniek"}),
    ("Food & beverage", {"en": "Foods", "de": "Feinkost", "fr": "Alimentaire", "nl": "Voeding"}),
    ("Healthcare", {"en": "Medical", "de": "Medizintechnik", "fr": "Santé", "nl": "Zorg"}),
    ("Software", {"en": "Software", "de": "Software", "fr": "Informatique", "nl": "Software"}),
    ("Retail", {"en": "Stores", "de": "Handel", "fr": "Distribution", "nl": "Winkels"}),
    ("Construction", {"en": "Construction", "de": "Bau", "fr": "Bâtiment", "nl": "Bouw"}),
    ("Energy", {"en": "Energy", "de": "Energie", "fr": "Énergie", "nl": "Energie"}),
    ("Wholesale", {"en": "Supplies", "de": "Großhandel", "fr": "Fournitures", "nl": "Groothandel"}),
    ("Professional services", {"en": "Consulting", "de": "Beratung", "fr": "Conseil", "nl": "Advies"}),
    ("Chemicals", {"en": "Chemicals", "de": "Chemie", "fr": "Chimie", "nl": "Chemie"}),
    ("Packaging", {"en": "Packaging", "de": "Verpackung", "fr": "Emballage", "nl": "Verpakking"}),
)
INDUSTRIES = [industry for industry, _ in SECTORS] + ["Public sector"]
LANGUAGES = ["en", "de", "fr", "nl"]

FIELD_DEFINITIONS = (
    {
        "key": "industry",
        "label": "Industry",
        "field_type": FieldType.CHOICE,
        "choices": INDUSTRIES,
        "applies_to": AppliesTo.ORGANISATION,
    },
    {
        "key": "employees",
        "label": "Employees",
        "field_type": FieldType.NUMBER,
        "applies_to": AppliesTo.ORGANISATION,
    },
    {
        "key": "renewal_date",
        "label": "Contract renewal",
        "field_type": FieldType.DATE,
        "applies_to": AppliesTo.ORGANISATION,
        "help_text": "When the current contract is up for renewal.",
    },
    {
        "key": "preferred_language",
        "label": "Preferred language",
        "field_type": FieldType.CHOICE,
        "choices": LANGUAGES,
        "applies_to": AppliesTo.PERSON,
    },
)

TAGS = (
    "VIP",
    "Key account",
    "Newsletter",
    "Partner",
    "Reseller",
    "Trade fair",
    "Churn risk",
    "Public sector",
)

ROLES_IN_ORGANISATION = (
    "Buyer",
    "Buyer",
    "Purchasing manager",
    "CEO",
    "Managing director",
    "CFO",
    "Accounts payable",
    "Accounts payable",
    "Office manager",
    "IT lead",
    "Head of logistics",
    "Quality manager",
    "Operations director",
)

# (username, first name, last name, role, team)
STAFF = (
    ("sales1", "Sarah", "Mitchell", Role.SALES, "North sales"),
    ("sales2", "Daniel", "Okafor", Role.SALES, "North sales"),
    ("sales3", "Lena", "Vogel", Role.SALES, "South sales"),
    # Above the teams: works on every team's deals and approves discounts.
    ("manager1", "Grace", "Adeyemi", Role.SALES_MANAGER, None),
    ("agent1", "Tom", "Becker", Role.SERVICE_AGENT, None),
    ("supervisor1", "Priya", "Shah", Role.SERVICE_SUPERVISOR, None),
    ("marketing1", "Chloé", "Martin", Role.MARKETING, None),
    ("backoffice1", "Jan", "de Vries", Role.BACK_OFFICE, None),
)

# Reserved example domains (RFC 2606): demo e-mails can never reach a real person.
PERSONAL_DOMAINS = ("mail.example.net", "example.org", "post.example.com", "inbox.example.net")

TOPICS = (
    "the annual maintenance contract",
    "a quote for 40 units",
    "delivery delays",
    "the new price list",
    "an open invoice",
    "onboarding their new buyer",
    "the contract renewal",
    "a product demo",
    "payment terms",
    "a damaged shipment",
    "volume discounts",
    "the service level agreement",
    "spare parts availability",
    "our stand at the trade fair",
    "a reference visit",
    "the framework agreement",
    "a return of faulty goods",
    "next year's forecast",
)
SUBJECTS = {
    ActivityKind.CALL: ("Call about {topic}", "Follow-up call on {topic}", "Returned their call: {topic}"),
    ActivityKind.EMAIL: ("Re: {topic}", "Sent details on {topic}", "Question about {topic}"),
    ActivityKind.MEETING: ("Meeting on {topic}", "Visit in {city}: {topic}", "Quarterly review"),
    ActivityKind.NOTE: ("Note on {topic}", "Reminder: {topic}", "Internal note: {topic}"),
}
SENTENCES = (
    "They asked for a written offer by the end of the week.",
    "Agreed to follow up after their budget meeting.",
    "The decision maker is away until next month.",
    "Happy with the last delivery; wants the same terms again.",
    "Complained about the lead time; promised to check with logistics.",
    "Sent the brochure and the current price list.",
    "They compare us with two other suppliers.",
    "Payment is usually late by about two weeks.",
    "Interested in the extended warranty.",
    "Wants a call back on Tuesday morning.",
    "Asked for a contact in accounts payable.",
    "Budget approved for the next quarter.",
    "Needs the certificates before ordering.",
    "Prefers e-mail over phone.",
    "Will introduce us to their sister company.",
)
CONSENT_SOURCES = ("Web form", "Trade fair", "Customer portal", "Phone call", "Import 2023")

# What `customers.services.consent_record` writes on the timeline.
CONSENT_SUBJECTS = {
    (
        channel,
        purpose,
        granted,
    ): f"{'Granted' if granted else 'Withdrew'} {purpose.label.lower()} by {channel.label}"
    for channel in ConsentChannel
    for purpose in ConsentPurpose
    for granted in (True, False)
}

# Weighted draws as bags: random.choice over a list is much cheaper than random.choices.
COUNTRY_BAG = [country for country in COUNTRIES for _ in range(country.weight)]
ORGANISATION_STAGES = (
    [LifecycleStage.PROSPECT] * 7 + [LifecycleStage.CUSTOMER] * 11 + [LifecycleStage.FORMER] * 2
)
PERSON_STAGES = [LifecycleStage.PROSPECT] * 5 + [LifecycleStage.CUSTOMER] * 4 + [LifecycleStage.FORMER]
ACTIVITY_KINDS = (
    [ActivityKind.NOTE] * 5 + [ActivityKind.CALL] * 7 + [ActivityKind.EMAIL] * 6 + [ActivityKind.MEETING] * 2
)
ACTIVITY_COUNTS = [0] * 22 + [1] * 22 + [2] * 20 + [3] * 15 + [4] * 12 + [6] * 9
ORGANISATION_SIZES = (4, 8, 15, 30, 60, 120, 250, 500, 1200, 5000, 20000)
WORKING_SECONDS = [hour * 3600 + minute * 60 for hour in range(8, 18) for minute in (0, 15, 30, 45)]


# --- small helpers ----------------------------------------------------------------------


@lru_cache(maxsize=50000)
def ascii_slug(text: str, sep: str = ".") -> str:
    folded = unicodedata.normalize("NFKD", text.replace("ß", "ss"))
    folded = "".join(ch for ch in folded if not unicodedata.combining(ch)).lower()
    return re.sub(r"[^a-z0-9]+", sep, folded).strip(sep)


def address_value(street: str, postal_code: str, city: str, region: str, country: str) -> str:
    """The one-line form `customers.services` stores for an address."""
    parts = (street, f"{postal_code} {city}".strip(), region, country)
    return ", ".join(part for part in parts if part)[:320]


@contextmanager
def sqlite_page_cache(kib: int = 256 * 1024) -> Iterator[None]:
    """A bigger SQLite page cache for this connection while seeding: the indexes on
    e-mails and names take inserts all over the file, and with the default 2 MB cache
    most of those become reads."""
    if connection.vendor != "sqlite":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA cache_size")
        (previous,) = cursor.fetchone()
        cursor.execute(f"PRAGMA cache_size = -{int(kib)}")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"PRAGMA cache_size = {int(previous)}")


def insert_rows(model: type[models.Model], fields: Sequence[str], rows: list[tuple[Any, ...]]) -> None:
    """INSERT with executemany.

    `bulk_create` builds a model instance and runs the SQL compiler for every value:
    measured here it made 100,000 customers take 3.5 minutes instead of about one.
    Rows must already be in database form: ids, texts, booleans, JSON text and
    `DemoSeeder.db_time` timestamps.
    """
    if not rows:
        return
    quote = connection.ops.quote_name
    columns = ", ".join(quote(model._meta.get_field(name).column) for name in fields)
    placeholders = ", ".join(["%s"] * len(fields))
    # Names come from the model, values go in as parameters.
    sql = f"INSERT INTO {quote(model._meta.db_table)} ({columns}) VALUES ({placeholders})"  # noqa: S608
    with connection.cursor() as cursor:
        for start in range(0, len(rows), BATCH):
            cursor.executemany(sql, rows[start : start + BATCH])


def refresh_planner_statistics() -> None:
    """ANALYZE after the bulk load (well under a second for 100,000 customers).

    Without statistics SQLite reads "live customers, newest first" through the
    `merged_into` index and sorts all of them (about 100 ms a page at 100,000
    customers) instead of walking the `created_at` index (under 1 ms).
    """
    tables = [m._meta.db_table for m in (Customer, ContactPoint, Relationship, ConsentEvent, Activity)]
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("ANALYZE")
        else:
            cursor.execute("ANALYZE " + ", ".join(connection.ops.quote_name(t) for t in tables))


CUSTOMER_COLUMNS = (
    "kind",
    "first_name",
    "last_name",
    "organisation_name",
    "display_name",
    "name_key",
    "parent",
    "lifecycle_stage",
    "owner",
    "attributes",
    "erp_customer_number",
    "version",
    "created_at",
    "updated_at",
)
CONTACT_POINT_COLUMNS = (
    "customer",
    "kind",
    "label",
    "value",
    "is_primary",
    "street",
    "postal_code",
    "city",
    "region",
    "country",
    "created_at",
    "updated_at",
)
RELATIONSHIP_COLUMNS = ("person", "organisation", "role", "is_primary_contact", "created_at", "updated_at")
CONSENT_COLUMNS = (
    "customer",
    "channel",
    "purpose",
    "granted",
    "source",
    "occurred_at",
    "actor",
    "note",
    "created_at",
)
ACTIVITY_COLUMNS = (
    "customer",
    "kind",
    "occurred_at",
    "actor",
    "source_app",
    "subject",
    "body",
    "ref_type",
    "ref_id",
    "payload",
    "created_at",
)


# --- what gets inserted ---------------------------------------------------------------


@dataclass(frozen=True)
class Pool:
    """Names and addresses of one country, drawn from Faker once."""

    first_names: tuple[str, ...]
    last_names: tuple[str, ...]
    streets: tuple[str, ...]
    places: tuple[tuple[str, str, str], ...]  # postal code, city, region
    cities: tuple[str, ...]


# A contact point before it has a customer: kind, label, value, is_primary, street,
# postal code, city, region, country.
Contact = tuple[str, str, str, bool, str, str, str, str, str]


@dataclass(slots=True)
class Spec:
    """A customer to insert and what hangs off it; times in epoch seconds."""

    kind: str
    country: Country
    display_name: str
    lifecycle_stage: str
    owner_id: int | None
    created: int
    updated: int
    first_name: str = ""
    last_name: str = ""
    organisation_name: str = ""
    parent_id: int | None = None
    attributes: dict[str, Any] = field(default_factory=dict)
    erp_customer_number: str | None = None
    contacts: list[Contact] = field(default_factory=list)
    tags: list[int] = field(default_factory=list)
    memberships: list[tuple[int, str]] = field(default_factory=list)  # (organisation id, role)
    activities: int = 0
    domain: str = ""
    pk: int | None = None

    def primary(self, kind: str) -> str | None:
        return next((c[2] for c in self.contacts if c[0] == kind and c[3]), None)


@dataclass
class Totals:
    customers: int = 0
    organisations: int = 0
    subsidiaries: int = 0
    people: int = 0
    duplicates: int = 0
    relationships: int = 0
    contact_points: int = 0
    tags: int = 0
    consents: int = 0
    activities: int = 0


def email_contact(value: str, label: str, primary: bool) -> Contact:
    return (ContactKind.EMAIL, label, value, primary, "", "", "", "", "")


def phone_contact(value: str, label: str, primary: bool) -> Contact:
    return (ContactKind.PHONE, label, value, primary, "", "", "", "", "")


# --- the generator ----------------------------------------------------------------------


class DemoSeeder:
    """Draws customers from a seeded random generator and inserts them in chunks.

    Uniqueness (e-mails, phones, names, domains, ERP numbers) is tracked in memory,
    starting from what the database already holds, so that a seed on a non-empty
    database adds customers instead of failing on a constraint.
    """

    def __init__(self, *, seed: int, now: dt.datetime, staff: list[int], tag_ids: dict[str, int]) -> None:
        self.rng = random.Random(seed)
        self.now = now
        self.now_ts = int(now.timestamp())
        self.staff = staff
        self.tag_ids = tag_ids
        self.totals = Totals()
        self.pools = {c.code: self._pool(c, seed + index) for index, c in enumerate(COUNTRIES)}
        self.activity_texts = self._activity_texts()
        self.used_emails = set(
            ContactPoint.objects.filter(kind=ContactKind.EMAIL).values_list("value", flat=True)
        )
        self.used_phones = set(
            ContactPoint.objects.filter(kind=ContactKind.PHONE).values_list("value", flat=True)
        )
        self.used_name_keys = set(Customer.objects.values_list("name_key", flat=True))
        self.used_domains: set[str] = set()
        self.used_erp_numbers = set(
            Customer.objects.exclude(erp_customer_number=None).values_list("erp_customer_number", flat=True)
        )
        self.erp_sequence = 100000
        self.phone_prefixes = self._phone_prefixes()
        self.organisations: list[Spec] = []  # inserted ones, for people to belong to
        self.has_primary_contact: set[int] = set()
        self.db_time = self._db_time_adapter()

    # -- set-up -------------------------------------------------------------------------

    @staticmethod
    def _db_time_adapter() -> Any:
        """Epoch seconds -> what a raw INSERT takes for a DateTimeField: on SQLite the
        naive UTC text Django itself stores, elsewhere an aware datetime."""
        if connection.vendor == "sqlite":
            return lambda ts: time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(ts))
        return lambda ts: dt.datetime.fromtimestamp(ts, dt.UTC)

    @staticmethod
    @lru_cache(maxsize=32)
    def _pool(country: Country, seed: int) -> Pool:
        """Cached: the same seed gives the same pool, and Faker is the slow part of a small seed."""
        fake = Faker(country.locale)
        fake.seed_instance(seed)
        # Sorted sets: the order must not depend on string hashing, or runs would differ.
        first = tuple(sorted({fake.first_name() for _ in range(1500)}))
        last = tuple(sorted({fake.last_name() for _ in range(1500)}))
        streets = tuple(sorted({fake.street_address().replace("\n", ", ") for _ in range(800)}))
        places = tuple(
            (fake.postcode(), fake.city(), fake.state_abbr() if country.code == "US" else "")
            for _ in range(500)
        )
        return Pool(first, last, streets, places, tuple(sorted({city for _, city, _ in places})))

    def _activity_texts(self) -> dict[str, list[tuple[str, str, str]]]:
        """(subject, body, payload JSON) variants per kind, drawn once."""
        cities = sorted({city for pool in self.pools.values() for city in pool.cities})
        texts: dict[str, list[tuple[str, str, str]]] = {}
        for kind in sorted(set(ACTIVITY_KINDS)):
            variants = []
            for _ in range(1500):
                template = self.rng.choice(SUBJECTS[kind])
                subject = template.format(topic=self.rng.choice(TOPICS), city=self.rng.choice(cities))
                sentences = self.rng.randint(0 if kind == ActivityKind.CALL else 1, 3)
                body = " ".join(self.rng.sample(SENTENCES, k=sentences))
                payload: dict[str, Any] = {}
                if kind == ActivityKind.CALL:
                    payload = {
                        "direction": self.rng.choice(("inbound", "outbound")),
                        "duration_minutes": self.rng.randint(1, 45),
                    }
                elif kind == ActivityKind.EMAIL:
                    payload = {"direction": self.rng.choice(("inbound", "outbound"))}
                variants.append((subject[0].upper() + subject[1:], body, json.dumps(payload)))
            texts[kind] = variants
        return {kind: texts[kind] for kind in sorted(texts)}

    @staticmethod
    def _phone_prefixes() -> dict[tuple[str, int], tuple[int, int]]:
        """(region, type) -> (country code, the region's example number with its last
        six digits zeroed): candidates vary those six digits."""
        prefixes = {}
        for country in COUNTRIES:
            for number_type in (MOBILE, FIXED_LINE):
                example = phonenumbers.example_number_for_type(country.code, number_type)
                prefixes[(country.code, number_type)] = (
                    example.country_code,
                    example.national_number // 1_000_000 * 1_000_000,
                )
        return prefixes

    # -- values ---------------------------------------------------------------------------

    def moment(self, start: int) -> int:
        """A moment in working hours on a weekday, between `start` and now."""
        day = (start + int(self.rng.random() * max(self.now_ts - start, 3600))) // DAY_SECONDS
        if (day + 3) % 7 >= 5:  # 1 January 1970 was a Thursday: 5 and 6 are the weekend
            day -= 2
        moment = day * DAY_SECONDS + self.rng.choice(WORKING_SECONDS)
        return min(max(moment, start), self.now_ts)

    def created(self) -> tuple[int, int]:
        """(created, updated): customers since up to four years, a third in the last one."""
        years = self.rng.random() if self.rng.random() < 0.33 else 1 + 3 * self.rng.random()
        created = self.now_ts - int(years * 365 * DAY_SECONDS)
        return created, min(self.now_ts, created + self.rng.randrange(400) * DAY_SECONDS)

    def phone(self, country: Country, number_type: int) -> str:
        """A valid, unused number of that country and type, in E.164."""
        country_code, base = self.phone_prefixes[(country.code, number_type)]
        for _ in range(50):
            number = phonenumbers.PhoneNumber(
                country_code=country_code, national_number=base + self.rng.randrange(1_000_000)
            )
            if phonenumbers.is_valid_number_for_region(number, country.code):
                value = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
                if value not in self.used_phones:
                    self.used_phones.add(value)
                    return value
        raise CommandError(f"Ran out of {country.code} phone numbers; seed fewer customers.")

    def email(self, local: str, domain: str) -> str:
        local = local[:60] or "contact"
        value, counter = f"{local}@{domain}", 1
        while value in self.used_emails:
            counter += 1
            value = f"{local}{counter}@{domain}"
        self.used_emails.add(value)
        return value

    def erp_number(self) -> str:
        while True:
            self.erp_sequence += 1
            number = f"C{self.erp_sequence}"
            if number not in self.used_erp_numbers:
                return number

    def address(self, country: Country, label: str, primary: bool, other: str = "") -> Contact:
        """A postal address (another one than `other`)."""
        pool = self.pools[country.code]
        street, (postal_code, city, region) = self.rng.choice(pool.streets), self.rng.choice(pool.places)
        value = address_value(street, postal_code, city, region, country.code)
        if value == other:
            street = f"{street} (rear entrance)"
            value = address_value(street, postal_code, city, region, country.code)
        return (ContactKind.ADDRESS, label, value, primary, street, postal_code, city, region, country.code)

    def tags(self, *, organisation: bool, stage: str) -> list[int]:
        if self.rng.random() > 0.45:
            return []
        names = ["Key account", "Partner", "Reseller", "Public sector"] if organisation else ["Newsletter"]
        names += ["VIP", "Trade fair"] + (["Churn risk"] if stage == LifecycleStage.CUSTOMER else [])
        chosen = self.rng.sample(names, k=1 if self.rng.random() < 0.75 else 2)
        return [self.tag_ids[name] for name in chosen]

    def activity_count(self) -> int:
        if self.rng.random() < 0.004:  # a few busy accounts, so that the 360 page has "load more"
            return self.rng.randint(60, 120)
        return self.rng.choice(ACTIVITY_COUNTS)

    # -- organisations --------------------------------------------------------------------

    def organisation(self, owners: list[int | None]) -> Spec:
        country = self.rng.choice(COUNTRY_BAG)
        industry, sector = self.rng.choice(SECTORS)
        pool, word = self.pools[country.code], sector[country.language]
        for attempt in range(30):
            last = self.rng.choice(pool.last_names)
            pattern = self.rng.random()
            if pattern < 0.5:
                base = f"{last} {word}"
            elif pattern < 0.75:
                base = f"{last} & {self.rng.choice(pool.last_names)}"
            else:
                base = f"{self.rng.choice(pool.cities)} {word}"
            if attempt > 20:
                base = f"{base} {self.rng.choice(pool.cities)}"
            name = f"{base} {self.rng.choice(country.legal_forms)}"
            key = name_key(name)
            if key and key not in self.used_name_keys:
                self.used_name_keys.add(key)
                return self.organisation_spec(
                    name=name, country=country, industry=industry, owner_id=self.rng.choice(owners)
                )
        raise CommandError("Ran out of organisation names; seed fewer customers.")

    def subsidiary(self, group: Spec) -> Spec:
        """A subsidiary of `group`, named after it: "Gardner Engineering Deutschland GmbH"."""
        country = self.rng.choice(COUNTRY_BAG)
        base = group.organisation_name.rsplit(" ", 1)[0]
        name = ""
        for suffix in (SUBSIDIARY_SUFFIX[country.code], *self.rng.sample(self.pools[country.code].cities, 5)):
            name = f"{base} {suffix} {self.rng.choice(country.legal_forms)}"
            if name_key(name) not in self.used_name_keys:
                break
        self.used_name_keys.add(name_key(name))
        spec = self.organisation_spec(
            name=name, country=country, industry=group.attributes["industry"], owner_id=group.owner_id
        )
        spec.parent_id = group.pk
        return spec

    def domain(self, name: str) -> str:
        slug = ascii_slug(name, "-")[:40].strip("-") or "org"
        domain, counter = f"{slug}.example.com", 1
        while domain in self.used_domains:
            counter += 1
            domain = f"{slug}-{counter}.example.com"
        self.used_domains.add(domain)
        return domain

    def organisation_spec(
        self, *, name: str, country: Country, industry: str, owner_id: int | None, phone: str | None = None
    ) -> Spec:
        stage = self.rng.choice(ORGANISATION_STAGES)
        created, updated = self.created()
        attributes: dict[str, Any] = {"industry": industry}
        if self.rng.random() < 0.8:
            size = self.rng.choice(ORGANISATION_SIZES)
            attributes["employees"] = max(1, int(size * self.rng.uniform(0.7, 1.4)))
        if stage == LifecycleStage.CUSTOMER and self.rng.random() < 0.7:
            renewal = self.now.date() + dt.timedelta(days=self.rng.randint(7, 400))
            attributes["renewal_date"] = renewal.isoformat()
        spec = Spec(
            kind=CustomerKind.ORGANISATION,
            country=country,
            display_name=name,
            organisation_name=name,
            lifecycle_stage=stage,
            owner_id=owner_id,
            created=created,
            updated=updated,
            attributes=attributes,
            erp_customer_number=self.erp_number() if stage != LifecycleStage.PROSPECT else None,
            domain=self.domain(name),
        )
        mailbox = self.rng.choice(("info", "sales", "office", "contact", "hello"))
        spec.contacts.append(email_contact(self.email(mailbox, spec.domain), ContactLabel.WORK, True))
        if self.rng.random() < 0.3:
            spec.contacts.append(
                email_contact(self.email("accounts", spec.domain), ContactLabel.BILLING, False)
            )
        if phone is not None or self.rng.random() < 0.9:
            spec.contacts.append(
                phone_contact(phone or self.phone(country, FIXED_LINE), ContactLabel.WORK, True)
            )
        if self.rng.random() < 0.95:
            billing = self.address(country, ContactLabel.BILLING, True)
            spec.contacts.append(billing)
            if self.rng.random() < 0.25:
                spec.contacts.append(self.address(country, ContactLabel.SHIPPING, False, other=billing[2]))
        spec.tags = self.tags(organisation=True, stage=stage)
        spec.activities = self.activity_count()
        return spec

    # -- people ----------------------------------------------------------------------------

    def person(self, owners: list[int | None]) -> Spec:
        employers = []
        roll = self.rng.random()
        if self.organisations and roll < 0.66:
            employers.append(self.rng.choice(self.organisations))
            if roll < 0.06:
                other = self.rng.choice(self.organisations)
                if other is not employers[0]:
                    employers.append(other)
        country = (
            employers[0].country if employers and self.rng.random() < 0.9 else self.rng.choice(COUNTRY_BAG)
        )
        pool = self.pools[country.code]
        for _ in range(30):
            first, last = self.rng.choice(pool.first_names), self.rng.choice(pool.last_names)
            key = name_key(f"{first} {last}")
            if key not in self.used_name_keys:
                break
        else:  # common names run out first in a big seed: a middle initial keeps them apart
            first = f"{first} {self.rng.choice('ABCDEFGHJKLMNPRSTW')}."
            key = name_key(f"{first} {last}")
        self.used_name_keys.add(key)
        return self.person_spec(first=first, last=last, country=country, employers=employers, owners=owners)

    def person_spec(
        self,
        *,
        first: str,
        last: str,
        country: Country,
        employers: list[Spec],
        owners: list[int | None],
        extra_email: str | None = None,
        phone: str | None = None,
    ) -> Spec:
        employer = employers[0] if employers else None
        if employer is not None and self.rng.random() < 0.7:
            stage, owner_id = employer.lifecycle_stage, employer.owner_id
        else:
            stage, owner_id = self.rng.choice(PERSON_STAGES), self.rng.choice(owners)
        created, updated = self.created()
        with_erp = employer is None and stage != LifecycleStage.PROSPECT and self.rng.random() < 0.5
        spec = Spec(
            kind=CustomerKind.PERSON,
            country=country,
            display_name=f"{first} {last}",
            first_name=first,
            last_name=last,
            lifecycle_stage=stage,
            owner_id=owner_id,
            created=created,
            updated=updated,
            attributes={"preferred_language": country.language} if self.rng.random() < 0.7 else {},
            erp_customer_number=self.erp_number() if with_erp else None,
        )
        local = f"{ascii_slug(first)}.{ascii_slug(last)}"
        if employer is not None:
            spec.contacts.append(email_contact(self.email(local, employer.domain), ContactLabel.WORK, True))
            if self.rng.random() < 0.1:
                personal = self.email(local, self.rng.choice(PERSONAL_DOMAINS))
                spec.contacts.append(email_contact(personal, ContactLabel.HOME, False))
        elif extra_email is not None or self.rng.random() < 0.92:
            personal = self.email(local, self.rng.choice(PERSONAL_DOMAINS))
            spec.contacts.append(email_contact(personal, ContactLabel.HOME, True))
        if extra_email is not None:
            spec.contacts.append(email_contact(extra_email, ContactLabel.OTHER, False))
        has_mobile = phone is not None or self.rng.random() < 0.75
        if has_mobile:
            spec.contacts.append(
                phone_contact(phone or self.phone(country, MOBILE), ContactLabel.MOBILE, True)
            )
        if employer is not None and self.rng.random() < 0.2:
            spec.contacts.append(
                phone_contact(self.phone(country, FIXED_LINE), ContactLabel.WORK, not has_mobile)
            )
        if employer is None and self.rng.random() < 0.35:
            spec.contacts.append(self.address(country, ContactLabel.HOME, True))
        spec.memberships = [(org.pk, self.rng.choice(ROLES_IN_ORGANISATION)) for org in employers]
        spec.tags = self.tags(organisation=False, stage=stage)
        spec.activities = self.activity_count()
        return spec

    # -- inserts -----------------------------------------------------------------------------

    def insert(self, specs: list[Spec]) -> None:
        """Insert a chunk of customers and everything that hangs off them."""
        if not specs:
            return
        self._insert_customers(specs)
        at = self.db_time
        contact_points, tag_links, relationships, consents, activities = [], [], [], [], []
        for spec in specs:
            pk, created = spec.pk, at(spec.created)
            contact_points.extend((pk, *contact, created, created) for contact in spec.contacts)
            tag_links.extend((pk, tag_id) for tag_id in spec.tags)
            for organisation_id, role in spec.memberships:
                primary = organisation_id not in self.has_primary_contact
                self.has_primary_contact.add(organisation_id)
                relationships.append((pk, organisation_id, role, primary, created, created))
            consents.extend(self._consents(spec))
            activities.extend(self._activities(spec))
        insert_rows(ContactPoint, CONTACT_POINT_COLUMNS, contact_points)
        insert_rows(Customer.tags.through, ("customer", "tag"), tag_links)
        insert_rows(Relationship, RELATIONSHIP_COLUMNS, relationships)
        activities.extend(self._insert_consents(consents, [s.pk for s in specs]))
        insert_rows(Activity, ACTIVITY_COLUMNS, activities)

        self.totals.customers += len(specs)
        self.totals.contact_points += len(contact_points)
        self.totals.tags += len(tag_links)
        self.totals.relationships += len(relationships)
        self.totals.consents += len(consents)
        self.totals.activities += len(activities)

    def _insert_customers(self, specs: list[Spec]) -> None:
        at = self.db_time
        last_id = Customer.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
        rows = [
            (
                s.kind,
                s.first_name,
                s.last_name,
                s.organisation_name,
                s.display_name,
                name_key(s.display_name),
                s.parent_id,
                s.lifecycle_stage,
                s.owner_id,
                json.dumps(s.attributes),
                s.erp_customer_number,
                1,
                at(s.created),
                at(s.updated),
            )
            for s in specs
        ]
        insert_rows(Customer, CUSTOMER_COLUMNS, rows)
        # executemany returns no ids, and ids grow in insertion order. Inside this
        # transaction nobody else inserts on SQLite (the write lock is ours); on
        # PostgreSQL a customer committed meanwhile by someone else shows as a mismatch.
        ids = list(Customer.objects.filter(pk__gt=last_id).order_by("pk").values_list("pk", flat=True))
        if len(ids) != len(specs):
            raise CommandError("Customers were created by someone else during the seed; run it again.")
        for spec, pk in zip(specs, ids, strict=True):
            spec.pk = pk

    def _consents(self, spec: Spec) -> list[tuple[Any, ...]]:
        """Ledger lines: (customer, channel, purpose, granted, source, epoch, actor)."""
        is_person = spec.kind == CustomerKind.PERSON
        if self.rng.random() > (0.6 if is_person else 0.25):
            return []
        start = max(spec.created, self.now_ts - TIMELINE_DAYS * DAY_SECONDS)
        grants = [(ConsentChannel.EMAIL, ConsentPurpose.NEWSLETTER)]
        if self.rng.random() < 0.4:
            grants.append((ConsentChannel.EMAIL, ConsentPurpose.MARKETING))
        if is_person and self.rng.random() < 0.15:
            grants.append((ConsentChannel.SMS, ConsentPurpose.SERVICE))
        events = []
        for channel, purpose in grants:
            granted_at = self.moment(start)
            source = self.rng.choice(CONSENT_SOURCES)
            actor = self.rng.choice(self.staff) if source in ("Phone call", "Trade fair") else None
            events.append((spec.pk, channel, purpose, True, source, granted_at, actor))
            if self.rng.random() < 0.15:  # later withdrawn: the ledger keeps both lines
                withdrawn_at = self.moment(granted_at)
                events.append((spec.pk, channel, purpose, False, "Unsubscribe link", withdrawn_at, None))
        return events

    def _insert_consents(
        self, consents: list[tuple[Any, ...]], customer_ids: list[int]
    ) -> list[tuple[Any, ...]]:
        """Insert the ledger lines; return the timeline rows `consent_record` would write."""
        at = self.db_time
        rows = [(*event[:5], at(event[5]), event[6], "", at(event[5])) for event in consents]
        insert_rows(ConsentEvent, CONSENT_COLUMNS, rows)
        # No ids from executemany: these customers are new and uncommitted, so their
        # ledger lines are exactly ours, and ids follow the insertion order.
        ids = (
            ConsentEvent.objects.filter(customer_id__in=customer_ids)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        activities = []
        for event_id, (customer_id, channel, purpose, granted, source, moment, actor) in zip(
            ids, consents, strict=True
        ):
            subject = CONSENT_SUBJECTS[(channel, purpose, granted)]
            payload = json.dumps(
                {"channel": channel, "purpose": purpose, "granted": granted, "source": source}
            )
            when = at(moment)
            activities.append(
                (
                    customer_id,
                    ActivityKind.CONSENT.value,
                    when,
                    actor,
                    "customers",
                    subject,
                    "",
                    "customers.consentevent",
                    str(event_id),
                    payload,
                    when,
                )
            )
        return activities

    def _activities(self, spec: Spec) -> Iterator[tuple[Any, ...]]:
        start = max(spec.created, self.now_ts - TIMELINE_DAYS * DAY_SECONDS)
        for _ in range(spec.activities):
            kind = self.rng.choice(ACTIVITY_KINDS)
            subject, body, payload = self.rng.choice(self.activity_texts[kind])
            when = self.db_time(self.moment(start))
            # Mostly the account owner; otherwise a colleague (service, marketing...).
            actor = (
                spec.owner_id if spec.owner_id and self.rng.random() < 0.6 else self.rng.choice(self.staff)
            )
            yield (spec.pk, kind.value, when, actor, "customers", subject, body, "", "", payload, when)


# --- the command --------------------------------------------------------------------------


class Command(BaseCommand):
    help = (
        "Seed realistic demo data: organisations (with subsidiaries), people, contact points, "
        "tags, custom attributes, consents, timelines, demo staff in every role and a few "
        "deliberate duplicates. Deterministic for a given --seed. DEBUG only."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--customers", type=int, default=2000, help="How many customers (default 2000).")
        parser.add_argument("--seed", type=int, default=1, help="Random seed (default 1).")
        parser.add_argument(
            "--if-empty",
            action="store_true",
            help="Do nothing when the database already holds customers (for `make run`).",
        )

    def handle(self, *args: Any, customers: int, seed: int, if_empty: bool, **options: Any) -> None:
        if not settings.DEBUG and not os.environ.get("ALLOW_DEMO_ADMIN"):
            raise CommandError(
                "seed_demo creates staff users with a published password: DEBUG only "
                "(or ALLOW_DEMO_ADMIN=1, as for create_demo_admin)."
            )
        if not 1 <= customers <= 1_000_000:
            raise CommandError("--customers must be between 1 and 1,000,000.")
        if if_empty and Customer.objects.exists():
            self.stdout.write("Customers already exist: no demo data seeded (--if-empty).")
            return
        started = time.perf_counter()
        with transaction.atomic(), sqlite_page_cache():
            staff, created_users = self._staff()
            totals = self._seed(customers=customers, seed=seed, staff=staff)
            refresh_planner_statistics()
        elapsed = time.perf_counter() - started
        self.stdout.write(
            self.style.SUCCESS(
                f"Seeded {totals.customers} customers ({totals.organisations} organisations, "
                f"{totals.subsidiaries} of them subsidiaries; {totals.people} people; "
                f"{totals.duplicates} deliberate duplicates), {totals.relationships} relationships, "
                f"{totals.contact_points} contact points, {totals.tags} tag links, "
                f"{totals.consents} consent events, {totals.activities} activities in {elapsed:.1f} s."
            )
        )
        usernames = ", ".join(username for username, *_ in STAFF)
        if created_users:
            self.stdout.write(f"Demo staff logins: {usernames} / password: {DEMO_PASSWORD}")
        else:
            self.stdout.write(f"Demo staff ({usernames}) already existed; their passwords are unchanged.")

    def _staff(self) -> tuple[dict[str, User], bool]:
        # One hash for all of them: hashing is slow on purpose, and the password is the same.
        password = make_password(DEMO_PASSWORD)
        users: dict[str, User] = {}
        created_any = False
        for username, first, last, role, team_name in STAFF:
            team = Team.objects.get_or_create(name=team_name)[0] if team_name else None
            user, created = User.objects.get_or_create(
                username=username,
                defaults={
                    "first_name": first,
                    "last_name": last,
                    "email": f"{username}@frontoffice.example.com",
                    "password": password,
                    "team": team,
                },
            )
            created_any = created_any or created
            user.groups.add(*Group.objects.filter(name=role))
            users[username] = user
        return users, created_any

    def _tags(self) -> dict[str, int]:
        ids = {}
        for name in TAGS:
            tag = Tag.objects.annotate(lname=Lower("name")).filter(lname=name.lower()).first()
            ids[name] = (tag or Tag.objects.create(name=name)).pk
        return ids

    def _field_definitions(self) -> None:
        for definition in FIELD_DEFINITIONS:
            existing, _ = CustomFieldDefinition.objects.get_or_create(
                key=definition["key"], defaults=definition
            )
            compatible = (
                existing.field_type == definition["field_type"]
                and not existing.required
                and set(definition.get("choices", [])) <= set(existing.choices or [])
            )
            if not compatible:
                raise CommandError(
                    f"Custom field {existing.key!r} exists with another type, other choices or as "
                    "required; seed an empty database."
                )

    def _seed(self, *, customers: int, seed: int, staff: dict[str, User]) -> Totals:
        self._field_definitions()
        seeder = DemoSeeder(
            seed=seed,
            now=timezone.now(),
            staff=[u.pk for u in staff.values() if u.username != "backoffice1"],
            tag_ids=self._tags(),
        )
        rng = seeder.rng
        sales = [u.pk for u in staff.values() if u.username.startswith("sales")]
        owners: list[int | None] = [*sales, *sales, *sales, None]  # about one in ten unowned

        duplicates = 0 if customers < 20 else max(3, min(25, customers // 4000))
        organisations = customers // 4
        people = customers - organisations
        duplicate_organisations = duplicates // 3
        duplicate_people = duplicates - duplicate_organisations

        # Organisations: groups first, then their subsidiaries (named after the group),
        # so that parents have ids.
        regular = organisations - duplicate_organisations
        subsidiaries = regular // 7
        tops = [seeder.organisation(owners) for _ in range(regular - subsidiaries)]
        for chunk in _chunks(tops, CHUNK):
            seeder.insert(chunk)
        groups = tops[: max(1, len(tops) // 20)]
        subs = [seeder.subsidiary(rng.choice(groups)) for _ in range(subsidiaries)]
        for chunk in _chunks(subs, CHUNK):
            seeder.insert(chunk)
        seeder.organisations = tops + subs

        # Deliberate duplicates: the same organisation entered again without its legal
        # form (the same normalised name for most forms) and with the same phone.
        candidates = [s for s in tops if s.primary(ContactKind.PHONE)]
        copies = [
            seeder.organisation_spec(
                name=original.organisation_name.rsplit(" ", 1)[0],
                country=original.country,
                industry=original.attributes["industry"],
                owner_id=original.owner_id,
                phone=original.primary(ContactKind.PHONE),
            )
            for original in rng.sample(candidates, k=min(duplicate_organisations, len(candidates)))
        ]
        duplicates_made = len(copies)
        # Whatever could not be copied (a tiny seed) is made up with ordinary ones.
        copies += [seeder.organisation(owners) for _ in range(duplicate_organisations - len(copies))]
        seeder.insert(copies)

        originals: list[Spec] = []
        regular = people - duplicate_people
        for start in range(0, regular, CHUNK):
            chunk = [seeder.person(owners) for _ in range(min(CHUNK, regular - start))]
            seeder.insert(chunk)
            if len(originals) < 5000:
                originals.extend(s for s in chunk if s.primary(ContactKind.EMAIL))

        # Deliberate duplicates of people: the same person again, either with a new
        # primary e-mail and the old one as a secondary address, or with first and last
        # name swapped and the same mobile number.
        copies = []
        for index, original in enumerate(rng.sample(originals, k=min(duplicate_people, len(originals)))):
            if index % 2 == 0:
                first, last = original.first_name, original.last_name
                extra_email, phone = original.primary(ContactKind.EMAIL), None
            else:
                first, last = original.last_name, original.first_name
                extra_email, phone = None, original.primary(ContactKind.PHONE)
            copies.append(
                seeder.person_spec(
                    first=first,
                    last=last,
                    country=original.country,
                    employers=[],
                    owners=owners,
                    extra_email=extra_email,
                    phone=phone,
                )
            )
        duplicates_made += len(copies)
        copies += [seeder.person(owners) for _ in range(duplicate_people - len(copies))]
        seeder.insert(copies)

        totals = seeder.totals
        totals.organisations = organisations
        totals.subsidiaries = len(subs)
        totals.people = people
        totals.duplicates = duplicates_made
        return totals


def _chunks(items: list[Spec], size: int) -> Iterator[list[Spec]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
