"""No index of its own on `created_at` where the table's `(created_at, id)` index already
leads with it (frontoffice.models.TimeStampedListed, tests/test_schema_indexes.py).
The history table's copy of the column loses its index too: nothing reads the history
by it.
"""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('service', '0006_fk_indexes_covered_by_composites'),
    ]

    operations = [
        migrations.AlterField(
            model_name='case',
            name='created_at',
            field=models.DateTimeField(auto_now_add=True),
        ),
        migrations.AlterField(
            model_name='csatsurvey',
            name='created_at',
            field=models.DateTimeField(auto_now_add=True),
        ),
        migrations.AlterField(
            model_name='followup',
            name='created_at',
            field=models.DateTimeField(auto_now_add=True),
        ),
        migrations.AlterField(
            model_name='historicalcase',
            name='created_at',
            field=models.DateTimeField(blank=True, editable=False),
        ),
        migrations.AlterField(
            model_name='problem',
            name='created_at',
            field=models.DateTimeField(auto_now_add=True),
        ),
    ]
