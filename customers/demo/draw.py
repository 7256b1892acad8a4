"""Drawing demo customers: organisations (some of them subsidiaries of groups), people
(most of them members of organisations with a role), their contact points, tags,
custom attributes, consents and timeline entries.

Names and addresses come from pools that Faker fills once; a seeded `random.Random`
draws from them, so that a seed gives the same data on every run.
"""

from __future__ import annotations

import datetime as dt
import json
import random
from collections.abc import Iterator
from functools import lru_cache
from typing import Any

import phonenumbers
from django.core.management.base import CommandError
from faker import Faker

from customers.choices import (
    ActivityKind,
    ConsentChannel,
    ConsentPurpose,
    ContactKind,
    ContactLabel,
    CustomerKind,
    LifecycleStage,
)
from customers.demo.bulk import db_time_adapter
from customers.demo.specs import Contact, Pool, Spec, address_value, ascii_slug, email_contact, phone_contact
from customers.demo.vocabulary import (
    ACTIVITY_COUNTS,
    ACTIVITY_KINDS,
    CONSENT_SOURCES,
    COUNTRIES,
    COUNTRY_BAG,
    DAY_SECONDS,
    FIXED_LINE,
    MOBILE,
    ORGANISATION_SIZES,
    ORGANISATION_STAGES,
    PERSON_STAGES,
    PERSONAL_DOMAINS,
    ROLES_IN_ORGANISATION,
    SECTORS,
    SENTENCES,
    SUBJECTS,
    SUBSIDIARY_SUFFIX,
    TIMELINE_DAYS,
    TOPICS,
    WORKING_SECONDS,
    Country,
)
from customers.models import ContactPoint, Customer
from customers.normalise import name_key


class ProfileDraw:
    """Draws customers from a seeded random generator (`DemoSeeder` inserts them).

    Uniqueness (e-mails, phones, names, domains, ERP numbers) is tracked in memory,
    starting from what the database already holds, so that a seed on a non-empty
    database adds customers instead of failing on a constraint.
    """

    def __init__(self, *, seed: int, now: dt.datetime, staff: list[int], tag_ids: dict[str, int]) -> None:
        # Demo data, not secrets: a seeded generator makes every run the same.
        self.rng = random.Random(seed)
        self.now = now
        self.now_ts = int(now.timestamp())
        self.staff = staff
        self.tag_ids = tag_ids
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
        self.db_time = db_time_adapter()

    # -- set-up -------------------------------------------------------------------------

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
        prefixes: dict[tuple[str, int], tuple[int, int]] = {}
        for country in COUNTRIES:
            for number_type in (MOBILE, FIXED_LINE):
                example = phonenumbers.example_number_for_type(country.code, number_type)
                if example is None or example.country_code is None or example.national_number is None:
                    raise CommandError(f"The phone metadata has no example number for {country.code}.")
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
        spec.memberships = [
            (org.pk, self.rng.choice(ROLES_IN_ORGANISATION)) for org in employers if org.pk is not None
        ]
        spec.tags = self.tags(organisation=False, stage=stage)
        spec.activities = self.activity_count()
        return spec

    # -- consents and timelines -------------------------------------------------------

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
            yield (spec.pk, kind.value, when, actor, "customers", subject, body, "", "", payload, when, "")
