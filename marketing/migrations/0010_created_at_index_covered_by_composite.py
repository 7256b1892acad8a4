"""No index of its own on `created_at` where the table's `(created_at, id)` index already
leads with it (frontoffice.models.TimeStampedListed, tests/test_schema_indexes.py).
"""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('marketing', '0009_fk_indexes_covered_by_composites'),
    ]

    operations = [
        migrations.AlterField(
            model_name='campaign',
            name='created_at',
            field=models.DateTimeField(auto_now_add=True),
        ),
    ]
