"""What the demo's history draws from: price lists, discount limits, tax rates, what
customers buy together and in which quantities, the reasons deals are lost and leads
disqualified, the names on leads, and the hours of the back office's day."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from customers.choices import AppliesTo, FieldType
from frontoffice.roles import Role
from sales.pipeline.models import StageKind
from sales.pricing.models import CustomerTier

CENT = Decimal("0.01")
MORNING = dt.time(7, 0)  # the back office catches up: the ERP's night, the relay, the pull
FORECAST_AT = dt.time(6, 0)  # beat's `publish-forecast`: Mondays 06:00
WORKING_MINUTES = range(8 * 60 + 30, 16 * 60 + 45, 15)  # business actions between these

# Price lists: (currency, tier, factor on the ERP's catalogue price in EUR).
PRICE_LISTS = (
    ("EUR", CustomerTier.STANDARD, Decimal("1.00")),
    ("EUR", CustomerTier.SILVER, Decimal("0.95")),
    ("EUR", CustomerTier.GOLD, Decimal("0.90")),
    ("GBP", CustomerTier.STANDARD, Decimal("0.86")),
    ("USD", CustomerTier.STANDARD, Decimal("1.08")),
)
# The largest line discount each role gives without approval (admins configure these).
DISCOUNT_LIMITS = {Role.SALES: Decimal("10"), Role.ADMIN: Decimal("25")}
if "Sales manager" in Role.ALL:
    DISCOUNT_LIMITS["Sales manager"] = Decimal("20")
TAX_RATES = {
    "DE": Decimal("19"),
    "FR": Decimal("20"),
    "NL": Decimal("21"),
    "GB": Decimal("20"),
    "US": Decimal("0"),
}
TIER_FIELD = {
    "key": "tier",
    "label": "Price tier",
    "field_type": FieldType.CHOICE,
    "choices": list(CustomerTier.values),
    "applies_to": AppliesTo.ANY,
    "help_text": "Which price list quotes use: standard, silver or gold.",
}
SECOND_PIPELINE = (
    "Framework agreements",
    (("Scoping", 20, StageKind.OPEN), ("Tender", 40, StageKind.OPEN), ("Shortlisted", 70, StageKind.OPEN)),
)

# What customers buy together (product families of the ERP catalogue, by name), so that
# "customers who bought X also bought Y" has something to say. Quantities per family.
THEMES = (
    ("Workstations", ("Standing desk", "Ergonomic desk chair", "Monitor arm", "Desk lamp", "Footrest")),
    ("Meeting rooms", ("Meeting table", "Ergonomic desk chair", "Whiteboard", "Acoustic panel")),
    ("Storage", ("Filing cabinet", "Bookcase")),
    ("Quiet office", ("Acoustic panel", "Desk lamp", "Footrest", "Whiteboard")),
)
QUANTITIES = {
    "Standing desk": (2, 24),
    "Ergonomic desk chair": (2, 30),
    "Monitor arm": (2, 30),
    "Desk lamp": (2, 25),
    "Footrest": (1, 15),
    "Meeting table": (1, 3),
    "Whiteboard": (1, 5),
    "Acoustic panel": (4, 20),
    "Filing cabinet": (1, 10),
    "Bookcase": (1, 8),
}
BIG_ORDER = (700, 900)  # units: more than the ERP's three warehouses hold of a product
BIG_ORDER_ITEM_PRICE = Decimal("100")  # ... of a small item only
BIG_ORDER_SHARE = 0.4  # of the won deals of a small item closed in the last days
BIG_ORDER_WEEKS_AGO = 14  # days: a big order won at least this long ago ...
BIG_ORDER_WEEKS_AGO_SHARE = 0.2  # ... is this share of the won deals of a small item
WITHIN_LIMIT_DISCOUNTS = (0, 0, 0, 0, 3, 5, 5, 8, 10)
ABOVE_LIMIT_DISCOUNTS = (12, 15)
LOST_REASONS = (
    "Price too high compared with the competition",
    "Went with a competitor's framework agreement",
    "No budget this year",
    "Project postponed to next year",
    "Our lead time was too long for their move",
    "No decision: the buyer left the company",
)
DISQUALIFIED_REASONS = (
    "No budget and no project",
    "Private person furnishing a flat, not a business",
    "A competitor asking for our prices",
    "Outside our delivery area",
    "Already a customer: handled by the account owner",
    "Not reachable after three attempts",
)
CANCEL_REASON = "The customer ordered through their group's framework agreement instead."
# Of the deals whose quoted date can no longer be kept at signing, the share where the
# rep re-quotes rather than the customer taking the later date.
REDATE_SHARE = 0.35
LEAD_FIRST = (
    "Anna",
    "Ben",
    "Clara",
    "David",
    "Elif",
    "Felix",
    "Greta",
    "Hugo",
    "Ines",
    "Jonas",
    "Kira",
    "Luca",
)
LEAD_LAST = (
    "Adler",
    "Brandt",
    "Costa",
    "Dubois",
    "Evans",
    "Fischer",
    "Garcia",
    "Hansen",
    "Ivanova",
    "Jansen",
)
LEAD_COMPANIES = (
    "Northwind Architects",
    "Bluebird Coworking",
    "Harbour Dental Group",
    "Kestrel Insurance Brokers",
    "Lindenhof Kanzlei",
    "Maison Verte Studio",
    "Polder Tech",
    "Quayside Accountants",
    "Riverside Clinic",
    "Summit Recruitment",
    "Tulip Software",
    "Vantage Logistics Hub",
)
LEAD_TITLES = (
    "Furnishing a new office for {n} people",
    "Standing desks for the whole team",
    "Quote for meeting room furniture",
    "Acoustic panels for an open-plan floor",
    "Replacing old office chairs",
    "Storage for the new archive",
)
