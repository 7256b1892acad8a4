"""Data: the default pipeline and its stages (admins can rename or extend them later)."""

from __future__ import annotations

from django.db import migrations

DEFAULT_STAGES = [
    ("Prospecting", 10, "open"),
    ("Qualification", 25, "open"),
    ("Proposal", 50, "open"),
    ("Negotiation", 75, "open"),
    ("Won", 100, "won"),
    ("Lost", 0, "lost"),
]


def create_default_pipeline(apps, schema_editor):
    Pipeline = apps.get_model("sales", "Pipeline")
    Stage = apps.get_model("sales", "Stage")
    if Pipeline.objects.filter(is_default=True).exists():
        return
    pipeline = Pipeline.objects.create(name="Sales", is_default=True)
    Stage.objects.bulk_create(
        Stage(pipeline=pipeline, name=name, order=(i + 1) * 10, probability=probability, kind=kind)
        for i, (name, probability, kind) in enumerate(DEFAULT_STAGES)
    )


def delete_default_pipeline(apps, schema_editor):
    Pipeline = apps.get_model("sales", "Pipeline")
    Pipeline.objects.filter(is_default=True, name="Sales", opportunities__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [("sales", "0001_pipeline")]

    operations = [migrations.RunPython(create_default_pipeline, delete_default_pipeline)]
