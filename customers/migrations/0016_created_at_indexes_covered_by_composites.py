"""No index of its own on `created_at` where the table's `(created_at, id)` index already
leads with it (frontoffice.models.TimeStampedListed, tests/test_schema_indexes.py).
SQLite rebuilds a table to alter a column, which drops its triggers: the search's
trigram triggers of 0010 are made again after, as in 0015. The history table's copy of
the column loses its index too: nothing reads the history by it.
"""

import importlib

from django.db import migrations, models

_trigram_search = importlib.import_module("customers.migrations.0010_sqlite_trigram_search")


class Migration(migrations.Migration):

    dependencies = [
        ('customers', '0015_fk_indexes_covered_by_composites'),
    ]

    operations = [
        migrations.AlterField(
            model_name='customer',
            name='created_at',
            field=models.DateTimeField(auto_now_add=True),
        ),
        migrations.AlterField(
            model_name='historicalcustomer',
            name='created_at',
            field=models.DateTimeField(blank=True, editable=False),
        ),
        migrations.AlterField(
            model_name='outboundmessage',
            name='created_at',
            field=models.DateTimeField(auto_now_add=True),
        ),
        migrations.RunPython(
            _trigram_search.forward,
            migrations.RunPython.noop,
            elidable=False,
        ),
    ]
