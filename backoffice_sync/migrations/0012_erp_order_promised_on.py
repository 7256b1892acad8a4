"""The promised delivery date the ERP holds for each order (reconciliation compares it),
and its drift kind. Orders mirrored before take it from the newest order event the inbox
stored up to the version the mirror holds (the ERP sent it all along as requested_date);
an order with no such event keeps it empty, and the next reconciliation re-pulls it.
"""

import datetime as dt

from django.db import migrations, models

BATCH = 500


def _date(raw):
    try:
        return dt.date.fromisoformat(raw) if isinstance(raw, str) and raw else None
    except ValueError:
        return None


def backfill(apps, schema_editor):
    ErpOrder = apps.get_model("backoffice_sync", "ErpOrder")
    InboxEvent = apps.get_model("backoffice_sync", "InboxEvent")
    orders = ErpOrder.objects.filter(promised_on__isnull=True).order_by("pk")
    last_pk = 0
    while True:
        batch = list(orders.filter(pk__gt=last_pk)[:BATCH])
        if not batch:
            return
        last_pk = batch[-1].pk
        changed = []
        for order in batch:
            data = (
                InboxEvent.objects.filter(
                    aggregate=f"order:{order.order_ref}",
                    version__lte=order.erp_version,
                    type__startswith="order.",
                )
                .order_by("-version", "-id")
                .values_list("data", flat=True)
                .first()
            )
            promised = _date(data.get("requested_date")) if isinstance(data, dict) else None
            if promised is not None:
                order.promised_on = promised
                changed.append(order)
        ErpOrder.objects.bulk_update(changed, ["promised_on"])


class Migration(migrations.Migration):
    dependencies = [
        ("backoffice_sync", "0011_reconciliation_runs"),
        ("customers", "0007_merge_outbound_and_duplicate_pairs"),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name="drift",
            name="drift_kind_valid",
        ),
        migrations.AddField(
            model_name="erporder",
            name="promised_on",
            field=models.DateField(
                blank=True,
                help_text="The delivery date the ERP holds as promised (the order's requested date); empty when none was asked.",
                null=True,
            ),
        ),
        migrations.AlterField(
            model_name="drift",
            name="kind",
            field=models.CharField(
                choices=[
                    ("missing", "Missing here (a lost event)"),
                    ("extra", "Unknown to the ERP"),
                    ("status", "Status"),
                    ("date", "Date"),
                    ("promised", "Promised date"),
                    ("lines", "Lines"),
                    ("shipments", "Shipments"),
                    ("amount", "Amount"),
                    ("balance", "Open balance"),
                ],
                max_length=20,
            ),
        ),
        migrations.AddConstraint(
            model_name="drift",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    (
                        "kind__in",
                        [
                            "missing",
                            "extra",
                            "status",
                            "date",
                            "promised",
                            "lines",
                            "shipments",
                            "amount",
                            "balance",
                        ],
                    )
                ),
                name="drift_kind_valid",
            ),
        ),
        # Backwards: removing the column above drops what this wrote.
        migrations.RunPython(backfill, migrations.RunPython.noop),
    ]
