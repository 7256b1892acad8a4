"""The names filed by their neighbour keys for the possible-duplicates panel
(`customers.NameNeighbour`), and those of an existing database (data)."""

import django.db.models.deletion
from django.db import migrations, models


def fill(apps, schema_editor):
    if not apps.get_model("customers", "Customer").objects.exists():
        return  # a new database: the services file each name from the first customer on
    # Derived data, computed by the code that keeps it (the same rules); it reads only
    # the columns this migration's state has.
    from customers.duplicate_index import names_rebuild

    names_rebuild()


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0012_customer_import"),
    ]

    operations = [
        migrations.CreateModel(
            name="NameNeighbour",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "kind",
                    models.CharField(
                        choices=[("person", "Person"), ("organisation", "Organisation")], max_length=12
                    ),
                ),
                ("key", models.CharField(max_length=210)),
                ("value", models.CharField(max_length=210)),
                (
                    "customer",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="+", to="customers.customer"
                    ),
                ),
            ],
            options={
                "indexes": [
                    models.Index(fields=["kind", "key", "value", "customer"], name="nameneighbour_lookup")
                ],
                "constraints": [
                    models.UniqueConstraint(fields=("customer", "key"), name="nameneighbour_unique")
                ],
            },
        ),
        migrations.RunPython(fill, migrations.RunPython.noop, elidable=True),
    ]
