"""Data: a reservation row for what each order line already held, in its one warehouse
(before reservations had rows, a line reserved in its own warehouse only)."""

from __future__ import annotations

from django.db import migrations

BATCH = 1000


def create_reservations(apps, schema_editor):
    SimOrderLine = apps.get_model("erp_simulator", "SimOrderLine")
    SimReservation = apps.get_model("erp_simulator", "SimReservation")
    SimStock = apps.get_model("erp_simulator", "SimStock")
    stocks = {(row.product_id, row.warehouse): row.pk for row in SimStock.objects.all()}
    lines = SimOrderLine.objects.filter(reserved__gt=0, reservations__isnull=True).order_by("pk")
    rows = [
        SimReservation(
            line_id=line.pk, stock_id=stocks[(line.product_id, line.warehouse)], quantity=line.reserved
        )
        for line in lines.iterator(chunk_size=BATCH)
        if (line.product_id, line.warehouse) in stocks
    ]
    SimReservation.objects.bulk_create(rows, batch_size=BATCH)


class Migration(migrations.Migration):
    dependencies = [("erp_simulator", "0002_order_line_reservations_per_warehouse")]

    # Backwards: the rows go with the table the migration before this one drops.
    operations = [migrations.RunPython(create_reservations, migrations.RunPython.noop)]
