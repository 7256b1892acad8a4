"""Issue 12 §4: the "invoice overdue" messages (number and amount due) are read only by
those who may read invoices. New ones carry `backoffice_sync.view_invoice` from their
template (service/loop/proactive.py); this gives it to the template, the messages and
their timeline entries made before (the hub's 0011 added the column)."""

from typing import Any

from django.db import migrations
from django.db.models import Q

TEMPLATE = "invoice-overdue"
PERMISSION = "backoffice_sync.view_invoice"
BATCH = 1000


def backfill(apps: Any, schema_editor: Any) -> None:
    template_model = apps.get_model("customers", "MessageTemplate")
    message_model = apps.get_model("customers", "OutboundMessage")
    activity_model = apps.get_model("customers", "Activity")
    template_model.objects.filter(key=TEMPLATE).update(view_permission=PERMISSION)
    ids = list(
        # By template, or by the key the service loop gives them (a template deleted since).
        message_model.objects.filter(Q(template__key=TEMPLATE) | Q(dedupe_key__startswith=f"{TEMPLATE}:"))
        .exclude(view_permission=PERMISSION)
        .values_list("pk", flat=True)
        .order_by("pk")
    )
    for start in range(0, len(ids), BATCH):
        chunk = ids[start : start + BATCH]
        message_model.objects.filter(pk__in=chunk).update(view_permission=PERMISSION)
        activity_model.objects.filter(
            ref_type="customers.outboundmessage", ref_id__in=[str(pk) for pk in chunk]
        ).update(view_permission=PERMISSION)


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0011_view_permission"),
        ("service", "0004_case_open_due_indexes"),
    ]

    operations = [migrations.RunPython(backfill, migrations.RunPython.noop)]
