"""No foreign key index where a composite index or unique constraint already starts with
its column (tests/test_schema_indexes.py). SQLite rebuilds a table to alter a column,
which drops its triggers: the search's trigram triggers of 0010 are made again after.
"""

import importlib

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

_trigram_search = importlib.import_module("customers.migrations.0010_sqlite_trigram_search")


class Migration(migrations.Migration):

    dependencies = [
        ('customers', '0014_email_prefix_index'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AlterField(
            model_name='activity',
            name='customer',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='activities', to='customers.customer'),
        ),
        migrations.AlterField(
            model_name='consentevent',
            name='customer',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='consent_events', to='customers.customer'),
        ),
        migrations.AlterField(
            model_name='contactpoint',
            name='customer',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='contact_points', to='customers.customer'),
        ),
        migrations.AlterField(
            model_name='currentconsent',
            name='customer',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='current_consents', to='customers.customer'),
        ),
        migrations.AlterField(
            model_name='customer',
            name='owner',
            field=models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='owned_customers', to=settings.AUTH_USER_MODEL),
        ),
        migrations.AlterField(
            model_name='customerimport',
            name='created_by',
            field=models.ForeignKey(db_index=False, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL),
        ),
        migrations.AlterField(
            model_name='deliveryevent',
            name='message',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='deliveries', to='customers.outboundmessage'),
        ),
        migrations.AlterField(
            model_name='duplicatepair',
            name='customer_a',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='customers.customer'),
        ),
        migrations.AlterField(
            model_name='duplicatepair',
            name='customer_b',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='customers.customer'),
        ),
        migrations.AlterField(
            model_name='nameneighbour',
            name='customer',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='customers.customer'),
        ),
        migrations.AlterField(
            model_name='outboundmessage',
            name='customer',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='outbound_messages', to='customers.customer'),
        ),
        migrations.AlterField(
            model_name='relationship',
            name='person',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='memberships', to='customers.customer'),
        ),
        migrations.RunPython(
            _trigram_search.forward,
            migrations.RunPython.noop,
            elidable=False,
        ),
    ]
