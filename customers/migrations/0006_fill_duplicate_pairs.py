"""Derive the duplicate pairs of an existing database (data; the table is 0005)."""

from __future__ import annotations

from django.db import migrations


def fill(apps, schema_editor):
    if not apps.get_model("customers", "Customer").objects.exists():
        return  # a new database: the services keep the pairs from the first customer on
    # Derived data, computed by the code that keeps it (the same rules); it reads only
    # the columns this migration's state has.
    from customers.duplicate_index import pairs_rebuild

    pairs_rebuild()


class Migration(migrations.Migration):
    dependencies = [("customers", "0005_duplicate_pairs")]

    operations = [migrations.RunPython(fill, migrations.RunPython.noop, elidable=True)]
