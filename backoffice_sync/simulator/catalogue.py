"""The demo catalogue the simulator starts with: 40 office products in three warehouses.

Names, prices and lead times are fixed (demos and tests can name them); stock levels
and incoming purchases depend on the seed.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from backoffice_sync.simulator import dice

CURRENCY = "EUR"
WAREHOUSES = ("AMS", "LYS", "MUC")

# (family, base price in EUR, lead time in days); each family comes in the variants below.
_FAMILIES = (
    ("Ergonomic desk chair", Decimal("289.00"), 5),
    ("Standing desk", Decimal("549.00"), 10),
    ("Monitor arm", Decimal("89.00"), 3),
    ("Filing cabinet", Decimal("199.00"), 7),
    ("Meeting table", Decimal("799.00"), 14),
    ("Desk lamp", Decimal("49.00"), 2),
    ("Whiteboard", Decimal("129.00"), 4),
    ("Acoustic panel", Decimal("159.00"), 6),
    ("Bookcase", Decimal("239.00"), 8),
    ("Footrest", Decimal("39.00"), 2),
)
_VARIANTS = (("S", Decimal("0.85")), ("M", Decimal("1.00")), ("L", Decimal("1.25")), ("XL", Decimal("1.50")))
# Discontinued: orders for them are rejected (kept so that tests and demos can show it).
INACTIVE_SKUS = frozenset({"FO-1004", "FO-1040"})


@dataclass(frozen=True)
class CatalogueItem:
    sku: str
    name: str
    unit_price: Decimal
    lead_time_days: int
    active: bool


@dataclass(frozen=True)
class OpeningStock:
    sku: str
    warehouse: str
    on_hand: int
    incoming: tuple[tuple[int, dt.date], ...]  # (quantity, expected_on)


def items() -> list[CatalogueItem]:
    """The 40 products, SKUs FO-1001 to FO-1040."""
    result = []
    for family_index, (family, price, lead_time) in enumerate(_FAMILIES):
        for variant_index, (size, factor) in enumerate(_VARIANTS):
            sku = f"FO-{1001 + family_index * len(_VARIANTS) + variant_index}"
            result.append(
                CatalogueItem(
                    sku=sku,
                    name=f"{family} {size}",
                    unit_price=(price * factor).quantize(Decimal("0.01")),
                    lead_time_days=lead_time,
                    active=sku not in INACTIVE_SKUS,
                )
            )
    return result


def opening_stock(*, seed: int, today: dt.date) -> list[OpeningStock]:
    """Stock per product and warehouse: mostly plenty, some empty, some with purchases due."""
    result = []
    for item in items():
        for warehouse in WAREHOUSES:
            kind = dice.roll(seed, "opening-kind", item.sku, warehouse)
            on_hand = 0 if kind < 0.15 else dice.randint(5, 200, seed, "opening-on-hand", item.sku, warehouse)
            incoming: tuple[tuple[int, dt.date], ...] = ()
            if kind < 0.35:
                days = dice.randint(1, max(item.lead_time_days, 2), seed, "opening-eta", item.sku, warehouse)
                quantity = dice.randint(20, 100, seed, "opening-incoming", item.sku, warehouse)
                incoming = ((quantity, today + dt.timedelta(days=days)),)
            result.append(OpeningStock(item.sku, warehouse, on_hand, incoming))
    return result
