"""What the generator draws before anything is inserted: name pools per country,
customer specs with what hangs off them, and the totals the command reports."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from customers.choices import ContactKind
from customers.demo.vocabulary import Country


@lru_cache(maxsize=50000)
def ascii_slug(text: str, sep: str = ".") -> str:
    folded = unicodedata.normalize("NFKD", text.replace("ß", "ss"))
    folded = "".join(ch for ch in folded if not unicodedata.combining(ch)).lower()
    return re.sub(r"[^a-z0-9]+", sep, folded).strip(sep)


def address_value(street: str, postal_code: str, city: str, region: str, country: str) -> str:
    """The one-line form `customers.services` stores for an address."""
    parts = (street, f"{postal_code} {city}".strip(), region, country)
    return ", ".join(part for part in parts if part)[:320]


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
