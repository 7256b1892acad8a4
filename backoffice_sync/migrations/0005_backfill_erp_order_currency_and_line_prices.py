"""Data: the currency and line prices of ERP orders mirrored before the mirror kept them,
read back from the order events the inbox stored (the ERP sent them all along).

The lines take the prices of the newest stored event with lines up to the version the
mirror holds, matched by position as `apply_order` numbers them; an order with no such
event keeps a blank currency and null prices.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from django.db import migrations

BATCH = 500
_CURRENCY = re.compile(r"[A-Z]{3}")


def _price(raw):
    try:
        price = Decimal(str(raw)).quantize(Decimal("0.01"))
    except (InvalidOperation, TypeError, ValueError):
        return None
    return price if price.is_finite() and 0 <= price < Decimal("1e12") else None


def backfill(apps, schema_editor):
    ErpOrder = apps.get_model("backoffice_sync", "ErpOrder")
    ErpOrderLine = apps.get_model("backoffice_sync", "ErpOrderLine")
    InboxEvent = apps.get_model("backoffice_sync", "InboxEvent")
    orders = ErpOrder.objects.filter(currency="").order_by("pk")
    last_pk = 0
    while True:
        batch = list(orders.filter(pk__gt=last_pk)[:BATCH])
        if not batch:
            return
        last_pk = batch[-1].pk
        changed_orders, changed_lines = [], []
        for order in batch:
            events = InboxEvent.objects.filter(
                aggregate=f"order:{order.order_ref}",
                version__lte=order.erp_version,
                type__startswith="order.",
            ).order_by("-version", "-id")
            currency, lines = None, None
            for data in events.values_list("data", flat=True).iterator():
                data = data if isinstance(data, dict) else {}
                if currency is None and _CURRENCY.fullmatch(str(data.get("currency") or "")):
                    currency = data["currency"]
                if lines is None and isinstance(data.get("lines"), list):
                    lines = data["lines"]
                if currency is not None and lines is not None:
                    break
            if currency is not None:
                order.currency = currency
                changed_orders.append(order)
            for line in ErpOrderLine.objects.filter(order=order, unit_price__isnull=True):
                reported = lines[line.line_no - 1] if lines and line.line_no <= len(lines) else None
                if isinstance(reported, dict) and reported.get("sku") == line.sku:
                    line.unit_price = _price(reported.get("unit_price"))
                    if line.unit_price is not None:
                        changed_lines.append(line)
        ErpOrder.objects.bulk_update(changed_orders, ["currency"])
        ErpOrderLine.objects.bulk_update(changed_lines, ["unit_price"])


class Migration(migrations.Migration):
    dependencies = [("backoffice_sync", "0004_erp_order_currency_and_line_prices")]

    # Backwards: the schema migration before this one drops the columns.
    operations = [migrations.RunPython(backfill, migrations.RunPython.noop)]
