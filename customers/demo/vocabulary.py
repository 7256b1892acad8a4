"""The demo's fixed vocabulary: countries, sectors, roles, staff, topics and the weighted
bags the generator draws from (a `random.choice` over a list is much cheaper than
`random.choices` with weights)."""

from __future__ import annotations

from dataclasses import dataclass

import phonenumbers

from customers.choices import (
    ActivityKind,
    AppliesTo,
    ConsentChannel,
    ConsentPurpose,
    FieldType,
    LifecycleStage,
)
from frontoffice.roles import Role

CHUNK = 2000  # customers per round of inserts: bounds memory whatever N is
DAY_SECONDS = 86400
TIMELINE_DAYS = 730
MOBILE = phonenumbers.PhoneNumberType.MOBILE
FIXED_LINE = phonenumbers.PhoneNumberType.FIXED_LINE


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

# What `customers.consent.consent_record` writes on the timeline.
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
