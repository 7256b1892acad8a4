"""The circuit breaker's one row, closed, so that no relay has to create it; and what
the ERP answered the messages delivered or refused before the answer had its own column."""

from __future__ import annotations

from typing import Any

from django.db import migrations
from django.db.models import F
from django.utils import timezone


def create_row(apps: Any, schema_editor: Any) -> None:
    apps.get_model("backoffice_sync", "ErpCircuit").objects.get_or_create(
        pk=1, defaults={"state": "closed", "changed_at": timezone.now()}
    )


def backfill_answers(apps: Any, schema_editor: Any) -> None:
    message = apps.get_model("backoffice_sync", "OutboxMessage")
    for answer in ("accepted", "duplicate"):
        message.objects.filter(status="delivered", result__status=answer, erp_answer="").update(
            erp_answer=answer, erp_answered_at=F("delivered_at")
        )
    message.objects.filter(status="dead", result__status="rejected", erp_answer="").update(
        erp_answer="refused", erp_answered_at=F("dead_at")
    )


class Migration(migrations.Migration):
    dependencies = [("backoffice_sync", "0007_outbox_circuit_breaker_answer_skip")]

    operations = [
        migrations.RunPython(create_row, migrations.RunPython.noop),
        migrations.RunPython(backfill_answers, migrations.RunPython.noop),
    ]
